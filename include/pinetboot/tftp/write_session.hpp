/// @file
/// @brief write_session: the server side of one WRQ, sans-I/O, writing into a block_sink.
/// (Whether WRQs are accepted at all is the server's policy; this engine just works.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/detail/receiver.hpp"
#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/detail/session_shell.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp {

/// Receives one WRQ into `sink`: OACK (if options were accepted) or ACK 0, then DATA blocks,
/// ACKed at the end of each window (RFC 7440), on the final block, on a gap and on timeout.
/// The sink is committed only after the final block; any failure (timeout, size limit
/// limits.negotiation.max_write_size / limits.max_receive_size -> disk_full, oversize block ->
/// illegal_operation, client ERROR) aborts it, so no partial file remains. After the final ACK
/// the session dallies (limits.dally) to re-ACK a repeated final block; is_complete() is true
/// from the final block on, is_done() after dallying.
template <block_sink Sink>
class write_session : public detail::session_shell<write_session<Sink>, detail::block_receiver<Sink>> {
 public:
  static constexpr detail::side kSide = detail::side::server;
  /// A client that gives up on an upload left no file: not a normal end.
  static constexpr bool kAbortIsNormal = false;

  write_session(Sink& sink, session_limits const& limits, request_view const& wrq) noexcept {
    this->io_ = &sink;
    if (!this->accept_request(wrq, opcode::wrq, limits.negotiation, std::nullopt)) return;
    auto rto = detail::make_rto(limits, this->opts_.timeout_s);
    auto cfg = detail::block_receiver<Sink>::config::from(
        this->opts_, wrq.mode_kind, limits,
        std::min(limits.negotiation.max_write_size, limits.max_receive_size));
    this->begin(detail::block_receiver<Sink>{sink, cfg, rto, this->stats_, !this->opts_.any()}, rto, limits);
  }

  /// The file was received completely and committed.
  [[nodiscard]] bool is_complete() const noexcept { return this->role_.complete(); }
  [[nodiscard]] std::uint64_t bytes_written() const noexcept { return this->role_.bytes_written(); }
};

}  // namespace pinetboot::tftp
