// The lifecycle the four engines share (detail::session_shell): the same observable API and the
// same accounting whichever engine runs.
#include "pinetboot/tftp/detail/session_shell.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness.hpp"
#include "support/hex.hpp"
#include "support/memory_source.hpp"

namespace pinetboot::tftp {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using testing::download;
using testing::pattern;
using testing::t0;
using testing::upload;

client_config with_options() {
  client_config c;
  c.options.blksize = 1024;
  c.options.windowsize = 4;
  return c;
}

TEST(TftpSessionShell, AllFourEnginesEndNormallyOnACleanTransfer) {
  auto data = pattern(10'000);
  test::memory_source src{data};
  for (bool options : {false, true}) {
    download<test::memory_source> d{src, options ? with_options() : client_config{}, {}};
    ASSERT_TRUE(d.run({}).finished);
    EXPECT_TRUE(d.server->ended_normally());
    EXPECT_TRUE(d.client->ended_normally());
    upload<test::memory_source> u{src, options ? with_options() : client_config{}, {}};
    ASSERT_TRUE(u.run({}).finished);
    EXPECT_TRUE(u.server->ended_normally());
    EXPECT_TRUE(u.client->ended_normally());
    EXPECT_EQ(u.sink.data, data);
  }
}

TEST(TftpSessionShell, NoEngineEndsNormallyBeforeItIsDone) {
  auto data = pattern(3000);
  test::memory_source src{data};
  download<test::memory_source> d{src, with_options(), {}};
  EXPECT_FALSE(d.server->ended_normally());
  EXPECT_FALSE(d.client->ended_normally());
  upload<test::memory_source> u{src, with_options(), {}};
  EXPECT_FALSE(u.server->ended_normally());
  EXPECT_FALSE(u.client->ended_normally());
}

// A client giving up (ERROR 0) on a download is a normal end (a probe); on an upload it leaves
// no file, which is not.
TEST(TftpSessionShell, ClientAbortIsNormalForDownloadsOnly) {
  auto abort = test::bytes_of("\0\5\0\0Early terminate\0"s);
  auto data = pattern(3000);
  test::memory_source src{data};
  download<test::memory_source> d{src, with_options(), {}};
  std::vector<std::byte> out(max_packet_size);
  ASSERT_TRUE(d.server->poll_transmit(out, t0()));
  d.server->on_datagram(abort, t0() + 1ms);
  EXPECT_EQ(d.server->close_reason(), make_error_code(errc::client_aborted));
  EXPECT_TRUE(d.server->ended_normally());

  upload<test::memory_source> u{src, with_options(), {}};
  ASSERT_TRUE(u.server->poll_transmit(out, t0()));
  u.server->on_datagram(abort, t0() + 1ms);
  EXPECT_EQ(u.server->close_reason(), make_error_code(errc::client_aborted));
  EXPECT_FALSE(u.server->ended_normally());
  EXPECT_EQ(u.sink.aborts, 1);
}

// A packet that a timeout makes due is counted as a retransmit when it is sent, and the
// backed-off RTO shows in the stats. `handshake`: it is the request or OACK, whose timer is the
// RTO itself.
template <class Engine>
void expect_retransmit_counted_on_send(Engine& e, bool handshake = true) {
  std::vector<std::byte> out(max_packet_size);
  auto n = e.poll_transmit(out, t0());
  ASSERT_TRUE(n && *n > 0);
  EXPECT_EQ(e.stats().retransmits, 0U);
  auto first_rto = *e.next_deadline() - t0();
  auto at = *e.next_deadline();
  e.on_timer(at);
  EXPECT_EQ(e.stats().timeouts, 1U);
  EXPECT_EQ(e.stats().retransmits, 0U) << "counted when sent, not when due";
  EXPECT_EQ(e.stats().rto, 2 * first_rto);
  n = e.poll_transmit(out, at);
  ASSERT_TRUE(n && *n > 0);
  EXPECT_EQ(e.stats().retransmits, 1U);
  if (handshake) {
    EXPECT_EQ(*e.next_deadline() - at, 2 * first_rto);
  }
}

TEST(TftpSessionShell, HandshakeRetransmitsAreCountedAlike) {
  auto data = pattern(3000);
  test::memory_source src{data};
  session_limits lim;
  lim.initial_rto = 100ms;
  client_config c = with_options();
  c.limits = lim;
  {
    download<test::memory_source> d{src, c, lim};
    expect_retransmit_counted_on_send(*d.server);
  }
  {
    upload<test::memory_source> u{src, c, lim};
    expect_retransmit_counted_on_send(*u.server);
  }
  {
    test::memory_sink sink;
    client_reader<test::memory_sink> r{sink, c, "f"};
    expect_retransmit_counted_on_send(r);
  }
  {
    client_writer<test::memory_source> w{src, c, "f"};
    expect_retransmit_counted_on_send(w);
  }
}

// Both server sessions take an RTT sample from their OACK and its answer (ACK 0 / DATA 1).
TEST(TftpSessionShell, ServerSessionsSampleTheirOacksRtt) {
  auto data = pattern(3000);
  test::memory_source src{data};
  std::vector<std::byte> out(max_packet_size);
  {
    download<test::memory_source> d{src, with_options(), {}};
    ASSERT_TRUE(d.server->poll_transmit(out, t0()));
    d.server->on_datagram(test::from_hex("00 04 00 00"), t0() + 3ms);
    EXPECT_EQ(d.server->stats().srtt, 3ms);
  }
  {
    upload<test::memory_source> u{src, with_options(), {}};
    ASSERT_TRUE(u.server->poll_transmit(out, t0()));
    u.server->on_datagram(test::bytes_of("\0\3\0\1"s + std::string(1024, 'a')), t0() + 3ms);
    EXPECT_EQ(u.server->stats().srtt, 3ms);
  }
}

// The data phase's roles count a packet sent again the same way: when it is sent.
TEST(TftpSessionShell, DataPhaseRetransmitsAreCountedWhenSent) {
  auto data = pattern(3000);
  test::memory_source src{data};
  session_limits lim;
  lim.initial_rto = 100ms;
  download<test::memory_source> d{src, {}, lim};  // no options: DATA 1 right away
  expect_retransmit_counted_on_send(*d.server, false);
  upload<test::memory_source> u{src, {}, lim};  // no options: ACK 0 right away
  expect_retransmit_counted_on_send(*u.server, false);
}

}  // namespace
}  // namespace pinetboot::tftp
