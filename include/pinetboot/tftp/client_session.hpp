/// @file
/// @brief TFTP client engines, sans-I/O: client_reader (RRQ, downloads into a block_sink) and
/// client_writer (WRQ, uploads from a block_source). Same interface as the server sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/detail/receiver.hpp"
#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/detail/sender.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp {

/// What a client asks for and how it behaves.
struct client_config {
  client_options options{};  ///< blksize/timeout/tsize/windowsize to request
  transfer_mode mode = transfer_mode::octet;
  session_limits limits{};  ///< RTO bounds, retries, rollover, dally, max_receive_size
  /// Reader only: an existence/size probe. On the server's first answer (OACK or DATA 1) send
  /// ERROR 0 "Early terminate" instead of acknowledging, as the Raspberry Pi firmware and UEFI's
  /// tsize probe do. The session ends with client_aborted; options() holds what the OACK said.
  bool probe = false;
};

namespace detail {
/// The request/handshake phase shared by both clients: (re)send the request until the server's
/// first answer, with backoff.
class request_phase {
 public:
  request_phase() noexcept = default;
  request_phase(opcode op, std::string_view filename, client_config const& cfg, std::uint64_t tsize) noexcept
      : op_{op},
        filename_{filename},
        cfg_{&cfg},
        tsize_{tsize},
        rto_{make_rto(cfg.limits, cfg.options.timeout_s.value_or(0))},
        retries_{make_retry_budget(cfg.limits)} {}

  [[nodiscard]] result<std::size_t> poll(std::span<std::byte> out, time_point now,
                                         session_stats& stats) noexcept {
    if (!due_) return std::size_t{0};
    auto n = write_request(out, op_, filename_, cfg_->mode, cfg_->options, tsize_);
    if (!n) return n;
    due_ = false;
    if (sent_at_)
      ++stats.retransmits;
    else
      sent_at_ = now;
    timer_ = now + rto_.rto();
    return n;
  }
  /// Timer expiry; false when retries are exhausted.
  [[nodiscard]] bool on_timer(time_point now, session_stats& stats) noexcept {
    if (!timer_ || now < *timer_) return true;
    ++stats.timeouts;
    if (retries_.exhausted_by_timeout(now)) return false;
    rto_.backoff();
    retransmitted_ = true;
    due_ = true;
    timer_.reset();
    return true;
  }
  /// The server answered: returns the RTO estimator, seeded with the request RTT if it was not
  /// retransmitted (Karn), bounded by the negotiated timeout.
  [[nodiscard]] rto_estimator answered(time_point now, std::uint8_t timeout_s) noexcept {
    auto r = make_rto(cfg_->limits, timeout_s);
    if (!retransmitted_ && sent_at_) r.sample(now - *sent_at_);
    timer_.reset();
    return r;
  }
  [[nodiscard]] std::optional<time_point> deadline() const noexcept { return timer_; }

 private:
  opcode op_ = opcode::rrq;
  std::string_view filename_;
  client_config const* cfg_ = nullptr;
  std::uint64_t tsize_ = 0;
  rto_estimator rto_{};
  std::optional<time_point> timer_;
  std::optional<time_point> sent_at_;
  retry_budget retries_{};
  bool due_ = true;
  bool retransmitted_ = false;
};

[[nodiscard]] inline errc peer_reason(std::span<const std::byte> in) noexcept {
  auto e = parse_error(in);
  return e ? from_wire(e->code) : errc::peer_error;
}
}  // namespace detail

/// Downloads `filename` (RRQ) into `sink`. Accepts an OACK (validated against what was asked:
/// an unrequested or raised option -> ERROR 8, option_refused) or, from servers without option
/// support, DATA 1 directly (falls back to blksize 512, window 1). Rejects a tsize above
/// limits.max_receive_size (disk_full). `filename` and `cfg` must outlive the session.
template <block_sink Sink>
class client_reader {
 public:
  client_reader(Sink& sink, client_config const& cfg, std::string_view filename) noexcept
      : sink_{&sink}, cfg_{&cfg}, request_{opcode::rrq, filename, cfg, 0} {}

