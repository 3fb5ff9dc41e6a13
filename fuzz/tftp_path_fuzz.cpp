// Fuzzes the TFTP file name resolver. For any requested name and options: a successful result
// is relative, has no empty, "." or ".." component, no NUL/control character/backslash, fits
// the length limits, and resolving it again gives it back unchanged; a smaller output buffer
// gives the same answer or buffer_too_small.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pinetboot/tftp/path.hpp"

namespace {

using namespace pinetboot::tftp;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_safe(std::string_view out, path_options const& opts) {
  check(!out.empty());
  check(out.size() <= opts.max_length && out.size() <= max_path_length);
  check(out.front() != '/' && out.back() != '/');
  for (char c : out) {
    auto u = static_cast<unsigned char>(c);
    check(u >= 0x20 && u != 0x7f && c != '\\');
  }
  std::size_t start = 0;
  while (start <= out.size()) {
    std::size_t end = out.find('/', start);
    if (end == std::string_view::npos) end = out.size();
    std::string_view comp = out.substr(start, end - start);
    check(!comp.empty() && comp != "." && comp != "..");
    check(comp.size() <= opts.max_component && comp.size() <= max_component_length);
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint8_t const flags = data[0];
  std::string_view name{reinterpret_cast<char const*>(data + 1), size - 1};

  path_options opts;
  if (flags & 1) opts.backslash = backslash_policy::as_separator;
  if (flags & 2) opts.strip_prefix = "/srv/tftp";
  if (flags & 4) opts.max_length = 32;
  if (flags & 8) opts.max_component = 8;

  static std::array<char, max_path_length + 1> buf;
  auto r = pinetboot::tftp::resolve_path(name, buf, opts);
  if (!r) {
    auto e = r.error();
    check(e == make_error_code(errc::access_violation) || e == make_error_code(errc::name_too_long));
    return 0;
  }
  std::string_view const out = *r;
  check(buf[out.size()] == '\0');
  check_safe(out, opts);

  // Idempotent: the resolved path resolves to itself.
  static std::array<char, max_path_length + 1> again;
  auto r2 = pinetboot::tftp::resolve_path(out, again, opts);
  check(r2.has_value() && *r2 == out);

  // A smaller buffer: same result or buffer_too_small, never an overrun (ASan watches).
  std::size_t const small_size = (flags >> 4) * 4 + 1;
  static std::array<char, 64> small;
  auto r3 = pinetboot::tftp::resolve_path(name, std::span<char>{small.data(), small_size}, opts);
  if (r3) {
    check(*r3 == out);
  } else {
    check(r3.error() == make_error_code(errc::buffer_too_small));
  }
  return 0;
}
