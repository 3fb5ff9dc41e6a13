// Fuzzes the TFTP packet codec: whatever parses must write back and parse again to equal views.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "pinetboot/tftp/packet.hpp"

namespace {
using namespace pinetboot::tftp;

[[noreturn]] void fail() { std::abort(); }

bool same_options(option_list const& a, option_list const& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  return true;
}

std::array<std::byte, max_packet_size + 64> out;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::span<const std::byte> in{reinterpret_cast<std::byte const*>(data), size};
  auto op = parse_opcode(in);
  // Every parser must cope with every input.
  auto req = parse_request(in);
  auto dat = parse_data(in);
  auto ack = parse_ack(in);
  auto err = parse_error(in);
  auto oack = parse_oack(in);
  if (!op) {
    if (req || dat || ack || err || oack) fail();
    return 0;
  }
  if (req) {
    if (req->filename.size() + req->mode.size() + 4 > size) fail();
    auto n = write_request(out, req->op, req->filename, req->mode_kind, req->options.span());
    if (!n || *n > size) fail();  // canonical form is never longer (padding is dropped)
    auto again = parse_request(std::span<const std::byte>(out).first(*n));
    if (!again || again->op != req->op || again->filename != req->filename ||
        again->mode_kind != req->mode_kind || !same_options(again->options, req->options))
      fail();
    // A too-small buffer is reported, never overrun.
    if (*n > 0 && write_request(std::span<std::byte>(out).first(*n - 1), req->op, req->filename,
                                req->mode_kind, req->options.span()))
      fail();
  }
  if (dat) {
    if (dat->payload.size() + 4 != size) fail();
    auto n = write_data(out, dat->block, dat->payload);
    if (!n || *n != size) fail();
    auto again = parse_data(std::span<const std::byte>(out).first(*n));
    if (!again || again->block != dat->block || again->payload.size() != dat->payload.size()) fail();
    for (std::size_t i = 0; i < dat->payload.size(); ++i)
      if (again->payload[i] != dat->payload[i]) fail();
  }
  if (ack) {
    auto n = write_ack(out, ack->block);
    if (!n || *n != 4) fail();
    auto again = parse_ack(std::span<const std::byte>(out).first(*n));
    if (!again || again->block != ack->block) fail();
  }
  if (err) {
    auto n = write_error(out, err->code, err->message);
    if (!n || *n > size) fail();
    auto again = parse_error(std::span<const std::byte>(out).first(*n));
    if (!again || again->code != err->code || again->message != err->message) fail();
  }
  if (oack) {
    auto n = write_oack(out, oack->options.span());
    if (!n || *n > size) fail();
    auto again = parse_oack(std::span<const std::byte>(out).first(*n));
    if (!again || !same_options(again->options, oack->options)) fail();
  }
  // At most one parser accepts a given datagram.
  int accepted = (req ? 1 : 0) + (dat ? 1 : 0) + (ack ? 1 : 0) + (err ? 1 : 0) + (oack ? 1 : 0);
  if (accepted > 1) fail();
  return 0;
}
