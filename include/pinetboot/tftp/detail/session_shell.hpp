/// @file
/// @brief session_shell: the lifecycle that all four TFTP engines share (read_session,
/// write_session, client_reader, client_writer): phases, fail()/finish(), the pending ERROR,
/// datagram/timer/poll dispatch, next_deadline, close_reason, ended_normally, stats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"

namespace pinetboot::tftp::detail {

/// The handshake before DATA flows: the client's RRQ/WRQ or the server's OACK, (re)sent with
/// backoff until the peer's first answer. It measures one RTT sample (Karn: only if it was sent
/// once).
class handshake {
 public:
  handshake() noexcept = default;
  /// `due`: there is something to send (a server without accepted options has no handshake).
  handshake(rto_estimator const& rto, retry_budget const& retries, bool due) noexcept
      : rto_{rto}, retries_{retries}, due_{due} {}

  /// Writes the packet with `write(out)` if one is due; 0 otherwise.
  template <class Write>
  [[nodiscard]] result<std::size_t> poll(std::span<std::byte> out, time_point now, Write&& write) noexcept {
    if (!due_) return std::size_t{0};
    result<std::size_t> n = write(out);
    if (!n) return n;
    due_ = false;
    sent_again_ = sent_at_.has_value();
    if (!sent_at_) sent_at_ = now;
    timer_ = now + rto_.rto();
    return n;
  }
  /// The packet of the last poll() was sent before (the session counts it).
  [[nodiscard]] bool sent_again() const noexcept { return sent_again_; }
  /// Timer expiry; false when retries are exhausted.
  [[nodiscard]] bool on_timer(time_point now, session_stats& stats) noexcept {
    if (!timer_ || now < *timer_) return true;
    ++stats.timeouts;
    if (retries_.exhausted_by_timeout(now)) return false;
    rto_.backoff();
    stats.rto = rto_.rto();
    retransmitted_ = true;
    due_ = true;
    timer_.reset();
    return true;
  }
  /// The peer answered: returns `r` with the handshake's RTT sampled into it if the packet was
  /// not retransmitted (Karn).
  [[nodiscard]] rto_estimator answered(time_point now, rto_estimator r) noexcept {
    if (!retransmitted_ && sent_at_) r.sample(now - *sent_at_);
    timer_.reset();
    return r;
  }
  /// The estimator as the handshake left it (backed off by its timeouts).
  [[nodiscard]] rto_estimator const& rto() const noexcept { return rto_; }
  [[nodiscard]] std::optional<time_point> deadline() const noexcept { return timer_; }

 private:
  rto_estimator rto_{};
  retry_budget retries_{};
  std::optional<time_point> timer_;
  std::optional<time_point> sent_at_;
  bool due_ = false;
  bool retransmitted_ = false;
  bool sent_again_ = false;
};

/// Who runs the session: the side decides how a peer's ERROR reads.
enum class side : std::uint8_t { server, client };

/// The shell of one transfer. A server engine builds its role with accept_request() and
/// begin(); the OACK handshake is the shell's. `Derived` adds what is its own:
/// - a client: `write_handshake(out)` (the request; detail::client_shell in client_session.hpp
///   has it) and `on_answer(op, in, now)` (a datagram during the handshake phase; it calls
///   start_data(), fail() or finish());
/// - optionally `on_other(op, in, now) -> bool`: a datagram of the data phase that the role
///   does not take (true if handled, otherwise it counts as ignored);
/// - optionally `write_error_packet(out)`: the ERROR to send after fail();
/// - `static constexpr side kSide` (client_shell gives the clients theirs) and
///   `static constexpr bool kAbortIsNormal` (whether close_reason() == client_aborted counts
///   as a normal end).
/// `Role` is block_sender<Source> (takes ACKs) or block_receiver<Sink> (takes DATA). The role
/// keeps a pointer to stats_, so a session must not be moved once its role is started.
template <class Derived, class Role>
class session_shell {
 public:
  /// A datagram from the peer's TID (the adapter filters other TIDs).
  void on_datagram(std::span<const std::byte> in, time_point now) noexcept {
    heard_ = now;
    auto op = parse_opcode(in);
    if (!op) {
      ++stats_.ignored;
      return;
    }
    if (*op == opcode::error) {
      if (state_ == phase::handshake || state_ == phase::data) on_peer_error(in);
      return;
    }
    if (state_ == phase::handshake) {
      self().on_answer(*op, in, now);
      return;
    }
    if (state_ == phase::data) {
      if (*op == Role::kIncoming) {
        feed_role(in, now);
        return;
      }
      if (self().on_other(*op, in, now)) return;
    }
    ++stats_.ignored;
  }

  /// The timer fired (at or after next_deadline()).
  void on_timer(time_point now) noexcept {
    if (idle_deadline() && now >= *idle_deadline()) {
      fail(errc::peer_silent);  // silent too long (session_limits::idle_timeout)
      return;
    }
    retransmission_timer(now);
  }

