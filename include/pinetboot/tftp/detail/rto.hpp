/// @file
/// @brief RFC 6298-style retransmission timer estimator (SRTT/RTTVAR, exponential backoff),
/// Karn's rule for its samples, and the retry budget.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "pinetboot/tftp/session.hpp"

namespace pinetboot::tftp::detail {

class rto_estimator {
 public:
  /// RFC 6298 section 2.3: RTTVAR <- (1 - beta) RTTVAR + beta |SRTT - R|, beta = 1/4;
  /// SRTT <- (1 - alpha) SRTT + alpha R, alpha = 1/8 (as numerator over denominator).
  static constexpr std::int64_t kRttvarKeep = 3, kRttvarDenominator = 4;
  static constexpr std::int64_t kSrttKeep = 7, kSrttDenominator = 8;
  /// RFC 6298 K: RTO = SRTT + max(G, K RTTVAR), with the floor standing in for G.
  static constexpr std::int64_t kRttvarWeight = 4;
  /// A latest sample this far above the lowest one (a quarter of it, at least the absolute
  /// slack) means queueing.
  static constexpr std::int64_t kQueueingFraction = 4;
  static constexpr duration kQueueingSlack = std::chrono::microseconds{200};
  /// RFC 6298 section 5.5: each timeout multiplies the RTO by this (up to max).
  static constexpr std::int64_t kBackoffFactor = 2;
  /// A default-constructed estimator: RFC 6298's 1 s initial RTO, a 5 ms LAN floor and a 1 s
  /// ceiling (the values session_limits defaults to).
  static constexpr duration kDefaultRto = std::chrono::seconds{1};
  static constexpr duration kDefaultMin = std::chrono::milliseconds{5};
  static constexpr duration kDefaultMax = std::chrono::seconds{1};

  constexpr rto_estimator() noexcept = default;
  constexpr rto_estimator(duration initial, duration min, duration max) noexcept
      : min_{min}, max_{std::max(min, max)} {
    rto_ = std::clamp(initial, min_, max_);
  }

  /// Starts from what earlier transfers with this peer measured (path_memory): their floor,
  /// and their SRTT and RTTVAR, into which this estimator's own samples are then smoothed
  /// (RFC 9040 section 5's temporal sharing) instead of the first one replacing them. Until
  /// that first own sample the RTO stays the initial one (RFC 6298's 1 s): the memory comes
  /// from DATA/ACK round trips, and a boot ROM may take longer over its first answer (the
  /// ACK of an OACK). has_sample(), base() and peak() are this transfer's own.
  constexpr void seed(path_memory const& m) noexcept {
    if (m.floor > min_) min_ = std::min(m.floor, max_);
    if (m.srtt > duration::zero()) {
      srtt_ = m.srtt;
      rttvar_ = std::max(m.rttvar, duration::zero());
      seeded_ = true;
    }
    rto_ = std::clamp(rto_, min_, max_);
  }
  /// The longest RTT sample (0 before the first).
  [[nodiscard]] constexpr duration peak() const noexcept { return peak_; }

  /// Feeds one RTT measurement (never from a retransmitted packet: Karn's rule is the caller's).
  constexpr void sample(duration r) noexcept {
    if (r < duration::zero()) r = duration::zero();
    last_ = r;
    if (!has_ || r < base_) base_ = r;
    peak_ = std::max(peak_, r);
    if (!has_ && !seeded_) {
      srtt_ = r;
      rttvar_ = r / 2;  // RFC 6298 section 2.2
    } else {
      duration diff = srtt_ > r ? srtt_ - r : r - srtt_;
      rttvar_ = (kRttvarKeep * rttvar_ + diff) / kRttvarDenominator;
      srtt_ = (kSrttKeep * srtt_ + r) / kSrttDenominator;
    }
    has_ = true;
    rto_ = computed();
  }
  /// Undoes backoff once the peer made progress (a new ACK or in-order DATA): the path works
  /// again, so waiting a backed-off RTO for the next loss would only stall the transfer.
  constexpr void reset_backoff() noexcept {
    if (has_) rto_ = computed();
  }
  /// Raises the lower bound to `floor` (bounded by max): a timeout shown needless says that
  /// this path's round trips can take that long, whatever the smoothed RTT says in between
  /// (spikes of a busy peer's scheduling, not a queue that RTTVAR would track).
  constexpr void raise_min(duration floor) noexcept {
    min_ = std::clamp(floor, min_, max_);
    rto_ = std::clamp(rto_, min_, max_);
    reset_backoff();
  }
  /// Doubles the RTO (bounded by max) after a timeout.
  constexpr void backoff() noexcept { rto_ = std::min(rto_ * kBackoffFactor, max_); }
  /// Changes the bounds (e.g. once "timeout" was negotiated).
  constexpr void set_max(duration max) noexcept {
    max_ = std::max(min_, max);
    rto_ = std::clamp(rto_, min_, max_);
  }

