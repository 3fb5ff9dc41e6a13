#include "pinetboot/tftp/client_session.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "support/hex.hpp"
#include "support/memory_source.hpp"

namespace pinetboot::tftp {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

time_point t0() { return time_point{} + 1h; }

struct reader_fixture {
  client_config cfg;
  test::memory_sink sink;
  std::optional<client_reader<test::memory_sink>> c;
  std::vector<std::byte> out = std::vector<std::byte>(max_packet_size);

  explicit reader_fixture(client_config const& cc) : cfg{cc} { c.emplace(sink, cfg, "kernel8.img"); }
  std::vector<std::vector<std::byte>> drain(time_point now) {
    std::vector<std::vector<std::byte>> v;
    for (;;) {
      auto n = c->poll_transmit(out, now);
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      v.emplace_back(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    return v;
  }
  void feed(std::string const& s, time_point now) {
    auto b = test::bytes_of(s);
    c->on_datagram(b, now);
  }
};

client_config pi4() {
  client_config c;
  c.options.tsize = true;
  c.options.blksize = 1024;
  return c;
}

TEST(TftpClientReader, SendsRequestWithOptionsAndRetransmitsIt) {
  reader_fixture f{pi4()};
  auto p = f.drain(t0());
  ASSERT_EQ(p.size(), 1U);
  auto r = parse_request(p[0]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->filename, "kernel8.img");
  EXPECT_EQ(r->options.find("tsize")->value, "0");
  EXPECT_EQ(r->options.find("blksize")->value, "1024");
  EXPECT_TRUE(f.drain(t0()).empty());
  auto d = f.c->next_deadline();
  ASSERT_TRUE(d);
  f.c->on_timer(*d);
  p = f.drain(*d);
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(p[0], test::bytes_of("\0\1kernel8.img\0octet\0blksize\0"
                                 "1024\0tsize\0"
                                 "0\0"s));
}

TEST(TftpClientReader, RejectsOackWithUnrequestedOption) {
  reader_fixture f{pi4()};
  (void)f.drain(t0());
  f.feed(
      "\0\6tsize\0"
      "100\0windowsize\0"
      "8\0"s,
      t0() + 1ms);
  auto p = f.drain(t0() + 1ms);
  ASSERT_EQ(p.size(), 1U);
  auto e = parse_error(p[0]);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, error_code_wire::option_negotiation);
  EXPECT_TRUE(f.c->is_done());
  EXPECT_EQ(f.c->close_reason(), make_error_code(errc::option_refused));
  EXPECT_EQ(f.sink.aborts, 1);
}

TEST(TftpClientReader, RejectsRaisedBlksize) {
  reader_fixture f{pi4()};
  (void)f.drain(t0());
  f.feed(
      "\0\6blksize\0"
      "1468\0"s,
      t0() + 1ms);
  auto p = f.drain(t0() + 1ms);
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(parse_error(p[0])->code, error_code_wire::option_negotiation);
}

TEST(TftpClientReader, AcceptsOackAndAcksZero) {
  reader_fixture f{pi4()};
  (void)f.drain(t0());
  f.feed(
      "\0\6tsize\0"
      "5\0"s,
      t0() + 1ms);
  auto p = f.drain(t0() + 1ms);
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(p[0], test::from_hex("00 04 00 00"));
  EXPECT_EQ(f.c->options().tsize, 5U);
  EXPECT_EQ(f.c->options().blksize, 512) << "blksize not in OACK: default";
  f.feed("\0\3\0\1hello"s, t0() + 2ms);
  p = f.drain(t0() + 2ms);
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(p[0], test::from_hex("00 04 00 01"));
  EXPECT_TRUE(f.c->is_complete());
  EXPECT_EQ(f.sink.data, test::bytes_of("hello"));
  EXPECT_EQ(f.sink.commits, 1);
  // A repeated final block is re-ACKed while dallying.
  f.feed("\0\3\0\1hello"s, t0() + 3ms);
  EXPECT_EQ(f.drain(t0() + 3ms).size(), 1U);
  EXPECT_FALSE(f.c->is_done());
  f.c->on_timer(*f.c->next_deadline());
  EXPECT_TRUE(f.c->is_done());
  EXPECT_FALSE(f.c->close_reason());
}

TEST(TftpClientReader, ServerErrorEndsWithoutReply) {
  reader_fixture f{pi4()};
  (void)f.drain(t0());
  f.feed("\0\5\0\1File not found\0"s, t0() + 1ms);
  EXPECT_TRUE(f.drain(t0() + 1ms).empty());
  EXPECT_TRUE(f.c->is_done());
  EXPECT_EQ(f.c->close_reason(), make_error_code(errc::file_not_found));
  EXPECT_EQ(f.sink.aborts, 1);
}

TEST(TftpClientReader, RejectsOversizedBlockAndTsizeOverLimit) {
  reader_fixture f{client_config{}};
  (void)f.drain(t0());
  f.feed("\0\3\0\1"s + std::string(513, 'x'), t0() + 1ms);
  auto p = f.drain(t0() + 1ms);
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(parse_error(p[0])->code, error_code_wire::illegal_operation);
  EXPECT_EQ(f.sink.aborts, 1);

  auto cc = pi4();
  cc.limits.max_receive_size = 100;
  reader_fixture g{cc};
  (void)g.drain(t0());
  g.feed(
      "\0\6tsize\0"
      "101\0"s,
      t0() + 1ms);
  p = g.drain(t0() + 1ms);
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(parse_error(p[0])->code, error_code_wire::disk_full);
}

TEST(TftpClientReader, GapAndDuplicateAckOncePerBurst) {
  client_config cc;
  cc.options.windowsize = 4;
  reader_fixture f{cc};
  (void)f.drain(t0());
  f.feed(
      "\0\6windowsize\0"
      "4\0"s,
      t0());
  ASSERT_EQ(f.drain(t0()).size(), 1U);  // ACK 0
  std::string block(512, 'a');
  auto data = [&](int b) { return "\0\3\0"s + static_cast<char>(b) + block; };
  auto acks = [&](auto at) {
    std::vector<int> r;
    for (auto const& p : f.drain(at))
      if (auto a = parse_ack(p)) r.push_back(a->block);
    return r;
  };
  f.feed(data(1), t0() + 1ms);
  EXPECT_TRUE(acks(t0() + 1ms).empty()) << "mid-window: no ACK";
  f.feed(data(3), t0() + 1ms);  // block 2 lost
  EXPECT_EQ(acks(t0() + 1ms), std::vector<int>{1});
  f.feed(data(4), t0() + 1ms);
  EXPECT_TRUE(acks(t0() + 1ms).empty()) << "one ACK per gap burst";
  f.feed(data(3), t0() + 2ms);  // the sender's window started again and block 2 was lost again
  EXPECT_EQ(acks(t0() + 2ms), std::vector<int>{1}) << "a new burst beyond the gap";
  for (int b = 2; b <= 5; ++b) f.feed(data(b), t0() + 3ms);  // the window after ACK 1
  EXPECT_EQ(acks(t0() + 3ms), std::vector<int>{5}) << "end of window";
  // Our ACK 5 was lost: the sender repeats the window 2..5.
  for (int b = 2; b <= 5; ++b) f.feed(data(b), t0() + 4ms);
  EXPECT_EQ(acks(t0() + 4ms), std::vector<int>{5}) << "one ACK per repeated window, not per block";
  for (int b = 2; b <= 5; ++b) f.feed(data(b), t0() + 5ms);
  EXPECT_EQ(acks(t0() + 5ms), std::vector<int>{5}) << "and again for the next repeat";
}

TEST(TftpClientReader, LockstepReAcksEveryRepeatedBlock) {
  // RFC 1350 receivers answer each repeat: if one re-ACK is lost too, the next repeat still
  // gets an answer instead of waiting for the receiver's own timer.
  reader_fixture f{client_config{}};
  (void)f.drain(t0());
  std::string block(512, 'a');
  f.feed("\0\3\0\1"s + block, t0());
  ASSERT_EQ(f.drain(t0()).size(), 1U);
  for (int i = 1; i <= 3; ++i) {
    f.feed("\0\3\0\1"s + block, t0() + i * 10ms);
    auto p = f.drain(t0() + i * 10ms);
    ASSERT_EQ(p.size(), 1U) << "repeat " << i;
    EXPECT_EQ(p[0], test::from_hex("00 04 00 01"));
  }
}

TEST(TftpClientWriter, UploadsAgainstAckZeroServer) {
  auto data = test::bytes_of(std::string(700, 'z'));
  test::memory_source src{data};
  client_config cc;
  cc.options.tsize = true;
  client_writer<test::memory_source> w{src, cc, "up.bin"};
  std::vector<std::byte> out(max_packet_size);
  auto n = w.poll_transmit(out, t0());
  auto r = parse_request(std::span<const std::byte>(out).first(*n));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->op, opcode::wrq);
  EXPECT_EQ(r->options.find("tsize")->value, "700");
  auto ack = [&](std::uint16_t b) {
    std::array<std::byte, 4> a{};
    (void)write_ack(a, b);
    w.on_datagram(a, t0() + 1ms);
  };
  ack(0);  // server without options
  n = w.poll_transmit(out, t0() + 1ms);
  EXPECT_EQ(*n, 4U + 512);
  ack(1);
  n = w.poll_transmit(out, t0() + 1ms);
  EXPECT_EQ(*n, 4U + 188);
  ack(2);
  EXPECT_TRUE(w.is_done());
  EXPECT_FALSE(w.close_reason());
}

}  // namespace
}  // namespace pinetboot::tftp
