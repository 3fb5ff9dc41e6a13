#include "pinetboot/tftp/write_session.hpp"

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

struct fixture {
  test::memory_sink sink;
  std::vector<std::byte> wrq;
  std::optional<write_session<test::memory_sink>> s;
  std::vector<std::byte> out = std::vector<std::byte>(max_packet_size);

  fixture(std::string const& req, session_limits const& lim = {}) : wrq{test::bytes_of(req)} {
    s.emplace(sink, lim, *parse_request(wrq));
  }
  std::vector<std::vector<std::byte>> drain(time_point now) {
    std::vector<std::vector<std::byte>> v;
    for (;;) {
      auto n = s->poll_transmit(out, now);
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      v.emplace_back(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    return v;
  }
  void feed(std::string const& p, time_point now) {
    auto b = test::bytes_of(p);
    s->on_datagram(b, now);
  }
};

TEST(TftpWriteSession, AckZeroThenDataThenCommit) {
  fixture f{"\0\2up\0octet\0"s};
  auto p = f.drain(t0());
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(p[0], test::from_hex("00 04 00 00"));
  f.feed("\0\3\0\1"s + std::string(512, 'a'), t0() + 1ms);
  EXPECT_EQ(f.drain(t0() + 1ms), std::vector<std::vector<std::byte>>{test::from_hex("00 04 00 01")});
  EXPECT_EQ(f.sink.commits, 0) << "no commit before the final block";
  f.feed("\0\3\0\2xyz"s, t0() + 2ms);
  EXPECT_EQ(f.drain(t0() + 2ms), std::vector<std::vector<std::byte>>{test::from_hex("00 04 00 02")});
  EXPECT_TRUE(f.s->is_complete());
  EXPECT_EQ(f.sink.commits, 1);
  EXPECT_EQ(f.sink.data.size(), 515U);
  EXPECT_EQ(f.s->bytes_written(), 515U);
}

TEST(TftpWriteSession, OackActsAsAckZero) {
  fixture f{
      "\0\2up\0octet\0blksize\0"
      "8\0tsize\0"
      "10\0"s};
  auto p = f.drain(t0());
  ASSERT_EQ(p.size(), 1U);
  auto o = parse_oack(p[0]);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->options.find("tsize")->value, "10");
  EXPECT_EQ(o->options.find("blksize")->value, "8");
  // OACK lost: it is repeated on timeout.
  f.s->on_timer(*f.s->next_deadline());
  EXPECT_EQ(f.drain(*f.s->next_deadline() - 1ms).size(), 1U);
  f.feed(
      "\0\3\0\1"
      "12345678"s,
      t0() + 1s);
  f.feed(
      "\0\3\0\2"
      "90"s,
      t0() + 1s);
  auto acks = f.drain(t0() + 1s);
  ASSERT_EQ(acks.size(), 1U) << "both ACKs coalesce into the latest";
  EXPECT_EQ(acks[0], test::from_hex("00 04 00 02"));
  EXPECT_EQ(f.sink.data, test::bytes_of("1234567890"));
}

TEST(TftpWriteSession, OversizedBlockAndSizeLimitAbortTheSink) {
  fixture f{"\0\2up\0octet\0"s};
  (void)f.drain(t0());
  f.feed("\0\3\0\1"s + std::string(513, 'a'), t0());
  auto p = f.drain(t0());
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(parse_error(p[0])->code, error_code_wire::illegal_operation);
  EXPECT_EQ(f.sink.aborts, 1);
  EXPECT_EQ(f.sink.commits, 0);

  session_limits lim;
  lim.max_receive_size = 600;
  fixture g{"\0\2up\0octet\0"s, lim};
  (void)g.drain(t0());
  g.feed("\0\3\0\1"s + std::string(512, 'a'), t0());
  (void)g.drain(t0());
  g.feed("\0\3\0\2"s + std::string(512, 'a'), t0());
  p = g.drain(t0());
  ASSERT_EQ(p.size(), 1U);
  EXPECT_EQ(parse_error(p[0])->code, error_code_wire::disk_full);
  EXPECT_EQ(g.sink.aborts, 1);
  EXPECT_TRUE(g.sink.data.empty());
}

TEST(TftpWriteSession, TimeoutAbortsTheSink) {
  session_limits lim;
  lim.max_retransmits = 3;
  lim.give_up_after = 0ms;  // the count alone decides
  fixture f{"\0\2up\0octet\0"s, lim};
  (void)f.drain(t0());
  f.feed("\0\3\0\1"s + std::string(512, 'a'), t0());
  (void)f.drain(t0());
  int acks = 0;
  while (!f.s->is_done()) {
    auto d = f.s->next_deadline();
    ASSERT_TRUE(d);
    f.s->on_timer(*d);
    for (auto const& p : f.drain(*d)) acks += parse_ack(p) ? 1 : 0;
  }
  EXPECT_EQ(acks, 3);
  EXPECT_EQ(f.s->close_reason(), make_error_code(errc::timed_out));
  EXPECT_EQ(f.sink.aborts, 1);
  EXPECT_EQ(f.sink.commits, 0);
}

TEST(TftpWriteSession, NetasciiIsDecoded) {
  fixture f{
      "\0\2up\0netascii\0blksize\0"
      "8\0"s};
  (void)f.drain(t0());
  // "a\nb\rc\n" encoded: a CR LF b CR NUL c CR LF; the CR LF pair straddles blocks.
  f.feed(
      "\0\3\0\1"
      "a\r\nb\r\0c\r"s,
      t0());
  f.feed(
      "\0\3\0\2"
      "\n"s,
      t0());
  EXPECT_TRUE(f.s->is_complete());
  EXPECT_EQ(f.sink.data, test::bytes_of("a\nb\rc\n"));
}

TEST(TftpWriteSession, ClientErrorAborts) {
  fixture f{"\0\2up\0octet\0"s};
  (void)f.drain(t0());
  f.feed("\0\3\0\1"s + std::string(512, 'a'), t0());
  f.feed("\0\5\0\0cancelled\0"s, t0());
  EXPECT_TRUE(f.s->is_done());
  EXPECT_EQ(f.s->close_reason(), make_error_code(errc::client_aborted));
  EXPECT_EQ(f.sink.aborts, 1);
  EXPECT_TRUE(f.drain(t0()).empty());
}

}  // namespace
}  // namespace pinetboot::tftp
