/// @file
/// @brief The sender's silent-peer floor: the least wait before a second resend to a peer
/// that does not answer repeated blocks.
#pragma once

#include <algorithm>
#include <cstdint>

#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/session.hpp"

namespace pinetboot::tftp::detail {

/// A peer that does not answer a repeated block (busybox tftp, older boot ROMs) repeats its
/// ACK only when its own timer expires, and a timer like busybox's restarts on every packet
/// it gets. Seen when progress comes after kSilentPeerTimeouts or more timeouts and well after
/// the latest resend (not its answer): the delay since that resend is the peer's timer. From
/// then on, the first resend still goes after one RTO (a lost DATA block), the later ones wait
/// longer than that timer. bench/results/tftp_slow_clients.md has the busybox measurement.
class silent_peer_floor {
 public:
  /// Timeouts in a row before progress that can show a silent peer (the first resend may
  /// simply have been answered late).
  static constexpr unsigned kSilentPeerTimeouts = 2;
  /// Progress this many smoothed RTTs (or more) after the latest resend did not answer it.
  static constexpr std::int64_t kSrttMultiple = 2;
  /// The floor is the peer's timer plus this fraction of it (1/4: 1.25 x the timer).
  static constexpr std::int64_t kMarginDenominator = 4;

  /// A timeout resent blocks at `now`.
  constexpr void on_timeout(time_point now) noexcept { last_timeout_at_ = now; }
  /// An ACK made progress at `now` after `timeouts` timeouts in a row. True when it showed a
  /// silent peer (the floor rose or stayed at the bound).
  constexpr bool on_progress(time_point now, unsigned timeouts, rto_estimator const& rto) noexcept {
    if (timeouts < kSilentPeerTimeouts) return false;
    duration waited = now - last_timeout_at_;
    if (!rto.has_sample() || waited <= kSrttMultiple * rto.srtt() || waited <= rto.min()) return false;
    floor_ = std::min(std::max(floor_, waited + waited / kMarginDenominator), rto.max());
    return true;
  }
  /// The retransmission timeout after a send, `timeouts` timeouts into a stall: the floor
  /// applies once a resend went unanswered (a peer that never answers a repeated block waits
  /// for its own timer, which each further copy would restart: give that timer room).
  [[nodiscard]] constexpr duration timeout(unsigned timeouts, rto_estimator const& rto) const noexcept {
    return timeouts >= 1 ? std::max(rto.rto(), floor_) : rto.rto();
  }
  /// The least wait before a second resend, 0 = none.
  [[nodiscard]] constexpr duration floor() const noexcept { return floor_; }

 private:
  time_point last_timeout_at_{};
  duration floor_{};
};

}  // namespace pinetboot::tftp::detail
