// Fuzzes option negotiation: the server never grants out-of-range values, the OACK carries only
// options the client requested, and a client accepts the server's OACK for its own request.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>

#include "pinetboot/tftp/options.hpp"

namespace {
using namespace pinetboot::tftp;

[[noreturn]] void fail() { std::abort(); }

std::array<std::byte, 4096> out;

std::optional<std::uint64_t> requested(request_view const& r, std::string_view name) {
  auto const* o = r.options.find(name);
  if (o == nullptr) return std::nullopt;
  auto v = parse_decimal(o->value);
  if (!v) return std::nullopt;
  return *v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 8) return 0;
  negotiation_limits lim;
  lim.max_blksize = static_cast<std::uint16_t>(data[0] << 8 | data[1]);
  lim.max_windowsize = static_cast<std::uint16_t>(data[2] << 8 | data[3]);
  lim.strict = (data[4] & 1) != 0;
  lim.ack_zero_tsize = (data[4] & 2) != 0;
  lim.allow_blksize = (data[4] & 4) == 0;
  lim.allow_windowsize = (data[4] & 8) == 0;
  lim.allow_tsize = (data[4] & 16) == 0;
  lim.allow_timeout = (data[4] & 32) == 0;
  lim.enable_options = (data[4] & 64) == 0;
  lim.max_write_size = static_cast<std::uint64_t>(data[5]) << 16;
  std::optional<std::uint64_t> file_size;
  if (data[6] != 0) file_size = static_cast<std::uint64_t>(data[6]) * data[7] * 1000;
  std::span<const std::byte> in{reinterpret_cast<std::byte const*>(data + 8), size - 8};
  auto req = parse_request(in);
  if (!req) return 0;
  auto n = negotiate(*req, lim, file_size);
  if (!n) return 0;
  // Ranges.
  if (n->blksize < min_blksize || n->blksize > max_blksize) fail();
  if (n->has(option_flag::blksize)) {
    auto want = requested(*req, "blksize");
    if (!want || n->blksize > *want) fail();
    if (n->blksize > std::max<std::uint16_t>(lim.max_blksize, min_blksize)) fail();
  } else if (n->blksize != default_blksize) {
    fail();
  }
  if (n->windowsize < 1 || n->windowsize > max_effective_windowsize) fail();
  if (n->has(option_flag::windowsize)) {
    auto want = requested(*req, "windowsize");
    if (!want || n->windowsize > *want || n->windowsize > std::max<std::uint16_t>(lim.max_windowsize, 1))
      fail();
  } else if (n->windowsize != 1) {
    fail();
  }
  if (n->has(option_flag::timeout) && (n->timeout_s < 1 || n->timeout_s != requested(*req, "timeout")))
    fail();
  if (n->has(option_flag::tsize)) {
    if (req->op == opcode::rrq && (req->mode_kind != transfer_mode::octet || n->tsize != file_size)) fail();
    if (req->op == opcode::wrq && n->tsize > lim.max_write_size) fail();
  }
  if (!lim.enable_options && n->any()) fail();
  if (!n->any()) return 0;
  // The OACK holds only requested options, and the requesting client accepts it.
  auto len = write_oack(out, *n);
  if (!len) fail();
  auto oack = parse_oack(std::span<const std::byte>(out).first(*len));
  if (!oack || oack->options.empty()) fail();
  client_options asked;
  for (auto const& o : oack->options) {
    if (req->options.find(o.name) == nullptr) fail();
  }
  if (auto v = requested(*req, "blksize"); v && *v >= min_blksize)
    asked.blksize = static_cast<std::uint16_t>(std::min<std::uint64_t>(*v, max_blksize));
  if (auto v = requested(*req, "windowsize"); v && *v >= 1)
    asked.windowsize = static_cast<std::uint16_t>(std::min<std::uint64_t>(*v, max_windowsize));
  if (auto v = requested(*req, "timeout"); v && *v >= 1 && *v <= 255)
    asked.timeout_s = static_cast<std::uint8_t>(*v);
  asked.tsize = req->options.find("tsize") != nullptr;
  auto accepted = validate_oack(*oack, asked);
  if (!accepted || accepted->blksize != n->blksize || accepted->windowsize != n->windowsize ||
      accepted->acked != n->acked)
    fail();
  return 0;
}
