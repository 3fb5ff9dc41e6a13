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
class read_session {
 public:
  /// `rrq` is only read during construction. A request that is not an RRQ, or whose options fail
  /// strict negotiation, makes the session send one ERROR and finish.
  read_session(Source& src, session_limits const& limits, request_view const& rrq) noexcept
      : limits_{limits}, retries_{detail::make_retry_budget(limits)} {
    if (rrq.op != opcode::rrq) {
      fail(errc::illegal_operation);
      return;
    }
    auto n = negotiate(rrq, limits.negotiation, src.size());
    if (!n) {
      fail(n.error());
      return;
    }
    opts_ = *n;
    rto_ = detail::make_rto(limits, opts_.timeout_s);
    typename detail::block_sender<Source>::config cfg;
    cfg.blksize = opts_.blksize;
    cfg.window = opts_.windowsize;
    cfg.mode = rrq.mode_kind;
    cfg.roll = limits.block_rollover;
    cfg.adaptive = limits.adaptive_window;
    cfg.max_retransmits = limits.max_retransmits;
    cfg.give_up_after = limits.give_up_after;
    sender_ = detail::block_sender<Source>{src, cfg, rto_, stats_};
    if (sender_.failed()) {
      fail(sender_.error());
      return;
    }
    state_ = opts_.any() ? state::oack : state::data;
    oack_due_ = opts_.any();
    stats_.rto = rto_.rto();
  }

  /// A datagram from the client's TID (the adapter filters other TIDs).
  void on_datagram(std::span<const std::byte> in, time_point now) noexcept {
    auto op = parse_opcode(in);
    if (!op) {
      ++stats_.ignored;
      return;
    }
    if (*op == opcode::error) {
      auto e = parse_error(in);
      if (state_ == state::oack || state_ == state::data) {
        auto code = e ? e->code : error_code_wire::not_defined;
        finish(code == error_code_wire::not_defined || code == error_code_wire::option_negotiation
                   ? errc::client_aborted
                   : errc::peer_error);
      }
      return;
    }
    if (*op != opcode::ack) {
      ++stats_.ignored;
      return;
    }
    auto ack = parse_ack(in);
    if (!ack) {
      ++stats_.ignored;
      return;
    }
    if (state_ == state::oack) {
      if (ack->block != 0) {
        ++stats_.ignored;
        return;
      }
      if (!oack_retransmitted_ && oack_sent_at_) rto_.sample(now - *oack_sent_at_);
      sender_.seed_rto(rto_);
      state_ = state::data;
      timer_.reset();
      return;
    }
    if (state_ == state::data) {
      sender_.on_ack(ack->block, now);
      if (sender_.done()) finish({});
    }
  }

  void on_timer(time_point now) noexcept {
    if (state_ == state::oack) {
      if (!timer_ || now < *timer_) return;
      ++stats_.timeouts;
      if (retries_.exhausted_by_timeout(now)) {
        fail(errc::timed_out);
        return;
      }
      rto_.backoff();
      stats_.rto = rto_.rto();
      oack_due_ = true;
      oack_retransmitted_ = true;
      timer_.reset();
    } else if (state_ == state::data) {
      sender_.on_timer(now);
      if (sender_.failed()) fail(sender_.error());
    }
  }

  /// Writes the next OACK/DATA/ERROR into `out` (which should hold 4 + blksize bytes);
  /// 0 = nothing to send now. Errors: buffer_too_small (nothing is lost: call again with a
  /// bigger buffer).
  [[nodiscard]] result<std::size_t> poll_transmit(std::span<std::byte> out, time_point now) noexcept {
    switch (state_) {
      case state::oack: {
        if (!oack_due_) return std::size_t{0};
        auto n = write_oack(out, opts_);
        if (!n) return n;
        oack_due_ = false;
        if (oack_retransmitted_) ++stats_.retransmits;
        if (!oack_sent_at_ || !oack_retransmitted_) oack_sent_at_ = now;
        timer_ = now + rto_.rto();
        return n;
      }
      case state::data: {
        auto n = sender_.poll(out, now);
        if (sender_.failed()) {
          fail(sender_.error());
          return poll_transmit(out, now);
        }
        return n;
      }
      case state::error: {
        auto n = write_error(out, pending_error_);
        if (!n) return n;
        state_ = state::done;
        return n;
      }
      case state::done:
        break;
    }
    return std::size_t{0};
  }

  [[nodiscard]] std::optional<time_point> next_deadline() const noexcept {
    if (state_ == state::oack) return timer_;
    if (state_ == state::data) return sender_.deadline();
    return std::nullopt;
  }
  /// True when nothing more will be sent or expected.
  [[nodiscard]] bool is_done() const noexcept { return state_ == state::done; }
  /// Empty on success; errc::client_aborted for a client abort (normal); otherwise the failure
  /// (timed_out, peer_error, io_error or the source's error, bad_option_value, ...).
  [[nodiscard]] std::error_code close_reason() const noexcept { return reason_; }
  /// True if close_reason() is success or a client abort: nothing to log as a failure.
  [[nodiscard]] bool ended_normally() const noexcept {
    return is_done() && (!reason_ || reason_ == make_error_code(errc::client_aborted));
  }
  [[nodiscard]] negotiated_options const& options() const noexcept { return opts_; }
  [[nodiscard]] session_stats const& stats() const noexcept { return stats_; }
  /// The sending engine's view (block counters, effective window) for diagnostics and tests.
  [[nodiscard]] detail::block_sender<Source> const& sender() const noexcept { return sender_; }

 private:
  enum class state : std::uint8_t { oack, data, error, done };

  void fail(std::error_code ec) noexcept {
    reason_ = ec;
    pending_error_ = ec;
    state_ = state::error;
    timer_.reset();
  }
  void finish(std::error_code ec) noexcept {
    reason_ = ec;
    state_ = state::done;
    timer_.reset();
  }

  session_limits limits_;
  negotiated_options opts_{};
  detail::rto_estimator rto_{};
  session_stats stats_{};
  detail::block_sender<Source> sender_{};
  state state_ = state::done;
  std::error_code reason_{};
  std::error_code pending_error_{};
  std::optional<time_point> timer_;
  std::optional<time_point> oack_sent_at_;
  detail::retry_budget retries_{};
  bool oack_due_ = false;
  bool oack_retransmitted_ = false;
};

}  // namespace pinetboot::tftp