  [[nodiscard]] constexpr duration rto() const noexcept { return rto_; }
  [[nodiscard]] constexpr duration srtt() const noexcept { return srtt_; }
  [[nodiscard]] constexpr duration rttvar() const noexcept { return rttvar_; }
  [[nodiscard]] constexpr duration min() const noexcept { return min_; }
  [[nodiscard]] constexpr duration max() const noexcept { return max_; }
  [[nodiscard]] constexpr bool has_sample() const noexcept { return has_; }
  /// The lowest RTT sample seen (the path without queueing); 0 before the first sample.
  [[nodiscard]] constexpr duration base() const noexcept { return base_; }
  /// True when the latest RTT sample stands clearly above the lowest one seen: packets are
  /// waiting in a queue somewhere. Loss with queueing is congestion; loss without it is noise
  /// on the link (a bad cable, a lossy test link) that a smaller window would not cure.
  [[nodiscard]] constexpr bool queueing() const noexcept {
    if (!has_) return false;
    duration slack = std::max<duration>(base_ / kQueueingFraction, kQueueingSlack);
    return last_ > base_ + slack;
  }

 private:
  [[nodiscard]] constexpr duration computed() const noexcept {
    return std::clamp(srtt_ + std::max(min_, kRttvarWeight * rttvar_), min_, max_);
  }

  duration srtt_{};
  duration rttvar_{};
  duration base_{};  // lowest RTT sample (the path without queueing)
  duration last_{};  // latest RTT sample
  duration peak_{};  // longest RTT sample
  duration rto_{kDefaultRto};
  duration min_{kDefaultMin};
  duration max_{kDefaultMax};
  bool has_ = false;
  bool seeded_ = false;  // srtt_ and rttvar_ came from path_memory
};

/// Karn's rule (RFC 6298 section 3): one block at a time is timed, and a retransmission of it
/// (or of any block before it) voids the measurement, since its ACK may answer either copy.
/// The newest block is timed: a receiver ACKs when the last block of a window arrives, so
/// timing an earlier one would add the window's (paced) send time to the RTT.
class rtt_sampler {
 public:
  /// A block left at `now`; `retransmit` when it had been sent before.
  constexpr void sent(std::uint64_t seq, bool retransmit, time_point now) noexcept {
    if (retransmit) {
      if (seq_ != 0 && seq <= seq_) seq_ = 0;
      return;
    }
    seq_ = seq;
    sent_at_ = now;
  }
  /// An ACK covered blocks up to `acked`: the round trip of the timed block, if it was covered.
  [[nodiscard]] constexpr std::optional<duration> acked(std::uint64_t acked, time_point now) noexcept {
    if (seq_ == 0 || acked < seq_) return std::nullopt;
    seq_ = 0;
    return now - sent_at_;
  }
  /// Stops timing (a loss: the block will be sent again).
  constexpr void cancel() noexcept { seq_ = 0; }
  /// The timed block, 0 = none.
  [[nodiscard]] constexpr std::uint64_t seq() const noexcept { return seq_; }
  /// When the timed block was sent (meaningful while seq() != 0).
  [[nodiscard]] constexpr time_point sent_at() const noexcept { return sent_at_; }

 private:
  std::uint64_t seq_ = 0;
  time_point sent_at_{};
};

/// Consecutive timeouts without progress, and when to give up: after more than `max` of them
/// AND at least `floor` since the last progress (or the first timeout). With an RTO adapted to a
/// LAN (a few ms, doubling) the count alone runs out within about 3 s, before a peer with a
/// fixed seconds-long timer (the Raspberry Pi bootloader, most PXE ROMs) has repeated a lost
/// ACK twice; the floor keeps the transfer alive for those repeats.
class retry_budget {
 public:
  /// A default-constructed budget's count (session_limits::max_retransmits' default).
  static constexpr unsigned kDefaultMaxTimeouts = 8;
  constexpr retry_budget() noexcept = default;
  constexpr retry_budget(unsigned max, duration floor) noexcept : max_{max}, floor_{floor} {}
  /// The peer made progress: the count starts again.
  constexpr void progress(time_point now) noexcept {
    count_ = 0;
    since_ = now;
    started_ = true;
  }
  /// Counts a timeout at `now`; true when the transfer should give up.
  [[nodiscard]] constexpr bool exhausted_by_timeout(time_point now) noexcept {
    if (!started_) progress(now);
    ++count_;
    return count_ > max_ && now - since_ >= floor_;
  }
  [[nodiscard]] constexpr unsigned count() const noexcept { return count_; }

 private:
  unsigned max_ = kDefaultMaxTimeouts;
  duration floor_{};
  unsigned count_ = 0;
  time_point since_{};
  bool started_ = false;
};

[[nodiscard]] constexpr retry_budget make_retry_budget(session_limits const& lim) noexcept {
  return retry_budget{lim.max_retransmits, lim.give_up_after};
}

/// The RTO bounds for a session: the upper bound is the negotiated timeout if any.
[[nodiscard]] inline rto_estimator make_rto(session_limits const& lim, std::uint8_t timeout_s) noexcept {
  duration max = timeout_s != 0 ? duration{std::chrono::seconds{timeout_s}} : duration{lim.max_rto};
  rto_estimator r{std::min<duration>(lim.initial_rto, max), lim.min_rto, max};
  r.seed(lim.remembered);
  return r;
}

}  // namespace pinetboot::tftp::detail