  void on_datagram(std::span<const std::byte> in, time_point now) noexcept {
    auto op = parse_opcode(in);
    if (!op) {
      ++stats_.ignored;
      return;
    }
    if (*op == opcode::error) {
      if (state_ == state::request)
        finish(detail::peer_reason(in));
      else if (state_ == state::data) {
        bool was_complete = receiver_.complete();
        receiver_.fail(errc::peer_error);
        finish(was_complete ? std::error_code{} : make_error_code(detail::peer_reason(in)));
      }
      return;
    }
    if (state_ == state::request) {
      if (*op == opcode::oack) {
        auto o = parse_oack(in);
        auto n = o ? validate_oack(*o, cfg_->options) : result<negotiated_options>{o.error()};
        if (!n) {
          fail(errc::option_refused);
          return;
        }
        if (n->has(option_flag::tsize) && n->tsize > cfg_->limits.max_receive_size) {
          fail(errc::disk_full);
          return;
        }
        start(*n, now, true);
        if (cfg_->probe) abort();
        return;
      }
      if (*op == opcode::data) {
        auto d = parse_data(in);
        if (!d || d->block != 1) {
          ++stats_.ignored;
          return;
        }
        start(negotiated_options{}, now, false);
        if (cfg_->probe) {
          abort();
          return;
        }
        receiver_.on_data(d->block, d->payload, now);
        check_receiver();
        return;
      }
      ++stats_.ignored;
      return;
    }
    if (state_ != state::data) return;
    if (*op == opcode::oack) {  // our ACK 0 was lost
      if (receiver_.expected() == 1) receiver_.request_ack();
      return;
    }
    if (*op != opcode::data) {
      ++stats_.ignored;
      return;
    }
    auto d = parse_data(in);
    if (!d) {
      ++stats_.ignored;
      return;
    }
    receiver_.on_data(d->block, d->payload, now);
    check_receiver();
  }

  void on_timer(time_point now) noexcept {
    if (state_ == state::request) {
      if (!request_.on_timer(now, stats_)) fail(errc::timed_out);
    } else if (state_ == state::data) {
      receiver_.on_timer(now);
      check_receiver();
    }
  }

  [[nodiscard]] result<std::size_t> poll_transmit(std::span<std::byte> out, time_point now) noexcept {
    switch (state_) {
      case state::request:
        return request_.poll(out, now, stats_);
      case state::data:
        return receiver_.poll(out, now);
      case state::error: {
        auto n = write_error(out, error_code_wire::not_defined, abort_message_);
        if (pending_error_ != make_error_code(errc::client_aborted)) n = write_error(out, pending_error_);
        if (!n) return n;
        state_ = state::done;
        return n;
      }
      case state::done:
        break;
    }
    return std::size_t{0};
  }

  /// Gives up on purpose (e.g. an existence probe): sends ERROR 0 `message`, aborts the sink,
  /// close_reason() = client_aborted.
  void abort(std::string_view message = "Early terminate") noexcept {
    if (state_ == state::done || state_ == state::error) return;
    abort_message_ = message;
    fail(errc::client_aborted);
  }

  [[nodiscard]] std::optional<time_point> next_deadline() const noexcept {
    if (state_ == state::request) return request_.deadline();
    if (state_ == state::data) return receiver_.deadline();
    return std::nullopt;
  }
  [[nodiscard]] bool is_done() const noexcept { return state_ == state::done; }
  /// The whole file was received and the sink committed.
  [[nodiscard]] bool is_complete() const noexcept { return state_ != state::request && receiver_.complete(); }
  [[nodiscard]] std::error_code close_reason() const noexcept { return reason_; }
  /// True once the server's first answer (OACK or DATA 1) arrived.
  [[nodiscard]] bool answered() const noexcept { return state_ != state::request && started_; }
  /// True if the server sent an OACK.
  [[nodiscard]] bool got_oack() const noexcept { return got_oack_; }
  [[nodiscard]] negotiated_options const& options() const noexcept { return opts_; }
  [[nodiscard]] session_stats const& stats() const noexcept { return stats_; }
  [[nodiscard]] std::uint64_t bytes_received() const noexcept { return receiver_.bytes_written(); }

 private:
  enum class state : std::uint8_t { request, data, error, done };

  void start(negotiated_options const& n, time_point now, bool oack) noexcept {
    opts_ = n;
    got_oack_ = oack;
    started_ = true;
    auto rto = request_.answered(now, n.timeout_s);
    typename detail::block_receiver<Sink>::config cfg;
    cfg.blksize = n.blksize;
    cfg.window = n.windowsize;
    cfg.mode = cfg_->mode;
    cfg.roll = cfg_->limits.block_rollover;
    cfg.max_retransmits = cfg_->limits.max_retransmits;
    cfg.give_up_after = cfg_->limits.give_up_after;
    cfg.max_size = cfg_->limits.max_receive_size;
    cfg.dally = cfg_->limits.dally;
    receiver_ = detail::block_receiver<Sink>{*sink_, cfg, rto, stats_, oack};
    state_ = state::data;
    check_receiver();
  }
  void check_receiver() noexcept {
    if (receiver_.failed())
      fail(receiver_.error());
    else if (receiver_.done())
      finish({});
  }
  void fail(std::error_code ec) noexcept {
    if (started_)
      receiver_.fail(ec);
    else
      sink_->abort();
    reason_ = ec;
    pending_error_ = ec;
    state_ = state::error;
  }
  void finish(std::error_code ec) noexcept {
    if (!started_ && ec) sink_->abort();
    reason_ = ec;
    state_ = state::done;
  }

