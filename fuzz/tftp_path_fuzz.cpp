// Fuzzes the TFTP file name resolver. For any requested name and options: a successful result
// is relative, has no empty, "." or ".." component, no NUL/control character/backslash, fits
// the length limits, and resolving it again gives it back unchanged; a smaller output buffer
// gives the same answer or buffer_too_small.
// Then, differentially: the result is opened beneath a fixed temp tree full of symlinks (inside,
// escaping, absolute, loops) with the kernel's openat2 RESOLVE_BENEATH and with the userspace
// walker; both must agree (same error, or the same inode), and nothing outside the root opens.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include "pinetboot/tftp/file_source.hpp"
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

// <tmp>/root is the served tree, <tmp>/x lies outside it. Short names so the fuzzer finds them.
class tree {
 public:
  tree() {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string tmpl = (fs::temp_directory_path(ec) / "pinetboot-pathfuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    base_ = tmpl;
    fs::path r = base_ / "root";
    fs::create_directories(r / "a" / "b", ec);
    fs::create_directories(base_ / "x", ec);
    std::ofstream{r / "f"} << "f";
    std::ofstream{r / "a" / "g"} << "g";
    std::ofstream{r / "a" / "b" / "h"} << "h";
    std::ofstream{base_ / "x" / "f"} << "outside";
    fs::create_symlink("a/b", r / "s", ec);            // inside, to a directory
    fs::create_symlink("../f", r / "a" / "u", ec);     // inside, climbing
    fs::create_symlink("../../x", r / "a" / "e", ec);  // escaping directory
    fs::create_symlink("../x/f", r / "o", ec);         // escaping file
    fs::create_symlink((base_ / "root" / "f").string(), r / "abs", ec);
    fs::create_symlink("l", r / "l", ec);             // loop
    fs::create_symlink("b/../u", r / "a" / "c", ec);  // chain through ".."
    fs::create_symlink("s/../../f", r / "a" / "b" / "d", ec);
    fs::create_symlink("f/", r / "t", ec);  // file named as a directory
    ::mkfifo((r / "p").c_str(), 0644);
    auto fd = pinetboot::tftp::open_root((base_ / "root").c_str());
    if (fd) root_ = std::move(*fd);
    struct stat sb {};
    if (::stat((base_ / "x" / "f").c_str(), &sb) == 0) outside_ino_ = sb.st_ino;
  }
  tree(tree const&) = delete;
  tree& operator=(tree const&) = delete;
  ~tree() {
    std::error_code ec;
    if (!base_.empty()) std::filesystem::remove_all(base_, ec);
  }
  [[nodiscard]] int root() const noexcept { return root_.get(); }
  [[nodiscard]] ino_t outside_ino() const noexcept { return outside_ino_; }

 private:
  std::filesystem::path base_;
  unique_fd root_;
  ino_t outside_ino_ = 0;
};

void check_resolvers_agree(std::string_view path) {
  static tree t;
  if (t.root() < 0 || !pinetboot::core::openat2_available()) return;
  for (auto kind : {open_kind::regular_file, open_kind::directory}) {
    open_options kernel, walker;
    walker.force_fallback = true;
    auto a = open_beneath(t.root(), path, kind, kernel);
    auto b = open_beneath(t.root(), path, kind, walker);
    check(a.has_value() == b.has_value());
    if (!a) {
      check(a.error() == b.error());
      continue;
    }
    struct stat sa {
    }, sb{};
    check(::fstat(a->get(), &sa) == 0 && ::fstat(b->get(), &sb) == 0);
    check(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
    check(sa.st_ino != t.outside_ino());
    check(kind == open_kind::directory ? S_ISDIR(sa.st_mode) : S_ISREG(sa.st_mode));
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

  check_resolvers_agree(out);
  return 0;
}
