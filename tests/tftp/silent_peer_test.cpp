#include "pinetboot/tftp/detail/silent_peer.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "tftp/parts.hpp"

namespace pinetboot::tftp::detail {
namespace {

using namespace std::chrono_literals;

using test::t0;

/// RTO floor 5 ms, max 1 s, SRTT `srtt`.
rto_estimator measured(duration srtt) { return test::one_sample(srtt); }

TEST(TftpSilentPeer, ProgressAfterOneTimeoutShowsNothing) {
  auto rto = measured(1ms);
  silent_peer_floor f;
  f.on_timeout(t0());
  EXPECT_FALSE(f.on_progress(t0() + 100ms, 1, rto)) << "the first resend may be answered late";
  EXPECT_EQ(f.floor(), 0ms);
  EXPECT_FALSE(f.on_progress(t0() + 100ms, 0, rto));
  EXPECT_TRUE(f.on_progress(t0() + 100ms, 2, rto));
}

TEST(TftpSilentPeer, ThePeersTimerPlusAQuarterBecomesTheFloor) {
  auto rto = measured(1ms);
  silent_peer_floor f;
  f.on_timeout(t0());
  ASSERT_TRUE(f.on_progress(t0() + 100ms, 2, rto));
  EXPECT_EQ(f.floor(), 125ms);
}

TEST(TftpSilentPeer, NoRttSampleNoFloor) {
  rto_estimator rto{1s, 5ms, 1s};
  silent_peer_floor f;
  f.on_timeout(t0());
  EXPECT_FALSE(f.on_progress(t0() + 100ms, 3, rto));
  EXPECT_EQ(f.floor(), 0ms);
}

TEST(TftpSilentPeer, AWaitOfTwoSmoothedRttsIsAnAnswer) {
  auto rto = measured(10ms);
  silent_peer_floor f;
  f.on_timeout(t0());
  EXPECT_FALSE(f.on_progress(t0() + 20ms, 2, rto)) << "exactly 2 x SRTT";
  EXPECT_TRUE(f.on_progress(t0() + 20ms + 1ns, 2, rto));
  EXPECT_EQ(f.floor(), 20ms + 1ns + (20ms + 1ns) / 4);
}

TEST(TftpSilentPeer, AWaitWithinTheRtoFloorIsAnAnswer) {
  auto rto = measured(1ms);  // 2 x SRTT = 2 ms, below the 5 ms floor
  silent_peer_floor f;
  f.on_timeout(t0());
  EXPECT_FALSE(f.on_progress(t0() + 5ms, 2, rto)) << "exactly the RTO floor";
  EXPECT_TRUE(f.on_progress(t0() + 5ms + 1ns, 2, rto));
}

TEST(TftpSilentPeer, TheFloorOnlyRisesAndStaysBelowMax) {
  auto rto = measured(1ms);
  silent_peer_floor f;
  f.on_timeout(t0());
  ASSERT_TRUE(f.on_progress(t0() + 100ms, 2, rto));
  f.on_timeout(t0() + 1s);
  EXPECT_TRUE(f.on_progress(t0() + 1s + 40ms, 2, rto)) << "still a silent peer";
  EXPECT_EQ(f.floor(), 125ms) << "a shorter wait does not lower it";
  f.on_timeout(t0() + 2s);
  EXPECT_TRUE(f.on_progress(t0() + 2s + 900ms, 2, rto));
  EXPECT_EQ(f.floor(), 1s) << "900 ms x 1.25 capped at the RTO's max";
}

TEST(TftpSilentPeer, TheWaitIsMeasuredFromTheLatestTimeout) {
  auto rto = measured(1ms);
  silent_peer_floor f;
  f.on_timeout(t0());
  f.on_timeout(t0() + 80ms);
  ASSERT_TRUE(f.on_progress(t0() + 100ms, 2, rto));
  EXPECT_EQ(f.floor(), 25ms);
}

TEST(TftpSilentPeer, TheFloorAppliesFromTheSecondResendOn) {
  auto rto = measured(1ms);  // RTO 6 ms
  silent_peer_floor f;
  EXPECT_EQ(f.timeout(0, rto), 6ms);
  EXPECT_EQ(f.timeout(3, rto), 6ms) << "no floor yet";
  f.on_timeout(t0());
  ASSERT_TRUE(f.on_progress(t0() + 100ms, 2, rto));
  EXPECT_EQ(f.timeout(0, rto), 6ms) << "a first resend still goes after one RTO";
  EXPECT_EQ(f.timeout(1, rto), 125ms);
  EXPECT_EQ(f.timeout(4, rto), 125ms);
  auto slow = measured(200ms);  // RTO 600 ms, above the floor
  EXPECT_EQ(f.timeout(1, slow), 600ms);
}

}  // namespace
}  // namespace pinetboot::tftp::detail