  Sink* sink_;
  client_config const* cfg_;
  detail::request_phase request_;
  detail::block_receiver<Sink> receiver_{};
  negotiated_options opts_{};
  session_stats stats_{};
  state state_ = state::request;
  std::error_code reason_{};
  std::error_code pending_error_{};
  std::string_view abort_message_ = "Early terminate";
  bool started_ = false;
  bool got_oack_ = false;
};

/// Uploads `src` as `filename` (WRQ). Waits for an OACK (validated) or ACK 0 (server without
/// options: blksize 512, window 1), then sends like read_session. `filename`, `cfg` and `src`
/// must outlive the session.
template <block_source Source>
class client_writer {
 public:
  client_writer(Source& src, client_config const& cfg, std::string_view filename) noexcept
      : src_{&src}, cfg_{&cfg}, request_{opcode::wrq, filename, cfg, src.size()} {}

  void on_datagram(std::span<const std::byte> in, time_point now) noexcept {
    auto op = parse_opcode(in);
    if (!op) {
      ++stats_.ignored;
      return;
    }
    if (*op == opcode::error) {
      if (state_ == state::request || state_ == state::data) finish(detail::peer_reason(in));
      return;
    }
    if (state_ == state::request) {
      if (*op == opcode::oack) {
        auto o = parse_oack(in);
        auto n = o ? validate_oack(*o, cfg_->options) : result<negotiated_options>{o.error()};
        if (!n) {
          fail(errc::option_refused);
          return;
        }
        start(*n, now);
        return;
      }
      if (*op == opcode::ack) {
        auto a = parse_ack(in);
        if (!a || a->block != 0) {
          ++stats_.ignored;
          return;
        }
        start(negotiated_options{}, now);
        return;
      }
      ++stats_.ignored;
      return;
    }
    if (state_ != state::data || *op != opcode::ack) {
      ++stats_.ignored;
      return;
    }
    auto a = parse_ack(in);
    if (!a) {
      ++stats_.ignored;
      return;
    }
    sender_.on_ack(a->block, now);
    if (sender_.done()) finish({});
  }

  void on_timer(time_point now) noexcept {
    if (state_ == state::request) {
      if (!request_.on_timer(now, stats_)) fail(errc::timed_out);
    } else if (state_ == state::data) {
      sender_.on_timer(now);
      if (sender_.failed()) fail(sender_.error());
    }
  }

  [[nodiscard]] result<std::size_t> poll_transmit(std::span<std::byte> out, time_point now) noexcept {
    switch (state_) {
      case state::request:
        return request_.poll(out, now, stats_);
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
    if (state_ == state::request) return request_.deadline();
    if (state_ == state::data) return sender_.deadline();
    return std::nullopt;
  }
  [[nodiscard]] bool is_done() const noexcept { return state_ == state::done; }
  [[nodiscard]] std::error_code close_reason() const noexcept { return reason_; }
  [[nodiscard]] negotiated_options const& options() const noexcept { return opts_; }
  [[nodiscard]] session_stats const& stats() const noexcept { return stats_; }

 private:
  enum class state : std::uint8_t { request, data, error, done };

  void start(negotiated_options const& n, time_point now) noexcept {
    opts_ = n;
    auto rto = request_.answered(now, n.timeout_s);
    typename detail::block_sender<Source>::config cfg;
    cfg.blksize = n.blksize;
    cfg.window = n.windowsize;
    cfg.mode = cfg_->mode;
    cfg.roll = cfg_->limits.block_rollover;
    cfg.adaptive = cfg_->limits.adaptive_window;
    cfg.max_retransmits = cfg_->limits.max_retransmits;
    cfg.give_up_after = cfg_->limits.give_up_after;
    sender_ = detail::block_sender<Source>{*src_, cfg, rto, stats_};
    state_ = state::data;
    if (sender_.failed()) fail(sender_.error());
  }
  void fail(std::error_code ec) noexcept {
    reason_ = ec;
    pending_error_ = ec;
    state_ = state::error;
  }
  void finish(std::error_code ec) noexcept {
    reason_ = ec;
    state_ = state::done;
  }

  Source* src_;
  client_config const* cfg_;
  detail::request_phase request_;
  detail::block_sender<Source> sender_{};
  negotiated_options opts_{};
  session_stats stats_{};
  state state_ = state::request;
  std::error_code reason_{};
  std::error_code pending_error_{};
};

}  // namespace pinetboot::tftp
