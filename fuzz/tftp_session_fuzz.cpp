// Fuzzes the server engines. read_session: the input chooses the file, the requested options and the server
// limits, then a sequence of datagrams (ACKs near the window, ERRORs, raw bytes), timer firings and time
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
#include "pinetboot/tftp/write_session.hpp"
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

void fuzz_read(input& in) {
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
  // The give-up floor: the count alone, or the count and a few RTOs without progress.
  lim.give_up_after = (flags & 128) ? 4 * lim.max_rto : 0ms;

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
  std::size_t floor_firings = static_cast<std::size_t>(lim.give_up_after / lim.min_rto) + 1;
  std::size_t bound =
      (std::size_t{lim.max_retransmits} + 2 + floor_firings) * (std::size_t{opts.windowsize} + 2) + 4;
  while (!s.is_done()) {
    auto d = s.next_deadline();
    if (!d) fail();  // not done, yet nothing to wait for
    now = std::max(now, *d);
    s.on_timer(now);
    drain();
    if (++firings > bound) fail();
  }
  if (s.next_deadline()) fail();
  // A download ends normally on success or a client abort (a probe), on nothing else.
  auto why = s.close_reason();
  if (s.ended_normally() != (!why || why == make_error_code(errc::client_aborted))) fail();
}

// write_session (a WRQ, reachable from the network when uploads are enabled): random DATA near
// the expected block, raw datagrams, ERRORs and timers. Invariants: nothing beyond the size
// limit is written, the sink is committed at most once and only for a complete file, and
// otherwise aborted; a silent client ends the session within bounded retries.
class fuzz_sink {
 public:
  explicit fuzz_sink(std::uint64_t limit) : limit_{limit} {}
  result<std::size_t> write_at(std::uint64_t off, std::span<const std::byte> b) noexcept {
    if (committed || aborted) fail();
    if (off != written || off + b.size() > limit_) fail();  // in order, within the limit
    written += b.size();
    return b.size();
  }
  std::error_code commit() noexcept {
    if (committed || aborted) fail();
    committed = true;
    return {};
  }
  void abort() noexcept {
    if (committed) fail();
    aborted = true;
  }
  std::uint64_t written = 0;
  bool committed = false;
  bool aborted = false;

 private:
  std::uint64_t limit_;
};

void fuzz_write(input& in) {
  std::uint8_t flags = in.u8();
  client_options ask;
  if (flags & 1) ask.blksize = static_cast<std::uint16_t>(8 + in.u16() % 2000);
  if (flags & 2) ask.windowsize = static_cast<std::uint16_t>(1 + in.u8() % 16);
  auto mode = (flags & 16) ? transfer_mode::netascii : transfer_mode::octet;
  session_limits lim;
  lim.max_retransmits = 1 + in.u8() % 6;
  lim.min_rto = std::chrono::microseconds{100 + in.u8() * 50};
  lim.max_rto = std::chrono::milliseconds{10 + in.u8()};
  lim.dally = std::chrono::milliseconds{in.u8()};
  lim.max_receive_size = in.u16();
  lim.give_up_after = (flags & 128) ? 4 * lim.max_rto : 0ms;
  std::array<std::byte, 512> wrq{};
  auto n = write_request(wrq, opcode::wrq, "f", mode, ask);
  if (!n) fail();
  auto req = parse_request(std::span<const std::byte>(wrq).first(*n));
  if (!req) fail();
  fuzz_sink sink{lim.max_receive_size};
  write_session<fuzz_sink> s{sink, lim, *req};
  std::uint16_t blksize = s.options().blksize;
  time_point now = time_point{} + 1h;
  std::uint16_t next_block = 1;
  std::vector<std::byte> pkt;
  auto drain = [&] {
    for (int guard = 0; guard < 1000; ++guard) {
      auto r = s.poll_transmit(std::span<std::byte>(out).first(64), now);
      if (!r) fail();
      if (*r == 0) return;
      if (*r > 64) fail();
      if (auto a = parse_ack(std::span<const std::byte>(out).first(*r)))
        next_block = static_cast<std::uint16_t>(a->block + 1);
    }
    fail();
  };
  drain();
  while (!in.empty() && !s.is_done()) {
    switch (in.u8() % 5) {
      case 0:
      case 1: {  // DATA near the next expected block
        auto delta = static_cast<std::int8_t>(in.u8());
        std::size_t len = in.u8() & 1 ? blksize : in.u16() % (std::size_t{blksize} + 2);
        pkt.assign(4 + len, std::byte{'a'});
        (void)write_data_header(pkt, static_cast<std::uint16_t>(next_block + delta % 4));
        auto payload = in.bytes(len);
        std::copy(payload.begin(), payload.end(), pkt.begin() + 4);
        s.on_datagram(pkt, now);
        break;
      }
      case 2:
        s.on_datagram(in.bytes(in.u8()), now);
        break;
      case 3: {
        if (auto d = s.next_deadline()) now = std::max(now, *d);
        s.on_timer(now);
        break;
      }
      case 4:
        now += std::chrono::microseconds{in.u16()};
        break;
    }
    drain();
    if (sink.committed != s.is_complete()) fail();
  }
  std::size_t firings = 0;
  while (!s.is_done()) {
    auto d = s.next_deadline();
    if (!d) fail();
    now = std::max(now, *d);
    s.on_timer(now);
    drain();
    if (++firings > std::size_t{lim.max_retransmits} + 3 +
                        static_cast<std::size_t>(lim.give_up_after / lim.min_rto) + 1)
      fail();
  }
  if (!sink.committed && !sink.aborted) fail();     // every ending either commits or aborts
  if (sink.committed != !s.close_reason()) fail();  // and commits exactly on success
  if (s.ended_normally() != sink.committed) fail();  // an upload ends normally only when committed
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  input in{data, size};
  if (in.u8() & 1)
    fuzz_write(in);
  else
    fuzz_read(in);
  return 0;
}
