#include "pinetboot/tftp/detail/needless_timeout.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "tftp/parts.hpp"

namespace pinetboot::tftp::detail {
namespace {

using namespace std::chrono_literals;
using state = needless_timeout_detector::state;

using test::t0;

/// An estimator whose lowest RTT is `lowest`.
rto_estimator measured(duration lowest) { return test::one_sample(lowest); }

TEST(TftpNeedlessTimeout, EifelPassTheFirstAckCameFasterThanAnyRoundTrip) {
  auto rto = measured(2ms);
  needless_timeout_detector d;
  d.on_timeout(5, t0(), t0() + 10ms);  // block 5 sent at t0, resent at 10 ms
  EXPECT_EQ(d.current(), state::waiting);
  d.on_progress(5, t0() + 11ms, rto);  // 1 ms after the resend: answers the first copy
  EXPECT_EQ(d.current(), state::acked);
  EXPECT_EQ(d.rtt(), 11ms);
  EXPECT_TRUE(d.proves_needless(5, t0() + 11ms + 50us)) << "Eifel needs no spacing";
  EXPECT_EQ(d.floor(), 22ms) << "kNeedlessTimeoutFloor (2) x the late ACK's delay";
  d.reset();
  EXPECT_EQ(d.current(), state::idle);
  EXPECT_FALSE(d.proves_needless(5, t0() + 12ms));
}

TEST(TftpNeedlessTimeout, AnAckExactlyOneLowestRttAfterTheResendIsLate) {
  auto rto = measured(2ms);
  needless_timeout_detector d;
  d.on_timeout(5, t0(), t0() + 10ms);
  d.on_progress(5, t0() + 12ms, rto);
  EXPECT_EQ(d.current(), state::acked_late) << "now - resent == lowest RTT: could answer the resend";
  needless_timeout_detector e;
  e.on_timeout(5, t0(), t0() + 10ms);
  e.on_progress(5, t0() + 12ms - 1ns, rto);
  EXPECT_EQ(e.current(), state::acked);
}

TEST(TftpNeedlessTimeout, WithoutAnRttSampleEveryFirstAckIsLate) {
  rto_estimator rto{1s, 5ms, 1s};
  needless_timeout_detector d;
  d.on_timeout(1, t0(), t0() + 1s);
  d.on_progress(1, t0() + 1s + 1us, rto);
  EXPECT_EQ(d.current(), state::acked_late);
}

TEST(TftpNeedlessTimeout, ALateFirstAckNeedsASecondAckAMillisecondLater) {
  auto rto = measured(100us);  // a slow client's lowest RTT is tiny
  needless_timeout_detector d;
  d.on_timeout(9, t0(), t0() + 5ms);
  d.on_progress(9, t0() + 30ms, rto);
  ASSERT_EQ(d.current(), state::acked_late);
  EXPECT_EQ(d.rtt(), 30ms);
  EXPECT_FALSE(d.proves_needless(9, t0() + 30ms + 100us)) << "a link's copy, right behind";
  EXPECT_FALSE(d.proves_needless(9, t0() + 31ms - 1ns)) << "just below kDoubleAckSpacing";
  EXPECT_TRUE(d.proves_needless(9, t0() + 31ms)) << "exactly kDoubleAckSpacing";
  EXPECT_TRUE(d.proves_needless(9, t0() + 45ms));
  EXPECT_EQ(d.floor(), 60ms);
}

TEST(TftpNeedlessTimeout, OnlyAnAckOfTheBlockThatFirstCoveredItCounts) {
  auto rto = measured(2ms);
  needless_timeout_detector d;
  d.on_timeout(5, t0(), t0() + 10ms);
  d.on_progress(7, t0() + 11ms, rto);  // a window ACK beyond the timed block
  EXPECT_EQ(d.current(), state::acked);
  EXPECT_FALSE(d.proves_needless(5, t0() + 12ms));
  EXPECT_FALSE(d.proves_needless(6, t0() + 12ms));
  EXPECT_TRUE(d.proves_needless(7, t0() + 12ms));
}

TEST(TftpNeedlessTimeout, AnAckBelowTheTimedBlockKeepsWaiting) {
  auto rto = measured(2ms);
  needless_timeout_detector d;
  d.on_timeout(5, t0(), t0() + 10ms);
  d.on_progress(4, t0() + 10500us, rto);
  EXPECT_EQ(d.current(), state::waiting);
  EXPECT_FALSE(d.proves_needless(4, t0() + 11ms)) << "no ACK of block 5 yet";
  d.on_progress(5, t0() + 11ms, rto);
  EXPECT_EQ(d.current(), state::acked);
  EXPECT_EQ(d.rtt(), 11ms);
}

TEST(TftpNeedlessTimeout, ProgressPastTheFirstAckEndsTheTest) {
  auto rto = measured(2ms);
  for (duration after : {duration{1ms}, duration{5ms}}) {  // acked, acked_late
    needless_timeout_detector d;
    d.on_timeout(5, t0(), t0() + 10ms);
    d.on_progress(5, t0() + 10ms + after, rto);
    d.on_progress(6, t0() + 20ms, rto);
    EXPECT_EQ(d.current(), state::idle);
    EXPECT_FALSE(d.proves_needless(5, t0() + 25ms)) << "a repeat after progress is a gap ACK";
  }
}

TEST(TftpNeedlessTimeout, ATimeoutAfterTheFirstAckKeepsTheTestForTheSecond) {
  // A lockstep receiver working through the resent copy of block 5 delays the next block's
  // ACK into another timeout; its second ACK of block 5 still comes, and still proves.
  auto rto = measured(2ms);
  needless_timeout_detector d;
  d.on_timeout(5, t0(), t0() + 10ms);
  d.on_progress(5, t0() + 15ms, rto);
  d.on_timeout(0, {}, t0() + 20ms);
  EXPECT_EQ(d.current(), state::acked_late);
  EXPECT_TRUE(d.proves_needless(5, t0() + 25ms));
}

TEST(TftpNeedlessTimeout, ASecondTimeoutOfTheSameBlockKeepsTheFirstResendTime) {
  auto rto = measured(2ms);
  needless_timeout_detector d;
  d.on_timeout(5, t0(), t0() + 10ms);
  d.on_timeout(0, {}, t0() + 20ms);  // the sampler stopped at the first timeout
  EXPECT_EQ(d.current(), state::waiting);
  d.on_progress(5, t0() + 21ms, rto);
  EXPECT_EQ(d.current(), state::acked_late) << "11 ms after the first resend, not 1 ms after the second";
  EXPECT_EQ(d.rtt(), 21ms) << "from the first send";
}

TEST(TftpNeedlessTimeout, ANewTimedBlockWaitsUntilTheAnsweredTestEnds) {
  auto rto = measured(2ms);
  needless_timeout_detector d;
  d.on_timeout(5, t0(), t0() + 10ms);
  d.on_progress(5, t0() + 15ms, rto);
  d.on_timeout(9, t0() + 16ms, t0() + 30ms);  // block 9 timed out while block 5's test waits
  EXPECT_EQ(d.current(), state::acked_late);
  EXPECT_EQ(d.rtt(), 15ms) << "still block 5's";
  d.on_progress(9, t0() + 31ms, rto);  // progress past block 5 ends its test
  EXPECT_EQ(d.current(), state::idle);
  EXPECT_FALSE(d.proves_needless(5, t0() + 32ms));
  d.on_timeout(12, t0() + 32ms, t0() + 40ms);  // the next timeout is tested again
  EXPECT_EQ(d.current(), state::waiting);
  d.on_progress(12, t0() + 41ms, rto);
  EXPECT_EQ(d.rtt(), 9ms);
}

TEST(TftpNeedlessTimeout, WithAWindowALateRepeatedAckIsAGapNotEvidence) {
  // RFC 7440: a windowed receiver re-ACKs the last block it has in order when a later one is
  // missing, at any time after its first ACK: only Eifel's test can prove there.
  auto rto = measured(2ms);
  needless_timeout_detector d{false};
  d.on_timeout(5, t0(), t0() + 10ms);
  d.on_progress(5, t0() + 15ms, rto);
  EXPECT_EQ(d.current(), state::acked_late);
  EXPECT_FALSE(d.proves_needless(5, t0() + 25ms));
  d.on_timeout(0, {}, t0() + 30ms);
  EXPECT_EQ(d.current(), state::idle) << "a timeout ends an answered test";
  d.on_timeout(9, t0() + 31ms, t0() + 40ms);
  d.on_progress(9, t0() + 40ms + 500us, rto);
  EXPECT_EQ(d.current(), state::acked);
  EXPECT_TRUE(d.proves_needless(9, t0() + 41ms)) << "Eifel's test still holds";
}

}  // namespace
}  // namespace pinetboot::tftp::detail
