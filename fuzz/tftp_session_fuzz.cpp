// Fuzzes read_session: the input chooses the file, the requested options and the server limits,
// then a sequence of datagrams (ACKs near the window, ERRORs, raw bytes), timer firings and time
// steps. Invariants: no block beyond the end of the file, never more than the window in flight,
// poll_transmit never writes past its buffer, and once the client goes silent the session ends
// after a bounded number of timer firings.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "support/memory_source.hpp"

namespace {
using namespace pinetboot;
using namespace pinetboot::tftp;
using namespace std::chrono_literals;

[[noreturn]] void fail() { std::abort(); }

// Minimal FuzzedDataProvider: bytes from the front, zeros once exhausted.
class input {
 public:
  input(std::uint8_t const* d, std::size_t n) : d_{d}, n_{n} {}
  bool empty() const { return pos_ >= n_; }
  std::uint8_t u8() { return pos_ < n_ ? d_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  std::span<const std::byte> bytes(std::size_t n) {
    n = std::min(n, n_ - std::min(pos_, n_));
    std::span<const std::byte> s{reinterpret_cast<std::byte const*>(d_ + pos_), n};
    pos_ += n;
    return s;
  }

 private:
  std::uint8_t const* d_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

std::array<std::byte, max_packet_size + 16> out;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  input in{data, size};
  std::size_t file_size = static_cast<std::size_t>(in.u16()) % 20000;
  std::vector<std::byte> file(file_size);
  for (std::size_t i = 0; i < file_size; ++i) file[i] = test::generated_byte(i);
  test::memory_source src{file};

  std::uint8_t flags = in.u8();
  client_options ask;
  if (flags & 1) ask.blksize = static_cast<std::uint16_t>(8 + in.u16() % 2000);
  if (flags & 2) ask.windowsize = static_cast<std::uint16_t>(1 + in.u8() % 80);
  if (flags & 4) ask.timeout_s = static_cast<std::uint8_t>(1 + in.u8() % 5);
  ask.tsize = (flags & 8) != 0;
  auto mode = (flags & 16) ? transfer_mode::netascii : transfer_mode::octet;
  session_limits lim;
  lim.block_rollover = (flags & 32) ? rollover::to_one : rollover::to_zero;
  lim.adaptive_window = (flags & 64) == 0;
  lim.max_retransmits = 1 + in.u8() % 6;
  lim.min_rto = std::chrono::microseconds{100 + in.u8() * 50};
  lim.max_rto = std::chrono::milliseconds{10 + in.u8()};
  lim.negotiation.max_blksize = static_cast<std::uint16_t>(8 + in.u16() % 1500);
  lim.negotiation.max_windowsize = static_cast<std::uint16_t>(1 + in.u8() % 64);

  std::array<std::byte, 512> rrq{};
  auto n = write_request(rrq, opcode::rrq, "f", mode, ask);
  if (!n) fail();
  auto req = parse_request(std::span<const std::byte>(rrq).first(*n));
  if (!req) fail();
  read_session<test::memory_source> s{src, lim, *req};
  auto const& opts = s.options();
  std::uint64_t max_blocks = (mode == transfer_mode::octet ? file_size : 2 * file_size) / opts.blksize + 1;

  time_point now = time_point{} + 1h;
  std::uint16_t last_data_block = 0;
  auto drain = [&] {
    for (int guard = 0; guard < 100000; ++guard) {
      std::size_t cap = (in.u8() & 7) == 0 ? in.u8() : out.size() - 16;
      auto r = s.poll_transmit(std::span<std::byte>(out).first(cap), now);
      if (!r) {
        if (r.error() != make_error_code(errc::buffer_too_small)) fail();
        r = s.poll_transmit(std::span<std::byte>(out).first(out.size() - 16), now);
        if (!r) fail();
      }
      if (*r == 0) return;
      if (*r > out.size() - 16) fail();
      auto pkt = std::span<const std::byte>(out).first(*r);
      if (auto d = parse_data(pkt)) {
        if (d->payload.size() > opts.blksize) fail();
        last_data_block = d->block;
      }
      auto const& snd = s.sender();
      if (snd.highest_sent() > max_blocks) fail();
      if (snd.next() > snd.base() + snd.window()) fail();
      if (snd.window() > std::max<std::uint16_t>(opts.windowsize, 1)) fail();
    }
    fail();  // poll_transmit must run dry
  };

  drain();
  while (!in.empty() && !s.is_done()) {
    switch (in.u8() % 6) {
      case 0:
      case 1: {  // ACK near the last block sent
        std::array<std::byte, 4> a{};
        auto delta = static_cast<std::int8_t>(in.u8());
        (void)write_ack(a, static_cast<std::uint16_t>(last_data_block + (delta % 8)));
        s.on_datagram(a, now);
        break;
      }
      case 2: {  // raw datagram
        s.on_datagram(in.bytes(in.u8()), now);
        break;
      }
      case 3: {  // the timer fires (possibly early)
        if (auto d = s.next_deadline()) now = std::max(now, *d - std::chrono::microseconds{in.u8() % 2});
        s.on_timer(now);
        break;
      }
      case 4:
        now += std::chrono::microseconds{in.u16()};
        break;
      case 5: {  // ERROR from the client
        if ((in.u8() & 15) == 0) {
          std::array<std::byte, 16> e{};
          auto len = write_error(e, static_cast<error_code_wire>(in.u8() % 10), "x");
          s.on_datagram(std::span<const std::byte>(e).first(*len), now);
        }
        break;
      }
    }
    drain();
  }
  // The client goes silent: the session must give up after bounded retries.
  std::size_t firings = 0;
  std::size_t bound = (std::size_t{lim.max_retransmits} + 2) * (std::size_t{opts.windowsize} + 2) + 4;
  while (!s.is_done()) {
    auto d = s.next_deadline();
    if (!d) fail();  // not done, yet nothing to wait for
    now = std::max(now, *d);
    s.on_timer(now);
    drain();
    if (++firings > bound) fail();
  }
  if (s.next_deadline()) fail();
  return 0;
}
