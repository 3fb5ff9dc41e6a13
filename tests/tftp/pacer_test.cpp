#include "pinetboot/tftp/detail/pacer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

#include "tftp/parts.hpp"

namespace pinetboot::tftp::detail {
namespace {

using namespace std::chrono_literals;

using test::t0;

/// SRTT and lowest RTT both `rtt` (one sample), floor 5 ms.
rto_estimator path(duration rtt) { return test::one_sample(rtt); }

/// Window 8, RTT 8 ms, paced at 2 ms (a second timeout in a row halved the unpaced rate).
struct paced {
  rto_estimator rto = path(8ms);
  window_pacer p{8, true};
  paced() {
    p.on_timeout(2, 1, 8, rto);
    (void)p.end_round(0, false, t0(), rto);  // a fresh, clean round
  }
};

TEST(TftpWindowPacer, UnpacedUntilALoss) {
  auto rto = path(8ms);
  window_pacer p{8, true};
  EXPECT_FALSE(p.pacing());
  EXPECT_TRUE(p.may_send(time_point{}));
  EXPECT_EQ(p.effective_window(rto), 8U);
}

TEST(TftpWindowPacer, NotAdaptiveNeverPaces) {
  auto rto = path(8ms);
  window_pacer p{8, false};
  for (unsigned i = 2; i < 6; ++i) p.on_timeout(i, 1, 8, rto);
  EXPECT_FALSE(p.pacing());
  EXPECT_EQ(p.gap(), 0ms);
}

TEST(TftpWindowPacer, RepeatedTimeoutsHalveTheRateDownToABlockPerRoundTrip) {
  auto rto = path(8ms);
  window_pacer p{8, true};
  p.on_timeout(1, 1, 8, rto);
  EXPECT_EQ(p.gap(), 0ms) << "the first timeout waits for the first ACK";
  p.on_timeout(2, 1, 8, rto);
  EXPECT_EQ(p.gap(), 2ms) << "2 x SRTT / window: half the rate of the whole window per RTT";
  EXPECT_EQ(p.effective_window(rto), 4U);
  p.on_timeout(3, 1, 8, rto);
  EXPECT_EQ(p.gap(), 4ms);
  EXPECT_EQ(p.effective_window(rto), 2U);
  p.on_timeout(4, 1, 8, rto);
  EXPECT_EQ(p.gap(), 8ms);
  EXPECT_EQ(p.effective_window(rto), 1U);
  p.on_timeout(5, 1, 8, rto);
  EXPECT_EQ(p.gap(), 8ms) << "at least one block per SRTT";
}

TEST(TftpWindowPacer, WithoutAnRttSampleTheFloorStandsInForIt) {
  rto_estimator rto{1s, 5ms, 1s};
  window_pacer p{5, true};
  p.on_timeout(2, 1, 5, rto);
  EXPECT_EQ(p.gap(), 2ms) << "2 x 5 ms / 5";
}

TEST(TftpWindowPacer, BlocksLeaveAGapApart) {
  paced f;
  ASSERT_TRUE(f.p.pacing());
  f.p.on_send(t0());
  EXPECT_EQ(f.p.next_send_at(), t0() + 2ms);
  EXPECT_FALSE(f.p.may_send(t0() + 2ms - 1ns));
  EXPECT_TRUE(f.p.may_send(t0() + 2ms));
}

TEST(TftpWindowPacer, ALateTimerCatchesUpThreeGapsWorth) {
  paced f;
  f.p.on_send(t0());         // next at +2
  f.p.on_send(t0() + 10ms);  // woke 8 ms late: credit from +4 (3 gaps back), next at +6
  EXPECT_EQ(f.p.next_send_at(), t0() + 6ms);
  f.p.on_send(t0() + 10ms);
  EXPECT_EQ(f.p.next_send_at(), t0() + 8ms);
  f.p.on_send(t0() + 10ms);
  EXPECT_EQ(f.p.next_send_at(), t0() + 10ms);
  EXPECT_TRUE(f.p.may_send(t0() + 10ms));
  f.p.on_send(t0() + 10ms);
  EXPECT_EQ(f.p.next_send_at(), t0() + 12ms) << "the credit is used up";
  EXPECT_FALSE(f.p.may_send(t0() + 10ms));
}

TEST(TftpWindowPacer, ANewRoundGetsNoCredit) {
  paced f;
  f.p.on_send(t0());
  (void)f.p.end_round(1, false, t0() + 8ms, f.rto);
  f.p.on_send(t0() + 20ms);
  EXPECT_EQ(f.p.next_send_at(), t0() + 22ms) << "the round's first block starts the clock";
}

TEST(TftpWindowPacer, ASmallGapGetsAQuarterMillisecondOfCredit) {
  auto rto = path(8ms);
  window_pacer p{64, true};
  p.on_timeout(2, 1, 64, rto);  // 2 x 8 ms / 64 = 250 us: 3 gaps = 750 us of credit
  (void)p.end_round(0, false, t0(), rto);
  ASSERT_EQ(p.gap(), 250us);
  p.on_send(t0());
  p.on_send(t0() + 5ms);
  EXPECT_EQ(p.next_send_at(), t0() + 5ms - 750us + 250us);

  rto_estimator big = path(160ms);  // with window 32768 the gap would be 10 us
  window_pacer q{32768, true};
  q.on_timeout(2, 1, 32768, big);
  (void)q.end_round(0, false, t0(), big);
  ASSERT_EQ(q.gap(), 9765ns);
  q.on_send(t0());
  q.on_send(t0() + 5ms);
  EXPECT_EQ(q.next_send_at(), t0() + 5ms - 250us + 9765ns) << "3 gaps < 250 us: 250 us";
}

TEST(TftpWindowPacer, TheFirstAckAfterATimeoutJudgesIt) {
  for (std::uint64_t acked : {6U, 5U}) {
    auto rto = path(8ms);
    window_pacer p{8, true};
    p.on_timeout(1, 1, 8, rto);  // blocks 1-8 outstanding
    p.judge_timeout(acked, 1, 8, rto);
    if (acked == 6)
      EXPECT_EQ(p.gap(), 0ms) << "6 of 8 arrived: three quarters, random loss";
    else
      EXPECT_EQ(p.gap(), 2ms) << "5 of 8: a queue overflowed, halve";
    p.judge_timeout(1, 1, 8, rto);
    EXPECT_EQ(p.gap(), acked == 6 ? 0ms : 2ms) << "judged once";
  }
}

TEST(TftpWindowPacer, AnUncleanRoundMeasuresNothing) {
  auto rto = path(8ms);
  window_pacer p{8, true};
  p.on_send(t0());
  p.on_timeout(1, 1, 8, rto);
  EXPECT_EQ(p.end_round(8, false, t0() + 20ms, rto), std::nullopt);
  EXPECT_FALSE(p.round_started());
  window_pacer q{8, false};
  q.on_send(t0());
  EXPECT_EQ(q.end_round(8, false, t0() + 20ms, rto), std::nullopt) << "not adaptive";
  window_pacer r{8, true};
  EXPECT_EQ(r.end_round(8, false, t0() + 20ms, rto), std::nullopt) << "nothing sent";
}

/// Sends the paced fixture's 8 blocks 2 ms apart from t0.
void send_window_of_eight(paced& f) {
  for (int i = 0; i < 8; ++i) f.p.on_send(t0() + i * 2ms);
}

TEST(TftpWindowPacer, KeptUpMeansReceivedNoSlowerThanSentPlusAnEighth) {
  paced f;
  send_window_of_eight(f);
  EXPECT_TRUE(f.p.round_started());
  EXPECT_EQ(f.p.round_start(), t0());
  // Sent 2 ms apart: kept up while (now - start - 8 ms) / 8 <= 2.25 ms.
  auto m = f.p.end_round(8, false, t0() + 26ms, f.rto);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->received, 2250us);
  EXPECT_TRUE(m->kept_up);

