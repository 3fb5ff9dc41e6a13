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
class write_session {
 public:
  write_session(Sink& sink, session_limits const& limits, request_view const& wrq) noexcept
      : sink_{&sink}, limits_{limits}, retries_{detail::make_retry_budget(limits)} {
    if (wrq.op != opcode::wrq) {
      fail(errc::illegal_operation);
      return;
    }
    auto n = negotiate(wrq, limits.negotiation, std::nullopt);
    if (!n) {
      fail(n.error());
      return;
    }
    opts_ = *n;
    rto_ = detail::make_rto(limits, opts_.timeout_s);
    typename detail::block_receiver<Sink>::config cfg;
    cfg.blksize = opts_.blksize;
    cfg.window = opts_.windowsize;
    cfg.mode = wrq.mode_kind;
    cfg.roll = limits.block_rollover;
    cfg.max_retransmits = limits.max_retransmits;
    cfg.give_up_after = limits.give_up_after;
    cfg.max_size = std::min(limits.negotiation.max_write_size, limits.max_receive_size);
    cfg.dally = limits.dally;
    receiver_ = detail::block_receiver<Sink>{sink, cfg, rto_, stats_, !opts_.any()};
    has_receiver_ = true;
    if (receiver_.failed()) {
      fail(receiver_.error());
      return;
    }
    state_ = opts_.any() ? state::oack : state::data;
    oack_due_ = opts_.any();
  }

  void on_datagram(std::span<const std::byte> in, time_point now) noexcept {
    auto op = parse_opcode(in);
    if (!op) {
      ++stats_.ignored;
      return;
    }
    if (*op == opcode::error) {
      if (state_ == state::oack || state_ == state::data) {
        auto e = parse_error(in);
        auto code = e ? e->code : error_code_wire::not_defined;
        bool was_complete = receiver_.complete();
        receiver_.fail(errc::peer_error);
        finish(was_complete ? std::error_code{}
               : (code == error_code_wire::not_defined || code == error_code_wire::option_negotiation)
                   ? make_error_code(errc::client_aborted)
                   : make_error_code(errc::peer_error));
      }
      return;
    }
    if (*op != opcode::data || (state_ != state::oack && state_ != state::data)) {
      ++stats_.ignored;
      return;
    }
    auto d = parse_data(in);
    if (!d) {
      ++stats_.ignored;
      return;
    }
    if (state_ == state::oack) {
      if (d->block != 1) {
        ++stats_.ignored;
        return;
      }
      state_ = state::data;
      timer_.reset();
    }
    receiver_.on_data(d->block, d->payload, now);
    check_receiver();
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
      oack_due_ = true;
      ++stats_.retransmits;
      timer_.reset();
    } else if (state_ == state::data) {
      receiver_.on_timer(now);
      check_receiver();
    }
  }

  /// Next OACK/ACK/ERROR, 0 = nothing now. Errors: buffer_too_small.
  [[nodiscard]] result<std::size_t> poll_transmit(std::span<std::byte> out, time_point now) noexcept {
    switch (state_) {
      case state::oack: {
        if (!oack_due_) return std::size_t{0};
        auto n = write_oack(out, opts_);
        if (!n) return n;
        oack_due_ = false;
        timer_ = now + rto_.rto();
        return n;
      }
      case state::data:
        return receiver_.poll(out, now);
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
    if (state_ == state::data) return receiver_.deadline();
    return std::nullopt;
  }
  [[nodiscard]] bool is_done() const noexcept { return state_ == state::done; }
  /// The file was received completely and committed.
  [[nodiscard]] bool is_complete() const noexcept { return receiver_.complete(); }
  /// Empty on success; errc::client_aborted when the client gave up with ERROR 0/8.
  [[nodiscard]] std::error_code close_reason() const noexcept { return reason_; }
  [[nodiscard]] negotiated_options const& options() const noexcept { return opts_; }
  [[nodiscard]] session_stats const& stats() const noexcept { return stats_; }
  [[nodiscard]] std::uint64_t bytes_written() const noexcept { return receiver_.bytes_written(); }

 private:
  enum class state : std::uint8_t { oack, data, error, done };

  void check_receiver() noexcept {
    if (receiver_.failed()) {
      fail(receiver_.error());
    } else if (receiver_.done()) {
      finish({});
    }
  }
  void fail(std::error_code ec) noexcept {
    if (has_receiver_)
      receiver_.fail(ec);  // aborts the sink unless already ended
    else
      sink_->abort();
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

  Sink* sink_;
  session_limits limits_;
  negotiated_options opts_{};
  detail::rto_estimator rto_{};
  session_stats stats_{};
  detail::block_receiver<Sink> receiver_{};
  state state_ = state::done;
  std::error_code reason_{};
  std::error_code pending_error_{};
  std::optional<time_point> timer_;
  detail::retry_budget retries_{};
  bool oack_due_ = false;
  bool has_receiver_ = false;
};

}  // namespace pinetboot::tftp
