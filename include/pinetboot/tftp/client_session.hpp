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
#include "pinetboot/tftp/detail/session_shell.hpp"
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
/// What both clients add to the shell: the request as their handshake, the check of the
/// server's OACK, and the RTO their data phase starts from.
template <class Derived, class Role>
class client_shell : public session_shell<Derived, Role> {
 public:
  static constexpr side kSide = side::client;

 protected:
  /// `filename` and `cfg` must outlive the session; `tsize`: what a WRQ announces (0: none).
  client_shell(typename Role::endpoint& io, client_config const& cfg, opcode op, std::string_view filename,
               std::uint64_t tsize) noexcept
      : cfg_{&cfg}, op_{op}, filename_{filename}, tsize_{tsize} {
    // The request is re-sent on an RTO bounded by the timeout asked for.
    this->begin_request(io, handshake{make_rto(cfg.limits, cfg.options.timeout_s.value_or(0)),
                                      make_retry_budget(cfg.limits), true},
                        cfg.limits.idle_timeout);
  }

  [[nodiscard]] result<std::size_t> write_handshake(std::span<std::byte> out) const noexcept {
    return write_request(out, op_, filename_, this->cfg_->mode, this->cfg_->options, tsize_);
  }
  /// The server's OACK, checked against what was asked; an unrequested or raised option (or a
  /// malformed OACK) fail()s the session with option_refused and gives nullopt.
  [[nodiscard]] std::optional<negotiated_options> take_oack(std::span<const std::byte> in) noexcept {
    auto o = parse_oack(in);
    auto n = o ? validate_oack(*o, this->cfg_->options) : result<negotiated_options>{o.error()};
    if (!n) {
      this->fail(errc::option_refused);
      return std::nullopt;
    }
    return *n;
  }
  /// The server answered with `n`: the data phase's RTO, bounded by the negotiated timeout and
  /// seeded with the request's RTT if it was sent once (Karn).
  [[nodiscard]] rto_estimator start_rto(negotiated_options const& n, time_point now) noexcept {
    this->opts_ = n;
    return this->hs_.answered(now, make_rto(this->cfg_->limits, n.timeout_s));
  }

  client_config const* cfg_;

 private:
  opcode op_;
  std::string_view filename_;
  std::uint64_t tsize_;
};
}  // namespace detail

/// Downloads `filename` (RRQ) into `sink`. Accepts an OACK (validated against what was asked:
/// an unrequested or raised option -> ERROR 8, option_refused) or, from servers without option
/// support, DATA 1 directly (falls back to blksize 512, window 1). Rejects a tsize above
/// limits.max_receive_size (disk_full). `filename` and `cfg` must outlive the session.
template <block_sink Sink>
class client_reader : public detail::client_shell<client_reader<Sink>, detail::block_receiver<Sink>> {
  using base = detail::client_shell<client_reader<Sink>, detail::block_receiver<Sink>>;
  using shell = detail::session_shell<client_reader<Sink>, detail::block_receiver<Sink>>;
  friend shell;

 public:
  /// The reader's own abort (a probe) is a normal end.
  static constexpr bool kAbortIsNormal = true;

  client_reader(Sink& sink, client_config const& cfg, std::string_view filename) noexcept
      : base{sink, cfg, opcode::rrq, filename, 0} {}

  /// Gives up on purpose (e.g. an existence probe): sends ERROR 0 `message`, aborts the sink,
  /// close_reason() = client_aborted.
  void abort(std::string_view message = "Early terminate") noexcept {
    if (this->state_ == shell::phase::done || this->state_ == shell::phase::error) return;
    abort_message_ = message;
    this->fail(errc::client_aborted);
  }

