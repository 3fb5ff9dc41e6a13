/// @file
/// @brief read_session: the server side of one RRQ (RFC 1350 + 2347/2348/2349/7440), sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/detail/sender.hpp"
#include "pinetboot/tftp/detail/session_shell.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp {

/// Serves one RRQ from a block_source. The adapter feeds datagrams from the client's TID
/// (on_datagram), fires the timer (on_timer at next_deadline()), and drains poll_transmit() until
/// it returns 0 after each event. Behaviour:
/// - options accepted -> OACK, then wait for ACK 0; none accepted -> DATA 1 right away
/// - windowed send (windowsize), ACK of any block in the window slides it; a partial ACK or a
///   timeout goes back to the first unacknowledged block; duplicate ACKs are ignored
/// - adaptive RTO (RFC 6298 with Karn's rule) between limits.min_rto and the negotiated timeout;
///   exponential backoff; after more than limits.max_retransmits timeouts in a row and at least
///   limits.give_up_after without progress: ERROR "Timeout", timed_out
/// - loss-adaptive, paced effective window (session_limits::adaptive_window)
/// - block numbers roll over past 65535 to 0 (default) or 1 (limits.block_rollover)
/// - netascii: LF -> CR LF, CR -> CR NUL, resumable across blocks and windows; tsize is refused
/// - ERROR 0 or 8 from the client (UEFI tsize probe, Pi "Early terminate") ends the session with
///   close_reason() == errc::client_aborted, which is a normal outcome; other client errors give
///   errc::peer_error
/// The session keeps a pointer to `src`, which must outlive it. Allocates only in the
/// constructor (netascii buffers); nothing on the packet path.
template <block_source Source>
class read_session : public detail::session_shell<read_session<Source>, detail::block_sender<Source>> {
 public:
  static constexpr detail::side kSide = detail::side::server;
  /// A client abort (ERROR 0/8) of a download is a normal end (probes).
  static constexpr bool kAbortIsNormal = true;

  /// `rrq` is only read during construction. A request that is not an RRQ, or whose options fail
  /// strict negotiation, makes the session send one ERROR and finish.
  read_session(Source& src, session_limits const& limits, request_view const& rrq) noexcept {
    this->io_ = &src;
    if (!this->accept_request(rrq, opcode::rrq, limits.negotiation, src.size())) return;
    auto rto = detail::make_rto(limits, this->opts_.timeout_s);
    auto cfg = detail::block_sender<Source>::config::from(this->opts_, rrq.mode_kind, limits);
    this->begin(detail::block_sender<Source>{src, cfg, rto, this->stats_}, rto, limits);
  }

  /// The sending engine's view (block counters, effective window) for diagnostics and tests.
  [[nodiscard]] detail::block_sender<Source> const& sender() const noexcept { return this->role_; }

};

}  // namespace pinetboot::tftp