  paced g;
  send_window_of_eight(g);
  m = g.p.end_round(8, false, t0() + 26ms + 8ns, g.rto);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->received, 2250us + 1ns);
  EXPECT_FALSE(m->kept_up);
}

TEST(TftpWindowPacer, AGapAckMeasuresOnlyAfterEightBlocksAndPromptly) {
  {
    paced f;
    send_window_of_eight(f);
    EXPECT_EQ(f.p.end_round(6, true, t0() + 30ms, f.rto), std::nullopt) << "7 arrived";
  }
  {
    paced f;
    send_window_of_eight(f);
    auto m = f.p.end_round(7, true, t0() + 30ms, f.rto);
    ASSERT_TRUE(m) << "7 in order + the one after the gap";
    EXPECT_EQ(m->received, 2750us) << "(30 - 8) / 8";
  }
  {
    paced f;
    send_window_of_eight(f);  // last send at +14 ms; 2 x SRTT = 16 ms
    EXPECT_TRUE(f.p.end_round(7, true, t0() + 30ms, f.rto));
  }
  {
    paced f;
    send_window_of_eight(f);
    EXPECT_EQ(f.p.end_round(7, true, t0() + 30ms + 1ns, f.rto), std::nullopt)
        << "the receiver's timer sent it";
  }
}

TEST(TftpWindowPacer, ASlowRoundWithALossSetsTheRateAndTheLimit) {
  paced f;  // gap 2 ms, recovery point 8
  f.p.on_loss(delivery{6ms, false}, 9, 20, f.rto);
  EXPECT_EQ(f.p.gap(), 5ms) << "at most 2 x gap + lowest RTT / window";
  EXPECT_EQ(f.p.limit_gap(), 5ms);
  f.p.on_loss(delivery{20ms, false}, 20, 24, f.rto);
  EXPECT_EQ(f.p.gap(), 5ms) << "block 20 is within the window that reduced: same episode";
  f.p.on_loss(delivery{4ms, false}, 21, 24, f.rto);
  EXPECT_EQ(f.p.gap(), 4ms) << "the delivered spacing";
  EXPECT_EQ(f.p.limit_gap(), 4ms);
}

