#include "pinetboot/tftp/detail/rto.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace pinetboot::tftp::detail {
namespace {

using namespace std::chrono_literals;

time_point t0() { return time_point{} + 1h; }

rto_estimator lan() { return rto_estimator{1s, 5ms, 1s}; }

TEST(TftpRtoEstimator, FirstSampleSetsSrttAndHalfOfItAsRttvar) {
  auto r = lan();
  EXPECT_FALSE(r.has_sample());
  EXPECT_EQ(r.rto(), 1s);
  r.sample(100ms);
  EXPECT_TRUE(r.has_sample());
  EXPECT_EQ(r.srtt(), 100ms);
  EXPECT_EQ(r.rto(), 300ms) << "SRTT + 4 * RTTVAR = 100 + 4 * 50";
}

TEST(TftpRtoEstimator, LaterSamplesFollowRfc6298Weights) {
  auto r = lan();
  r.sample(100ms);
  r.sample(200ms);
  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
  EXPECT_EQ(r.srtt(), 112500us);
  EXPECT_EQ(r.rto(), 112500us + 4 * 62500us);
  r.sample(40ms);
  // RTTVAR = 3/4 * 62.5 + 1/4 * 72.5 = 65; SRTT = 7/8 * 112.5 + 1/8 * 40 = 103.4375.
  EXPECT_EQ(r.srtt(), 103437500ns);
  EXPECT_EQ(r.rto(), 103437500ns + 4 * 65ms);
}

TEST(TftpRtoEstimator, TheFloorStandsInForClockGranularity) {
  auto r = lan();
  r.sample(1ms);  // 4 * RTTVAR = 2 ms < the 5 ms floor
  EXPECT_EQ(r.rto(), 6ms) << "SRTT + max(floor, 4 * RTTVAR), not just clamped to the floor";
}

TEST(TftpRtoEstimator, RtoIsClampedToItsBounds) {
  auto r = lan();
  r.sample(600ms);
  EXPECT_EQ(r.rto(), 1s) << "600 + 4 * 300 capped";
  EXPECT_EQ((rto_estimator{2s, 5ms, 1s}.rto()), 1s);
  EXPECT_EQ((rto_estimator{1ms, 5ms, 1s}.rto()), 5ms);
  rto_estimator inverted{1s, 50ms, 10ms};
  EXPECT_EQ(inverted.max(), 50ms) << "max below min becomes min";
  EXPECT_EQ(inverted.rto(), 50ms);
}

TEST(TftpRtoEstimator, NegativeSamplesCountAsZero) {
  auto r = lan();
  r.sample(-3ms);
  EXPECT_EQ(r.srtt(), 0ms);
  EXPECT_EQ(r.base(), 0ms);
  EXPECT_EQ(r.rto(), 5ms);
}

TEST(TftpRtoEstimator, BackoffDoublesUpToMaxAndProgressUndoesIt) {
  auto r = lan();
  r.sample(10ms);  // RTO 30 ms
  ASSERT_EQ(r.rto(), 30ms);
  r.backoff();
  EXPECT_EQ(r.rto(), 60ms);
  r.backoff();
  EXPECT_EQ(r.rto(), 120ms);
  for (int i = 0; i < 5; ++i) r.backoff();
  EXPECT_EQ(r.rto(), 1s);
  r.reset_backoff();
  EXPECT_EQ(r.rto(), 30ms);
}

TEST(TftpRtoEstimator, ResetBackoffWithoutASampleKeepsTheBackedOffRto) {
  rto_estimator r{100ms, 5ms, 1s};
  r.backoff();
  r.reset_backoff();
  EXPECT_EQ(r.rto(), 200ms) << "no SRTT to go back to";
}

TEST(TftpRtoEstimator, RaiseMinOnlyRaisesAndIsBoundedByMax) {
  auto r = lan();
  r.sample(2ms);  // RTO 2 + 5 = 7 ms
  r.raise_min(40ms);
  EXPECT_EQ(r.min(), 40ms);
  EXPECT_EQ(r.rto(), 42ms) << "SRTT + the new floor";
  r.raise_min(10ms);
  EXPECT_EQ(r.min(), 40ms) << "never lowered";
  r.raise_min(3s);
  EXPECT_EQ(r.min(), 1s);
  EXPECT_EQ(r.rto(), 1s);
}

TEST(TftpRtoEstimator, SeedFromPathMemoryRaisesTheFloor) {
  auto r = lan();
  r.seed(path_memory{});
  EXPECT_EQ(r.min(), 5ms) << "nothing known";
  r.seed(path_memory{3ms});
  EXPECT_EQ(r.min(), 5ms) << "below the configured floor";
  rto_estimator s{10ms, 5ms, 1s};
  s.seed(path_memory{30ms});
  EXPECT_EQ(s.min(), 30ms);
  EXPECT_EQ(s.rto(), 30ms) << "the initial RTO rises to the floor";
  rto_estimator t{10ms, 5ms, 100ms};
  t.seed(path_memory{300ms});
  EXPECT_EQ(t.min(), 100ms) << "bounded by max";
}

TEST(TftpRtoEstimator, SeedFromPathMemoryGoesOnFromTheEarlierSrttAndRttvar) {
  // The last transfer to this peer ended with SRTT 20 ms and RTTVAR 10 ms: the next one's first
  // sample is smoothed into that history instead of replacing it (RFC 9040 temporal sharing).
  // Until that sample the RTO stays the initial 1 s.
  auto r = lan();
  r.seed(path_memory{0ms, 20ms, 10ms});
  EXPECT_FALSE(r.has_sample()) << "no sample of its own yet";
  EXPECT_EQ(r.rto(), 1s);
  r.reset_backoff();
  EXPECT_EQ(r.rto(), 1s) << "no sample, nothing to reset to";
  r.sample(4ms);
  EXPECT_TRUE(r.has_sample());
  EXPECT_EQ(r.srtt(), 18ms) << "(7 x 20 + 4) / 8";
  EXPECT_EQ(r.rttvar(), 11500us) << "(3 x 10 + |20 - 4|) / 4";
  EXPECT_EQ(r.rto(), 64ms);
  EXPECT_EQ(r.base(), 4ms) << "the lowest sample is this transfer's own";
  EXPECT_EQ(r.peak(), 4ms);
  // Without a remembered SRTT the first sample starts the estimate (RFC 6298 section 2.2).
  auto fresh = lan();
  fresh.sample(4ms);
  EXPECT_EQ(fresh.srtt(), 4ms);
  EXPECT_EQ(fresh.rttvar(), 2ms);
}

TEST(TftpRtoEstimator, LowestAndLongestSamplesAreKept) {
  auto r = lan();
  EXPECT_EQ(r.base(), 0ms);
  EXPECT_EQ(r.peak(), 0ms);
  r.sample(10ms);
  r.sample(4ms);
  r.sample(25ms);
  r.sample(7ms);
  EXPECT_EQ(r.base(), 4ms);
  EXPECT_EQ(r.peak(), 25ms);
}

TEST(TftpRtoEstimator, QueueingMeansTheLatestSampleStandsAQuarterAboveTheLowest) {
  auto r = lan();
  EXPECT_FALSE(r.queueing());
  r.sample(10ms);
  EXPECT_FALSE(r.queueing());
  r.sample(12500us);
  EXPECT_FALSE(r.queueing()) << "exactly base + base / 4";
  r.sample(12501us);
  EXPECT_TRUE(r.queueing());
  r.sample(10ms);
  EXPECT_FALSE(r.queueing()) << "the latest sample decides";
}

TEST(TftpRtoEstimator, QueueingSlackIsAtLeast200Microseconds) {
  auto r = lan();
  r.sample(100us);
  r.sample(300us);
  EXPECT_FALSE(r.queueing()) << "100 + 200, not 100 + 25";
  r.sample(301us);
  EXPECT_TRUE(r.queueing());
}

TEST(TftpRtoEstimator, SetMaxRebounds) {
  auto r = lan();
  r.set_max(3s);
  for (int i = 0; i < 3; ++i) r.backoff();
  EXPECT_EQ(r.rto(), 3s) << "1 s doubled twice is 4 s, capped";
  r.set_max(2s);
  EXPECT_EQ(r.rto(), 2s);
  r.set_max(1ms);
  EXPECT_EQ(r.max(), 5ms) << "never below min";
}

TEST(TftpRtoEstimator, DefaultsMatchSessionLimits) {
  rto_estimator r;
  session_limits lim;
  EXPECT_EQ(r.rto(), duration{lim.initial_rto});
  EXPECT_EQ(r.min(), duration{lim.min_rto});
  EXPECT_EQ(r.max(), duration{lim.max_rto});
  retry_budget b;
  for (unsigned i = 0; i < lim.max_retransmits; ++i) EXPECT_FALSE(b.exhausted_by_timeout(t0()));
  EXPECT_TRUE(b.exhausted_by_timeout(t0()));
}

TEST(TftpMakeRto, NegotiatedTimeoutIsTheUpperBound) {
  session_limits lim;
  lim.initial_rto = 1000ms;
  lim.min_rto = 5ms;
  lim.max_rto = 1000ms;
  auto plain = make_rto(lim, 0);
  EXPECT_EQ(plain.max(), 1s);
  EXPECT_EQ(plain.rto(), 1s);
  auto negotiated = make_rto(lim, 3);
  EXPECT_EQ(negotiated.max(), 3s);
  EXPECT_EQ(negotiated.rto(), 1s) << "the initial RTO stays";
  lim.initial_rto = 5000ms;
  EXPECT_EQ(make_rto(lim, 2).rto(), 2s) << "initial bounded by the negotiated timeout";
  lim.remembered.floor = 40ms;
  EXPECT_EQ(make_rto(lim, 0).min(), 40ms) << "seeded from path memory";
}

TEST(TftpRttSampler, TimesTheNewestBlockUntilItsAck) {
  rtt_sampler k;
  EXPECT_EQ(k.seq(), 0U);
  k.sent(1, false, t0());
  k.sent(2, false, t0() + 1ms);
  EXPECT_EQ(k.seq(), 2U);
  EXPECT_EQ(k.sent_at(), t0() + 1ms);
  EXPECT_EQ(k.acked(1, t0() + 5ms), std::nullopt) << "block 2 not covered yet";
  EXPECT_EQ(k.acked(2, t0() + 9ms), std::optional<duration>{8ms});
  EXPECT_EQ(k.seq(), 0U);
  EXPECT_EQ(k.acked(2, t0() + 10ms), std::nullopt) << "one sample per timed block";
}

TEST(TftpRttSampler, AnAckBeyondTheTimedBlockCoversIt) {
  rtt_sampler k;
  k.sent(3, false, t0());
  EXPECT_EQ(k.acked(7, t0() + 2ms), std::optional<duration>{2ms});
}

TEST(TftpRttSampler, KarnsRuleVoidsATimedBlockSentTwice) {
  rtt_sampler k;
  k.sent(5, false, t0());
  k.sent(6, true, t0() + 1ms);
  EXPECT_EQ(k.seq(), 5U) << "a resend after the timed block does not touch it";
  k.sent(5, true, t0() + 2ms);
  EXPECT_EQ(k.seq(), 0U);
  EXPECT_EQ(k.acked(5, t0() + 3ms), std::nullopt);

  k.sent(8, false, t0());
  k.sent(4, true, t0() + 1ms);
  EXPECT_EQ(k.seq(), 0U) << "a go-back below the timed block will resend it";
}

TEST(TftpRttSampler, CancelStopsTiming) {
  rtt_sampler k;
  k.sent(1, false, t0());
  k.cancel();
  EXPECT_EQ(k.acked(1, t0() + 1ms), std::nullopt);
}

TEST(TftpRetryBudget, GivesUpAfterMoreThanMaxTimeoutsAndTheFloor) {
  retry_budget b{2, 0ms};
  EXPECT_FALSE(b.exhausted_by_timeout(t0()));
  EXPECT_FALSE(b.exhausted_by_timeout(t0()));
  EXPECT_EQ(b.count(), 2U);
  EXPECT_TRUE(b.exhausted_by_timeout(t0())) << "the third of max 2";

  retry_budget f{2, 10s};
  f.progress(t0());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(f.exhausted_by_timeout(t0() + 9s));
  EXPECT_TRUE(f.exhausted_by_timeout(t0() + 10s)) << "count and floor both passed";
}

TEST(TftpRetryBudget, ProgressStartsTheCountAgain) {
  retry_budget b{1, 0ms};
  EXPECT_FALSE(b.exhausted_by_timeout(t0()));
  b.progress(t0() + 1s);
  EXPECT_EQ(b.count(), 0U);
  EXPECT_FALSE(b.exhausted_by_timeout(t0() + 2s));
  EXPECT_TRUE(b.exhausted_by_timeout(t0() + 3s));
}

TEST(TftpRetryBudget, TheFloorRunsFromTheFirstTimeoutWithoutProgress) {
  retry_budget b{0, 1s};
  EXPECT_FALSE(b.exhausted_by_timeout(t0()));
  EXPECT_FALSE(b.exhausted_by_timeout(t0() + 999ms));
  EXPECT_TRUE(b.exhausted_by_timeout(t0() + 1s));
}

}  // namespace
}  // namespace pinetboot::tftp::detail
