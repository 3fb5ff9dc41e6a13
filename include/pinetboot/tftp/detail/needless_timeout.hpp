/// @file
/// @brief Needless-timeout detection for the sender: after a timeout resent a block, does a
/// second ACK of it show that the first copy had arrived (the timeout was needless)?
#pragma once

#include <chrono>
#include <cstdint>

#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/session.hpp"

namespace pinetboot::tftp::detail {

/// Least spacing of two ACKs of one block that shows two copies reached the receiver: above a
/// duplicating link's spacing (tests/support/lossy_link.hpp: 100 us).
inline constexpr duration kDoubleAckSpacing = std::chrono::milliseconds{1};
/// After a needless timeout the RTO's floor becomes this many times the late ACK's delay
/// (bench/results/tftp_slow_clients.md: why 2 and not 1.25).
inline constexpr std::int64_t kNeedlessTimeoutFloor = 2;

/// Spurious-timeout detection (in the spirit of RFC 3522/4015, with the duplicate ACK as the
/// evidence instead of a timestamp): after a timeout resent block `seq`, the first ACK of it
/// may answer either copy. A receiver ACKs every copy it gets (RFC 1350 lockstep; RFC 7440
/// re-ACKs a repeated block), so a second ACK of the same block right after the first, with
/// no progress between, means both copies arrived: the original was only late, by the round
/// trip from its first send to the first ACK. The RTO's floor then rises above that delay for
/// the rest of the transfer (such delays come back). It is not fed to the smoothed RTT, which
/// paces a reduced window: a queue that delayed one window would slow every later one.
/// bench/results/tftp_slow_clients.md has the measurements.
///
/// Two tests of the second ACK: the first ACK came faster after the resend than any round
/// trip seen (Eifel's test, RFC 3522, with the lowest RTT for a timestamp), so it cannot
/// answer the resent copy; or the second ACK came at least kDoubleAckSpacing after the first.
/// A slow client (its ACK delay jitters between a fraction of a millisecond and tens of them)
/// fails Eifel's test, since its lowest RTT is tiny; but it ACKs two copies one processing
/// delay apart, while a copy of one ACK made by the link arrives right behind it.
class needless_timeout_detector {
 public:
  /// `lockstep`: the receiver ACKs every block it gets (window 1). Only then is a second ACK of
  /// the tested block, late for Eifel's test, evidence: with a window, a receiver repeats the
  /// ACK of the last block it has in order whenever a later one is missing (RFC 7440).
  constexpr explicit needless_timeout_detector(bool lockstep = true) noexcept : lockstep_{lockstep} {}

  enum class state : std::uint8_t {
    idle,        // no timeout under test
    waiting,     // a timeout resent the timed block; no ACK of it yet
    acked,       // the first ACK of it passed Eifel's test
    acked_late,  // the first ACK of it came too late for Eifel's test
  };

  /// A timeout at `now`. `timed_seq` (0 = none) was the block being timed (rtt_sampler),
  /// first sent at `sent_at`: it is now under test. A second timeout of the same block finds
  /// no timed block (the first one stopped the sampler) and keeps the test as it was, with
  /// the first send and the first resend time. In lockstep, a test whose first ACK came is
  /// kept too: its second ACK may still come, and a slow receiver working through the resent
  /// copy is what delays the next block's ACK into this timeout (a lockstep client handles
  /// datagrams in order: its ACK of the copy comes before any later ACK).
  constexpr void on_timeout(std::uint64_t timed_seq, time_point sent_at, time_point now) noexcept {
    if (lockstep_ && answered()) return;
    if (timed_seq != 0) {
      state_ = state::waiting;
      seq_ = timed_seq;
      acked_seq_ = 0;
      sent_at_ = sent_at;
      resent_at_ = now;
      acked_at_ = {};
      rtt_ = {};
    } else if (answered()) {
      state_ = state::idle;  // windowed: a timeout ends an answered test
    }
  }
  /// An ACK moved the window to `acked` at `now`. `rto` gives the lowest RTT for Eifel's test.
  constexpr void on_progress(std::uint64_t acked, time_point now, rto_estimator const& rto) noexcept {
    if (state_ == state::waiting && acked >= seq_) {
      // Only an ACK faster than any round trip seen cannot answer the resent copy (Eifel's
      // test): otherwise a duplicate ACK made by the link (or a client's own timer) after a
      // real loss would pass as evidence.
      state_ = rto.has_sample() && now - resent_at_ < rto.base() ? state::acked : state::acked_late;
      acked_seq_ = acked;
      acked_at_ = now;
      rtt_ = now - sent_at_;
    } else if (answered()) {
      state_ = state::idle;  // progress past the ACK that could have been repeated
    }
  }
  /// A duplicate ACK of `acked` at `now`: true when it proves the timeout needless. The
  /// caller then raises the RTO's floor to floor() and calls reset().
  [[nodiscard]] constexpr bool proves_needless(std::uint64_t acked, time_point now) const noexcept {
    if (acked != acked_seq_) return false;
    return state_ == state::acked ||
           (lockstep_ && state_ == state::acked_late && now - acked_at_ >= kDoubleAckSpacing);
  }
  /// The RTO floor a proven needless timeout calls for.
  [[nodiscard]] constexpr duration floor() const noexcept { return kNeedlessTimeoutFloor * rtt_; }
  constexpr void reset() noexcept { state_ = state::idle; }

  [[nodiscard]] constexpr state current() const noexcept { return state_; }
  /// First send of the block under test to the first ACK that covered it.
  [[nodiscard]] constexpr duration rtt() const noexcept { return rtt_; }

 private:
  [[nodiscard]] constexpr bool answered() const noexcept {
    return state_ == state::acked || state_ == state::acked_late;
  }

  bool lockstep_ = true;
  state state_ = state::idle;
  std::uint64_t seq_ = 0;        // the timed block outstanding at the timeout
  std::uint64_t acked_seq_ = 0;  // the ACK that first covered it
  time_point sent_at_{};         // its first transmission
  time_point resent_at_{};       // the timeout that resent it
  time_point acked_at_{};        // the first ACK that covered it
  duration rtt_{};               // first send to first ACK
};

}  // namespace pinetboot::tftp::detail