  /// Server: the client repeated its request, so it has not seen the first answer (OACK or
  /// DATA 1): resend it now, as the retransmission timer would (which before any RTT sample
  /// runs a whole second, RFC 6298 2.1). The client is alive: the idle timeout restarts.
  void on_repeated_request(time_point now) noexcept {
    heard_ = now;
    if (auto due = retransmission_deadline()) retransmission_timer(*due);
  }

  /// Writes the next packet into `out` (4 + blksize bytes suffice); 0 = nothing to send now.
  /// Errors: buffer_too_small (nothing is lost: call again with a bigger buffer).
  [[nodiscard]] result<std::size_t> poll_transmit(std::span<std::byte> out, time_point now) noexcept {
    if (!heard_) heard_ = now;  // the idle timeout runs from the session's start
    switch (state_) {
      case phase::handshake:
        return counted(
            hs_.poll(out, now, [this](std::span<std::byte> o) { return self().write_handshake(o); }), hs_);
      case phase::data: {
        auto n = role_.poll(out, now);
        if (role_.failed()) {
          fail(role_.error());
          return poll_transmit(out, now);
        }
        return counted(n, role_);
      }
      case phase::error: {
        auto n = self().write_error_packet(out);
        if (!n) return n;
        state_ = phase::done;
        return n;
      }
      case phase::done:
        break;
    }
    return std::size_t{0};
  }

  /// When on_timer() is due next: the handshake's or the role's timer, or the idle timeout.
  [[nodiscard]] std::optional<time_point> next_deadline() const noexcept {
    if (state_ != phase::handshake && state_ != phase::data) return std::nullopt;
    auto d = retransmission_deadline();
    auto idle = idle_deadline();
    if (!d || (idle && *idle < *d)) d = idle;
    return d;
  }
  /// True when nothing more will be sent or expected.
  [[nodiscard]] bool is_done() const noexcept { return state_ == phase::done; }
  /// Empty on success, otherwise why the transfer ended (timed_out, peer_silent, peer_error, the peer's
  /// reason, client_aborted, io_error or the source's/sink's error, bad_option_value, ...).
  [[nodiscard]] std::error_code close_reason() const noexcept { return reason_; }
  /// True if the session is done and close_reason() is success (or, where kAbortIsNormal, a
  /// client abort): nothing to log as a failure.
  [[nodiscard]] bool ended_normally() const noexcept {
    return is_done() &&
           (!reason_ || (Derived::kAbortIsNormal && reason_ == make_error_code(errc::client_aborted)));
  }
  [[nodiscard]] negotiated_options const& options() const noexcept { return opts_; }
  [[nodiscard]] session_stats const& stats() const noexcept { return stats_; }

 protected:
  enum class phase : std::uint8_t { handshake, data, error, done };

  session_shell() noexcept = default;

  // Default hooks, those of a server; Derived may hide them.
  [[nodiscard]] bool on_other(opcode, std::span<const std::byte>, time_point) noexcept { return false; }
  [[nodiscard]] result<std::size_t> write_error_packet(std::span<std::byte> out) noexcept {
    return write_error(out, pending_error_);
  }
  /// The server's handshake: an OACK of what was accepted.
  [[nodiscard]] result<std::size_t> write_handshake(std::span<std::byte> out) noexcept {
    return write_oack(out, opts_);
  }
  /// The OACK is answered by ACK 0 (download) or DATA 1 (upload); anything else is ignored.
  /// The role starts from the OACK's RTT sample (Karn: if the OACK was sent once).
  void on_answer(opcode op, std::span<const std::byte> in, time_point now) noexcept {
    if constexpr (Role::kIncoming == opcode::ack) {
      auto a = op == opcode::ack ? parse_ack(in) : result<ack_view>{errc::bad_opcode};
      if (!a || a->block != 0) {
        ++stats_.ignored;
        return;
      }
      role_.seed_rto(hs_.answered(now, hs_.rto()));
      state_ = phase::data;
    } else {
      auto d = op == opcode::data ? parse_data(in) : result<data_view>{errc::bad_opcode};
      if (!d || d->block != 1) {
        ++stats_.ignored;
        return;
      }
      role_.seed_rto(hs_.answered(now, hs_.rto()));
      state_ = phase::data;
      role_.on_data(d->block, d->payload, now);
      settle();
    }
  }

  /// Server: takes `req` if it is an `op` request whose options negotiate under `lim` (`size`:
  /// the file's, for tsize) into opts_; otherwise fail()s and returns false.
  [[nodiscard]] bool accept_request(request_view const& req, opcode op, negotiation_limits const& lim,
                                    std::optional<std::uint64_t> size) noexcept {
    if (req.op != op) {
      fail(errc::illegal_operation);
      return false;
    }
    auto n = negotiate(req, lim, size);
    if (!n) {
      fail(n.error());
      return false;
    }
    opts_ = *n;
    return true;
  }
  /// Server: runs `role`, built for opts_ with `rto`: the OACK first if any option was accepted,
  /// otherwise data right away.
  void begin(Role&& role, rto_estimator const& rto, session_limits const& lim) noexcept {
    idle_ = lim.idle_timeout;
    role_ = static_cast<Role&&>(role);
    started_ = true;
    if (role_.failed()) {
      fail(role_.error());
      return;
    }
    hs_ = handshake{rto, make_retry_budget(lim), opts_.any()};
    state_ = opts_.any() ? phase::handshake : phase::data;
  }

