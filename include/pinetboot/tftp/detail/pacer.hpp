/// @file
/// @brief The sender's loss-adaptive window pacing: how far apart the blocks of a window
/// leave, measured per round and changed on loss.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/session.hpp"

namespace pinetboot::tftp::detail {

/// What one round (an ACK that moved the window to the next) showed about the path.
struct delivery {
  duration received;  // the receiver's spacing of the round's blocks
  bool kept_up;       // no slower than we actually sent them (timers make that the gap or more)
};

/// Loss-adaptive pacing. A receiver ACKs once per negotiated window, so the sender keeps the
/// window and spaces its blocks gap() apart instead (0: the whole window at once). Each round
/// (from an ACK that moves the window to the next) without a timeout measures how far apart
/// the receiver got the blocks: the round's time minus the lowest RTT, per block that arrived.
///  - A gap in a round that the path delivered slower than we sent it: a queue overflowed.
///    Send at the delivered spacing (at most halving the rate at once); it becomes the limit
///    above which the rate grows carefully (like TCP's ssthresh).
///  - A gap in a round the path kept up with: random loss (a bad cable, a lossy test link),
///    which sending slower would not cure. The rate stays, and may grow.
///  - A timeout: the first ACK after it tells how much of the window had arrived. Less than
///    three quarters (a burst into a full queue), or a second timeout in a row: halve the rate.
///  - A round the path kept up with and no queueing in the RTT: double the rate (up to the
///    limit, then an eighth more per round). A window that would leave within an eighth of
///    the lowest RTT leaves at once.
/// "Kept up" compares with the spacing the blocks actually left at, not gap(): an event loop
/// wakes late, and every round would look slow. Lockstep (window 1) is never paced.
/// BM_WindowUnderLoss (bench/tftp_bench.cpp) compares it with a fixed window:
/// bench/results/tftp_window.md.
///
/// `base` and `high` arguments are the sender's first unacknowledged and highest sent blocks
/// (send_window) at the time of the call; `rto` supplies the round-trip estimates.
class window_pacer {
 public:
  /// Within a round, a timer that woke late may catch up with the blocks due by now, up to
  /// this much time's worth...
  static constexpr duration kPaceCredit = std::chrono::microseconds{250};
  /// ...and at least this many blocks: the rate decides how fast blocks leave, not how
  /// promptly an event loop wakes (tens of microseconds late under load).
  static constexpr std::int64_t kCreditBlocks = 3;
  /// A reduction at most multiplies the gap by this (halves the rate); a speed-up divides it
  /// by this (doubles the rate) while well below the limit.
  static constexpr std::int64_t kRateFactor = 2;
  /// Beyond the limit the gap shrinks by this fraction of itself per clean round (1/8).
  static constexpr std::int64_t kCarefulStep = 8;
  /// A window whose blocks would all leave within this fraction of the lowest RTT (1/8)
  /// leaves at once.
  static constexpr std::int64_t kAtOnceFraction = 8;
  /// The path kept up when the receiver's spacing was at most the send spacing plus this
  /// fraction of it (1/8).
  static constexpr std::int64_t kKeptUpSlack = 8;
  /// After a timeout, the first ACK must cover at least this share of the blocks that were
  /// outstanding (3/4), or the rate halves.
  static constexpr std::uint64_t kTimeoutKeptNumerator = 3;
  static constexpr std::uint64_t kTimeoutKeptDenominator = 4;
  /// This many timeouts in a row halve the rate without waiting for the first ACK.
  static constexpr unsigned kRepeatedTimeouts = 2;
  /// A gap ACK measures the path only after this many blocks arrived in its round (one more
  /// lost block then does not distort the spacing much)...
  static constexpr std::int64_t kMinGapAckBlocks = 8;
  /// ...and only when it came within this many smoothed RTTs of the round's last send (not
  /// from the receiver's timer).
  static constexpr std::int64_t kGapAckPromptRtts = 2;

  constexpr window_pacer() noexcept = default;
  /// `adaptive` false: never paces (the window leaves at once).
  constexpr window_pacer(std::uint16_t window, bool adaptive) noexcept
      : window_{std::max<std::uint16_t>(window, 1)}, adaptive_{adaptive} {}