TEST(TftpWindowPacer, ALossTheRateDoesNotExplainDoesNotSlowDown) {
  paced f;
  f.p.on_loss(delivery{1ms, true}, 9, 16, f.rto);
  EXPECT_EQ(f.p.gap(), 1ms) << "kept up: random loss; the rate may even grow";
  EXPECT_EQ(f.p.limit_gap(), 0ms);
  f.p.on_loss(std::nullopt, 17, 24, f.rto);
  EXPECT_EQ(f.p.gap(), 1ms) << "a loss without a measurement changes nothing";
}

TEST(TftpWindowPacer, CleanRoundsDoubleTheRateUntilTheWindowLeavesAtOnce) {
  paced f;  // gap 2 ms, window 8, lowest RTT 8 ms: at once below 1 ms per window
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 1ms);
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 500us);
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 250us) << "8 x 250 us = 2 ms > 1 ms: still paced";
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 0ms) << "8 x 125 us = 1 ms: exactly an eighth of the RTT, at once";
  EXPECT_FALSE(f.p.pacing());
  EXPECT_EQ(f.p.effective_window(f.rto), 8U);
}

TEST(TftpWindowPacer, NearTheLimitTheRateGrowsByAnEighth) {
  paced f;
  f.p.on_loss(delivery{6ms, false}, 9, 16, f.rto);    // gap = limit = 5 ms
  f.p.on_loss(delivery{11ms, false}, 17, 24, f.rto);  // min(11, 2 x 5 + 1) = 11 ms; limit 11
  ASSERT_EQ(f.p.gap(), 11ms);
  ASSERT_EQ(f.p.limit_gap(), 11ms);
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 9625us) << "at the limit: an eighth faster (11 - 1.375)";
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 8421875ns) << "9.625 - 1.203125";
}

TEST(TftpWindowPacer, WellAboveTheLimitDoubleThenStopAtIt) {
  paced f;
  f.p.on_loss(delivery{6ms, false}, 9, 16, f.rto);  // gap = limit = 5 ms
  f.p.on_timeout(2, 17, 24, f.rto);                 // halve: min(10 ms, SRTT); limit stays 5
  ASSERT_EQ(f.p.gap(), 8ms) << "halving stops at a block per SRTT";
  f.p.on_timeout(2, 17, 24, f.rto);
  ASSERT_EQ(f.p.limit_gap(), 5ms);
  f.p.on_loss(delivery{5ms, true}, 33, 40, f.rto);  // kept up: speeds up from 8 ms
  EXPECT_EQ(f.p.gap(), 5ms) << "8 / 2 = 4 < 5: stop at the limit";
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 4375us);
}

TEST(TftpWindowPacer, DoubledFromFarAboveTheLimit) {
  auto rto = path(80ms);
  window_pacer p{8, true};
  p.on_timeout(2, 1, 8, rto);                   // 20 ms
  p.on_loss(delivery{2ms, false}, 9, 16, rto);  // gap = limit = 2 ms
  p.on_timeout(2, 17, 24, rto);                 // 4 ms
  p.on_timeout(3, 17, 24, rto);                 // 8 ms
  ASSERT_EQ(p.gap(), 8ms);
  p.on_clean_round(delivery{1ms, true}, rto);
  EXPECT_EQ(p.gap(), 4ms) << "4 >= the 2 ms limit: double";
  p.on_clean_round(delivery{1ms, true}, rto);
  EXPECT_EQ(p.gap(), 2ms) << "2 >= 2: still double (>=)";
  p.on_clean_round(delivery{1ms, true}, rto);
  EXPECT_EQ(p.gap(), 1750us) << "1 < 2 and 2 is not above the limit: an eighth";
}

TEST(TftpWindowPacer, QueueingOrASlowRoundKeepsTheRate) {
  paced f;
  f.p.on_clean_round(delivery{3ms, false}, f.rto);
  EXPECT_EQ(f.p.gap(), 2ms) << "not kept up";
  f.rto.sample(8ms + 2ms + 1ns);  // latest sample a quarter above the lowest, plus 1 ns
  ASSERT_TRUE(f.rto.queueing());
  f.p.on_clean_round(delivery{1ms, true}, f.rto);
  EXPECT_EQ(f.p.gap(), 2ms) << "a queue is building";
}

TEST(TftpWindowPacer, EffectiveWindowIsBlocksPerSmoothedRoundTrip) {
  auto rto = path(8ms);
  window_pacer p{8, true};
  p.on_timeout(2, 1, 8, rto);  // gap 2 ms
  EXPECT_EQ(p.effective_window(rto), 4U);
  EXPECT_EQ(p.effective_window(path(1ms)), 1U) << "at least 1";
  EXPECT_EQ(p.effective_window(path(100ms)), 8U) << "at most the window";
  EXPECT_EQ(p.effective_window(path(7999us)), 3U) << "rounded down";
}

TEST(TftpWindowPacer, AbandonRoundForgetsItsStart) {
  paced f;
  f.p.on_send(t0());
  ASSERT_TRUE(f.p.round_started());
  f.p.abandon_round();
  EXPECT_FALSE(f.p.round_started());
}

}  // namespace
}  // namespace pinetboot::tftp::detail
