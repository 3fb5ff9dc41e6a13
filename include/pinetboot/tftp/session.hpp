/// @file
/// @brief Types shared by the TFTP session engines: time, limits, statistics.
#pragma once

#include <chrono>
#include <cstdint>
#include <system_error>

#include "pinetboot/core/time.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"

namespace pinetboot::tftp {

/// The engines' time is core's (see core/time.hpp); these names keep the engine code short.
using core::duration;
using core::time_point;

/// What block number follows 65535 (RFC 1350 leaves it open). 0 is what the Raspberry Pi
/// bootloader (since 2025-09), tftpd-hpa and curl expect; some old clients want 1.
enum class rollover : std::uint8_t { to_zero, to_one };

/// What earlier transfers with the same peer measured, to start a new one from (as TCP's
/// per-destination metrics cache does): a board fetches a dozen files in a row, and a slow one
/// should not have to show each transfer again, by needless timeouts, that its ACKs come late.
struct path_memory {
  /// The least RTO: the longest round trip the peer took lately (its slowest ACK, or what a
  /// needless timeout showed). 0 = nothing known.
  duration floor{};
  /// The smoothed round trip and its variation when the last transfer ended (RFC 9040's
  /// temporal sharing, as Linux's tcp_metrics keeps them per destination): the next transfer's
  /// estimator starts from them instead of from nothing. 0 = nothing measured.
  duration srtt{};
  duration rttvar{};
};

/// Per-session policy (both server and client sessions).
struct session_limits {
  negotiation_limits negotiation{};  ///< server side only
  /// Retransmission timeout before any RTT sample (RFC 6298 section 2.1 says 1 s).
  std::chrono::milliseconds initial_rto{1000};
  /// Lower bound of the adaptive RTO (RFC 6298's 1 s floor is far too long on a LAN).
  std::chrono::microseconds min_rto{5000};
  /// Upper bound of the RTO when the peer did not negotiate "timeout" (otherwise that value is
  /// the upper bound, RFC 2349).
  std::chrono::milliseconds max_rto{1000};
  /// Consecutive timeouts without progress before giving up (errc::timed_out)...
  unsigned max_retransmits = 8;
  /// ...and the least time without progress before giving up, whatever the count: a lost ACK
  /// that the peer repeats only on its own fixed timer (2 s and more in boot ROMs) must not
  /// end the transfer because a LAN-sized RTO used up the count first.
  std::chrono::milliseconds give_up_after{10000};
  /// A session that hears nothing from its peer this long ends with peer_silent (and an ERROR
  /// to the peer), whatever it was waiting for: the backstop behind the retry budget, as
  /// QUIC's idle timeout is (RFC 9000 section 10.1). 0 = none.
  std::chrono::milliseconds idle_timeout{30000};
  rollover block_rollover = rollover::to_zero;
  /// The peer's RTT as earlier transfers measured it (server: kept per client address).
  path_memory remembered{};
  /// Loss-adaptive window (sender, windowsize > 1): the negotiated window is kept and its
  /// blocks are paced at the rate the receiver was measured to get them. A loss in a round that
  /// the path delivered slower than it was sent (a queue overflowed) paces the window at that
  /// rate; a loss the path's rate does not explain (random loss) leaves the rate alone; a
  /// timeout after which little of the window had arrived halves it; clean rounds speed it up
  /// until the window leaves at once again. Never more than the client negotiated. Behind a
  /// small queue it is several times faster than a fixed window and sends a fraction of the
  /// packets; on random loss it matches a fixed window in simulation and reached 0.8-0.9x of
  /// it on this machine's CPU-bound impaired veth link (where bursts batch better), so it can
  /// be turned off. See detail::window_pacer (detail/pacer.hpp) and bench/results/tftp_window.md.
  bool adaptive_window = true;
  /// How long a receiver keeps answering a retransmitted final block after its final ACK
  /// (RFC 1350 section 6 "dallying").
  std::chrono::milliseconds dally{2000};
  /// WRQ/client download size limit (bytes); more data fails with disk_full.
  std::uint64_t max_receive_size = UINT64_MAX;
};

/// Counters and estimates of one session.
struct session_stats {
  std::uint64_t bytes = 0;   ///< payload bytes: sent once (sender) / accepted in order (receiver)
  std::uint64_t blocks = 0;  ///< DATA packets sent, including retransmissions (sender) / accepted (receiver)
  std::uint64_t retransmits = 0;        ///< packets sent again (DATA, OACK, ACK, request)
  std::uint64_t timeouts = 0;           ///< retransmission timer expiries
  std::uint64_t duplicate_acks = 0;     ///< ACKs of an already acknowledged block (ignored, no re-send)
  std::uint64_t ignored = 0;            ///< malformed, stale or unexpected datagrams
  std::uint64_t duplicate_blocks = 0;   ///< DATA blocks received again (receiver; also in ignored)
  std::uint64_t loss_events = 0;        ///< timeouts or gaps that shrank the window
  std::uint64_t spurious_timeouts = 0;  ///< timeouts shown needless by the peer's duplicate ACK
  std::uint64_t silent_peer_waits = 0;  ///< ACKs that came from the peer's own timer, not a resend
  duration srtt{};                      ///< smoothed RTT (0 until measured or remembered)
  duration rttvar{};                    ///< RTT variation (RFC 6298 RTTVAR; likewise)
  bool measured = false;                ///< this session took an RTT sample of its own
  duration rto{};                       ///< current retransmission timeout
  duration rto_floor{};                 ///< the RTO's lower bound (raised by needless timeouts)
  duration rtt_peak{};                  ///< longest RTT sample (0 until measured)
  std::uint16_t window = 0;             ///< current effective window (sender)
};

/// What a finished read transfer leaves for the next one to the same peer: the RTO floor it
/// ended with (it started from the remembered one) and, when it proved a needless timeout,
/// its slowest round trip (the peer is slow, not the link lossy); and its smoothed RTT and
/// variation, from which the next transfer's estimator goes on. A fast peer's one RTT spike
/// without a needless timeout does not raise the floor, so its losses are still resent after
/// a LAN-sized timeout (the spike's share of the variation decays with the next samples).
[[nodiscard]] constexpr path_memory remember(session_stats const& s) noexcept {
  auto floor = s.rto_floor;
  if (s.spurious_timeouts > 0 && s.rtt_peak > floor) floor = s.rtt_peak;
  return {floor, s.srtt, s.rttvar};
}

/// What a server does with its memory of a client when a read transfer to it ends.
enum class memory_update : std::uint8_t {
  keep,    ///< leave it: the transfer took no RTT sample of its own (a probe, an early ERROR),
           ///< and storing would only carry the old values forward with a fresh timestamp
  store,   ///< replace it with remember(stats)
  forget,  ///< drop it: the client went silent (timed_out, peer_silent), and its next attempt
           ///< starts from RFC 6298's 1 s rather than from a LAN-sized memory
};
[[nodiscard]] inline memory_update after_read(session_stats const& s, std::error_code outcome) noexcept {
  if (outcome == errc::timed_out || outcome == errc::peer_silent) return memory_update::forget;
  return s.measured ? memory_update::store : memory_update::keep;
}

}  // namespace pinetboot::tftp