  [[nodiscard]] constexpr bool pacing() const noexcept { return adaptive_ && gap_ != duration::zero(); }
  /// Time between blocks, 0 = the window at once.
  [[nodiscard]] constexpr duration gap() const noexcept { return gap_; }
  /// The path's rate when a queue last overflowed, 0 = unknown.
  [[nodiscard]] constexpr duration limit_gap() const noexcept { return limit_gap_; }
  /// When pacing() lets the next block leave.
  [[nodiscard]] constexpr time_point next_send_at() const noexcept { return next_send_at_; }
  [[nodiscard]] constexpr bool may_send(time_point now) const noexcept {
    return !pacing() || now >= next_send_at_;
  }
  /// The paced rate as blocks per smoothed round trip (the window when unpaced).
  [[nodiscard]] constexpr std::uint16_t effective_window(rto_estimator const& rto) const noexcept {
    if (gap_ == duration::zero()) return window_;
    return static_cast<std::uint16_t>(std::clamp<std::int64_t>(rtt_estimate(rto) / gap_, 1, window_));
  }

  /// A block left at `now`.
  constexpr void on_send(time_point now) noexcept {
    if (pacing()) {
      time_point credit = round_.started ? now - std::max<duration>(kCreditBlocks * gap_, kPaceCredit) : now;
      next_send_at_ = std::max(next_send_at_, credit) + gap_;
    }
    if (!round_.started) round_ = {true, round_.clean, now, now, 0};
    round_.last = now;
    ++round_.sent;
  }
  /// A block was sent since the last ACK that moved the window.
  [[nodiscard]] constexpr bool round_started() const noexcept { return round_.started; }
  /// The first send of the round (meaningful while round_started()).
  [[nodiscard]] constexpr time_point round_start() const noexcept { return round_.start; }
  /// The round ends unmeasured (a go-back starts a new one).
  constexpr void abandon_round() noexcept { round_ = {}; }
  /// An ACK at `now` ended the round: `delivered` blocks reached the receiver in order (on a
  /// gap ACK, `partial`, one more arrived, after the lost one, which made the receiver say so).
  /// What the round showed, if it measured the path (adaptive, no timeout in it).
  [[nodiscard]] constexpr std::optional<delivery> end_round(std::uint64_t delivered, bool partial,
                                                            time_point now,
                                                            rto_estimator const& rto) noexcept {
    std::optional<delivery> measured;
    if (adaptive_ && round_.started && round_.clean) measured = measure_round(delivered, partial, now, rto);
    round_ = {};
    return measured;
  }

  /// A loss (a gap ACK with what its round measured, or a timeout or go-back without).
  constexpr void on_loss(std::optional<delivery> measured, std::uint64_t base, std::uint64_t high,
                         rto_estimator const& rto) noexcept {
    // Act at most once per window: losses among the blocks up to the end of the window in
    // which we last reduced belong to the same episode (like NewReno's recovery point).
    if (!adaptive_ || base <= recover_) return;
    if (measured && !measured->kept_up) {
      // At most half the rate: a gap ACK that the receiver's timer sent late (its first one
      // lost) can look like a slow path.
      set_gap(std::min(measured->received, kRateFactor * gap_ + round_trip(rto) / window_), rto);
      limit_gap_ = gap_;
      recover_ = std::max(high, base + window_ - 1);
    } else if (measured) {
      on_clean_round(*measured, rto);  // the path kept up: noise, not a queue
    }
  }
  /// After a round the path kept up with, and no queue building: send faster.
  constexpr void on_clean_round(delivery d, rto_estimator const& rto) noexcept {
    if (!adaptive_ || gap_ == duration::zero() || rto.queueing() || !d.kept_up) return;
    if (limit_gap_ == duration::zero() || gap_ / kRateFactor >= limit_gap_)
      set_gap(gap_ / kRateFactor, rto);  // well below the rate at which the path last overflowed
    else if (gap_ > limit_gap_)
      set_gap(limit_gap_, rto);
    else
      set_gap(gap_ - gap_ / kCarefulStep, rto);  // beyond it, carefully
  }
  /// A retransmission timeout, the `timeouts`-th in a row: repeated ones halve the rate, the
  /// first leaves that to judge_timeout (the first ACK after it).
  constexpr void on_timeout(unsigned timeouts, std::uint64_t base, std::uint64_t high,
                            rto_estimator const& rto) noexcept {
    round_.clean = false;
    if (timeouts >= kRepeatedTimeouts) {
      after_timeout_.pending = false;
      slow_down(base, high, rto);
    } else {
      after_timeout_ = {true, base, high + 1 - base};
    }
  }
  /// The first ACK after a timeout tells what the receiver had got by then: most of the window
  /// (only its tail or our ACK was lost, as random loss does) or little (a queue overflowed).
  constexpr void judge_timeout(std::uint64_t acked_through, std::uint64_t base, std::uint64_t high,
                               rto_estimator const& rto) noexcept {
    if (!after_timeout_.pending) return;
    after_timeout_.pending = false;
    std::uint64_t got = acked_through + 1 - after_timeout_.base;
    if (got * kTimeoutKeptDenominator < after_timeout_.outstanding * kTimeoutKeptNumerator)
      slow_down(base, high, rto);
  }