  /// The whole file was received and the sink committed.
  [[nodiscard]] bool is_complete() const noexcept {
    return this->state_ != shell::phase::handshake && this->role_.complete();
  }
  /// True once the server's first answer (OACK or DATA 1) arrived.
  [[nodiscard]] bool answered() const noexcept {
    return this->state_ != shell::phase::handshake && this->started_;
  }
  /// True if the server sent an OACK.
  [[nodiscard]] bool got_oack() const noexcept { return got_oack_; }
  [[nodiscard]] std::uint64_t bytes_received() const noexcept { return this->role_.bytes_written(); }

 private:
  [[nodiscard]] result<std::size_t> write_error_packet(std::span<std::byte> out) const noexcept {
    if (this->pending_error_ == make_error_code(errc::client_aborted))
      return write_error(out, error_code_wire::not_defined, abort_message_);
    return write_error(out, this->pending_error_);
  }
  void on_answer(opcode op, std::span<const std::byte> in, time_point now) noexcept {
    if (op == opcode::oack) {
      auto n = this->take_oack(in);
      if (!n) return;
      if (n->has(option_flag::tsize) && n->tsize > this->cfg_->limits.max_receive_size) {
        this->fail(errc::disk_full);
        return;
      }
      start(*n, now, true);
      if (this->cfg_->probe) abort();
      return;
    }
    if (op == opcode::data) {
      auto d = parse_data(in);
      if (!d || d->block != 1) {
        ++this->stats_.ignored;
        return;
      }
      start(negotiated_options{}, now, false);
      if (this->cfg_->probe) {
        abort();
        return;
      }
      this->role_.on_data(d->block, d->payload, now);
      this->settle();
      return;
    }
    ++this->stats_.ignored;
  }
  [[nodiscard]] bool on_other(opcode op, std::span<const std::byte>, time_point) noexcept {
    if (op != opcode::oack) return false;
    if (this->role_.expected() == 1) this->role_.request_ack();  // our ACK 0 was lost
    return true;
  }

  void start(negotiated_options const& n, time_point now, bool oack) noexcept {
    got_oack_ = oack;
    auto rto = this->start_rto(n, now);
    auto cfg = detail::block_receiver<Sink>::config::from(n, this->cfg_->mode, this->cfg_->limits,
                                                          this->cfg_->limits.max_receive_size);
    this->start_data(detail::block_receiver<Sink>{*this->io_, cfg, rto, this->stats_, oack});
  }

  std::string_view abort_message_ = "Early terminate";
  bool got_oack_ = false;
};

/// Uploads `src` as `filename` (WRQ). Waits for an OACK (validated) or ACK 0 (server without
/// options: blksize 512, window 1), then sends like read_session. `filename`, `cfg` and `src`
/// must outlive the session.
template <block_source Source>
class client_writer : public detail::client_shell<client_writer<Source>, detail::block_sender<Source>> {
  using base = detail::client_shell<client_writer<Source>, detail::block_sender<Source>>;
  using shell = detail::session_shell<client_writer<Source>, detail::block_sender<Source>>;
  friend shell;

 public:
  static constexpr bool kAbortIsNormal = false;

  client_writer(Source& src, client_config const& cfg, std::string_view filename) noexcept
      : base{src, cfg, opcode::wrq, filename, src.size()} {}

 private:
  void on_answer(opcode op, std::span<const std::byte> in, time_point now) noexcept {
    if (op == opcode::oack) {
      auto n = this->take_oack(in);
      if (!n) return;
      start(*n, now);
      return;
    }
    if (op == opcode::ack) {
      auto a = parse_ack(in);
      if (!a || a->block != 0) {
        ++this->stats_.ignored;
        return;
      }
      start(negotiated_options{}, now);
      return;
    }
    ++this->stats_.ignored;
  }

  void start(negotiated_options const& n, time_point now) noexcept {
    auto rto = this->start_rto(n, now);
    auto cfg = detail::block_sender<Source>::config::from(n, this->cfg_->mode, this->cfg_->limits);
    this->start_data(detail::block_sender<Source>{*this->io_, cfg, rto, this->stats_});
  }
};

}  // namespace pinetboot::tftp