  /// Client: the request goes first, on `schedule`, then the data phase with a role on `io`;
  /// `idle`: session_limits::idle_timeout.
  void begin_request(typename Role::endpoint& io, handshake const& schedule, duration idle) noexcept {
    idle_ = idle;
    io_ = &io;
    hs_ = schedule;
    state_ = phase::handshake;
  }
  /// Starts the data phase with `role` (which points at stats_).
  void start_data(Role&& role) noexcept {
    role_ = static_cast<Role&&>(role);
    started_ = true;
    state_ = phase::data;
    settle();
  }
  /// Ends with an ERROR to the peer (sent by the next poll_transmit).
  void fail(std::error_code ec) noexcept {
    close_role(ec);
    reason_ = ec;
    pending_error_ = ec;
    state_ = phase::error;
  }
  /// Ends without sending anything more.
  void finish(std::error_code ec) noexcept {
    close_role(ec);
    reason_ = ec;
    state_ = phase::done;
  }
  /// After the role acted: its failure or its end is the session's.
  void settle() noexcept {
    if (role_.failed())
      fail(role_.error());
    else if (role_.done())
      finish({});
  }

  Role role_{};
  handshake hs_{};
  negotiated_options opts_{};
  session_stats stats_{};
  phase state_ = phase::done;
  std::error_code reason_{};
  std::error_code pending_error_{};
  /// The role was built (role_ is live): a receiver's sink is then its to abort.
  bool started_ = false;
  /// What the role reads or writes; a receiver aborts it itself once started.
  typename Role::endpoint* io_ = nullptr;
  /// session_limits::idle_timeout (0 = none) and when the peer was last heard from (or the
  /// session started: its first poll_transmit).
  duration idle_{};
  std::optional<time_point> heard_;

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }

  /// The handshake's or the role's timer (what on_timer() resends on).
  [[nodiscard]] std::optional<time_point> retransmission_deadline() const noexcept {
    if (state_ == phase::handshake) return hs_.deadline();
    if (state_ == phase::data) return role_.deadline();
    return std::nullopt;
  }

  void retransmission_timer(time_point now) noexcept {
    if (state_ == phase::handshake) {
      if (!hs_.on_timer(now, stats_)) fail(errc::timed_out);
    } else if (state_ == phase::data) {
      role_.on_timer(now);
      settle();
    }
  }

  [[nodiscard]] std::optional<time_point> idle_deadline() const noexcept {
    if (idle_ <= duration::zero() || !heard_ || (state_ != phase::handshake && state_ != phase::data))
      return std::nullopt;
    return *heard_ + idle_;
  }

  /// The one place that counts retransmits: a packet sent again by the handshake or the role.
  template <class Part>
  [[nodiscard]] result<std::size_t> counted(result<std::size_t> n, Part const& part) noexcept {
    if (n && *n > 0 && part.sent_again()) ++stats_.retransmits;
    return n;
  }

  void feed_role(std::span<const std::byte> in, time_point now) noexcept {
    if constexpr (Role::kIncoming == opcode::ack) {
      auto a = parse_ack(in);
      if (!a) {
        ++stats_.ignored;
        return;
      }
      role_.on_ack(a->block, now);
    } else {
      auto d = parse_data(in);
      if (!d) {
        ++stats_.ignored;
        return;
      }
      role_.on_data(d->block, d->payload, now);
    }
    settle();
  }

  /// ERROR from the peer. A server reads ERROR 0 or 8 as the client giving up (UEFI tsize probe,
  /// Pi "Early terminate"); a client takes the server's code. A receiver that already has the
  /// whole file ends successfully.
  void on_peer_error(std::span<const std::byte> in) noexcept {
    auto e = parse_error(in);
    auto code = e ? e->code : error_code_wire::not_defined;
    std::error_code why;
    if constexpr (Derived::kSide == side::server) {
      why = code == error_code_wire::not_defined || code == error_code_wire::option_negotiation
                ? errc::client_aborted
                : errc::peer_error;
    } else {
      why = e ? from_wire(e->code) : errc::peer_error;
    }
    if constexpr (Role::kIncoming == opcode::data) {
      if (started_) {
        bool was_complete = role_.complete();
        role_.fail(errc::peer_error);
        if (was_complete) why = {};
      }
    }
    finish(why);
  }

  /// A receiver's sink must not keep a partial file: the role aborts it once started, the
  /// shell before that.
  void close_role(std::error_code ec) noexcept {
    if constexpr (Role::kIncoming == opcode::data) {
      if (started_)
        role_.fail(ec);  // aborts the sink unless already ended
      else if (ec && io_ != nullptr)
        io_->abort();
    }
  }
};

}  // namespace pinetboot::tftp::detail