 private:
  [[nodiscard]] static constexpr duration round_trip(rto_estimator const& rto) noexcept {
    return rto.has_sample() ? rto.base() : rto.min();
  }
  [[nodiscard]] static constexpr duration rtt_estimate(rto_estimator const& rto) noexcept {
    return rto.has_sample() ? rto.srtt() : rto.min();
  }
  constexpr void set_gap(duration g, rto_estimator const& rto) noexcept {
    gap_ = g * window_ <= round_trip(rto) / kAtOnceFraction ? duration::zero() : g;
  }
  /// Halves the rate (a timeout that lost most of the window, or repeated timeouts).
  constexpr void slow_down(std::uint64_t base, std::uint64_t high, rto_estimator const& rto) noexcept {
    if (!adaptive_) return;
    duration slower =
        gap_ == duration::zero() ? kRateFactor * rtt_estimate(rto) / window_ : kRateFactor * gap_;
    set_gap(std::min(slower, rtt_estimate(rto)), rto);  // at least a block per round trip
    recover_ = std::max(high, base + window_ - 1);
  }
  /// The receiver's spacing of a round's blocks: the round's time minus the lowest RTT, per
  /// block that arrived.
  [[nodiscard]] constexpr std::optional<delivery> measure_round(std::uint64_t delivered, bool partial,
                                                                time_point now,
                                                                rto_estimator const& rto) const noexcept {
    auto arrived = static_cast<std::int64_t>(delivered + (partial ? 1 : 0));
    if (partial && (arrived < kMinGapAckBlocks || now - round_.last > kGapAckPromptRtts * rtt_estimate(rto)))
      return std::nullopt;
    duration spent = now - round_.start - rto.base();
    duration received = spent > duration::zero() ? spent / arrived : duration::zero();
    duration sent = duration::zero();
    if (round_.sent > 1) sent = (round_.last - round_.start) / static_cast<std::int64_t>(round_.sent - 1);
    return delivery{received, received <= sent + sent / kKeptUpSlack};
  }

  std::uint16_t window_ = 1;
  bool adaptive_ = false;
  duration gap_{};
  duration limit_gap_{};
  time_point next_send_at_{};
  std::uint64_t recover_ = 0;  // the end of the window in which the rate last went down
  struct round {
    bool started = false;  // a block was sent since the last ACK that moved the window
    bool clean = true;     // no loss or timeout since that ACK
    time_point start{};    // first send after that ACK
    time_point last{};     // latest send
    std::uint64_t sent = 0;
  } round_{};
  struct {
    bool pending = false;
    std::uint64_t base = 0;         // first unacknowledged block at the timeout
    std::uint64_t outstanding = 0;  // blocks sent and unacknowledged then
  } after_timeout_;
};

}  // namespace pinetboot::tftp::detail
