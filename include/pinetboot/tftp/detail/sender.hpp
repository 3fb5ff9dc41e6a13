/// @file
/// @brief The DATA-sending half of a transfer (server RRQ, client WRQ): windowed send
/// (RFC 7440), go-back on timeout or partial ACK, no re-send on duplicate ACKs, adaptive RTO,
/// loss-adaptive paced window, netascii, block rollover.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/detail/block_reader.hpp"
#include "pinetboot/tftp/detail/needless_timeout.hpp"
#include "pinetboot/tftp/detail/send_window.hpp"
#include "pinetboot/tftp/detail/silent_peer.hpp"
#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp::detail {

template <block_source Source>
class block_sender {
 public:
  static constexpr duration pace_credit = std::chrono::microseconds{250};
  struct config {
    std::uint16_t blksize = default_blksize;
    std::uint16_t window = 1;
    transfer_mode mode = transfer_mode::octet;
    rollover roll = rollover::to_zero;
    bool adaptive = true;
    unsigned max_retransmits = 8;
    duration give_up_after{};
  };

  block_sender() noexcept = default;
  /// Allocates the netascii buffers (only for netascii). On allocation failure the sender is
  /// failed() with io_error.
  block_sender(Source& src, config const& cfg, rto_estimator const& rto, session_stats& stats) noexcept
      : cfg_{cfg}, rto_{rto}, stats_{&stats}, retries_{cfg.max_retransmits, cfg.give_up_after} {
    cfg_.window = std::clamp<std::uint16_t>(cfg_.window, 1, max_effective_windowsize);
    cfg_.adaptive = cfg_.adaptive && cfg_.window > 1;  // lockstep has nothing to pace
    window_ = send_window{cfg_.window, cfg_.roll};
    reader_ = block_reader<Source>{src, cfg_.blksize, cfg_.mode, cfg_.window};
    if (!reader_.ok()) fail(errc::io_error);
    publish();
  }

  [[nodiscard]] bool running() const noexcept { return state_ == st::running; }
  [[nodiscard]] bool done() const noexcept { return state_ == st::done; }
  [[nodiscard]] bool failed() const noexcept { return state_ == st::failed; }
  [[nodiscard]] std::error_code error() const noexcept { return error_; }
  [[nodiscard]] rto_estimator const& rto() const noexcept { return rto_; }
  [[nodiscard]] std::uint64_t base() const noexcept { return window_.base(); }
  [[nodiscard]] std::uint64_t next() const noexcept { return window_.next(); }
  [[nodiscard]] std::uint64_t highest_sent() const noexcept { return window_.high(); }
  [[nodiscard]] std::uint64_t last_block() const noexcept { return window_.last(); }
  [[nodiscard]] std::uint16_t window() const noexcept { return cfg_.window; }
  /// The paced rate as blocks per smoothed round trip (the negotiated window when unpaced).
  [[nodiscard]] std::uint16_t effective_window() const noexcept {
    if (gap_ == duration::zero()) return cfg_.window;
    return static_cast<std::uint16_t>(std::clamp<std::int64_t>(rtt_estimate() / gap_, 1, cfg_.window));
  }
  /// Replaces the RTO estimator (the handshake before DATA may have measured the RTT).
  void seed_rto(rto_estimator const& rto) noexcept {
    rto_ = rto;
    publish();
  }

  /// Next DATA packet into `out`, 0 if nothing may be sent now. Errors: buffer_too_small.
  /// A source failure makes failed() true and returns 0.
  [[nodiscard]] result<std::size_t> poll(std::span<std::byte> out, time_point now) noexcept {
    if (!can_send(now)) return std::size_t{0};
    if (out.size() < std::size_t{4} + cfg_.blksize) return errc::buffer_too_small;
    std::uint64_t seq = window_.next();
    auto n = produce(seq, out.subspan(4, cfg_.blksize));
    if (!n) {
      fail(n.error());
      return std::size_t{0};
    }
    (void)write_data_header(out, window_.wire(seq));
    // Within a round, a timer that woke late may catch up with the blocks due by now (up to a
    // quarter millisecond's worth, at least three): the rate decides how fast blocks leave, not
    // how promptly an event loop wakes (tens of microseconds late under load).
    if (pacing()) {
      time_point credit = round_.started ? now - std::max<duration>(3 * gap_, pace_credit) : now;
      next_send_at_ = std::max(next_send_at_, credit) + gap_;
    }
    if (!round_.started) round_ = {true, round_.clean, now, now, 0};
    round_.last = now;
    ++round_.sent;
    ++stats_->blocks;
    bool retransmit = window_.sent();
    if (retransmit)
      ++stats_->retransmits;
    else
      stats_->bytes += *n;
    karn_.sent(seq, retransmit, now);
    // The ACK is due about one RTT after the last block of the window, so the timer runs from
    // the latest transmission (a paced window would otherwise time out while still sending).
    timer_ = now + silent_.timeout(retries_.count(), rto_);
    return 4 + *n;
  }

  /// An ACK with wire number `block`. Duplicates are counted and ignored (no Sorcerer's
  /// Apprentice re-send).
  void on_ack(std::uint16_t block, time_point now) noexcept {
    if (state_ != st::running) return;
    auto s = window_.map_ack(block);
    if (!s) {
      ++stats_->ignored;
      return;
    }
    if (*s + 1 == window_.base()) {
      ++stats_->duplicate_acks;
      judge_timeout(*s);
      if (needless_.proves_needless(*s, now))
        undo_spurious_timeout();
      else if (gap_at_window_start(now))
        go_back();
      return;
    }
    if (auto rtt = karn_.acked(*s, now)) rto_.sample(*rtt);
    needless_.on_progress(*s, now, rto_);
    if (silent_.on_progress(now, retries_.count(), rto_)) ++stats_->silent_peer_waits;
    retries_.progress(now);
    rto_.reset_backoff();
    bool partial = window_.is_partial(*s);
    judge_timeout(*s);
    std::optional<delivery> measured;
    if (cfg_.adaptive && round_.started && round_.clean)
      measured = measure_round(*s + 1 - window_.base(), partial, now);
    round_ = {};
    if (window_.acknowledge(*s)) {
      state_ = st::done;
      timer_.reset();
      publish();
      return;
    }
    if (partial) {
      // RFC 7440: the receiver acknowledged the last block it got in order (gap or its timeout);
      // the next window starts right after it.
      window_.go_back();
      loss_event(measured);  // the loss was in the round this ACK ended
    } else if (measured) {
      speed_up(*measured);
    }
    timer_.reset();
    if (window_.in_flight()) timer_ = now + rto_.rto();
    publish();
  }

  /// Retransmission timer: go back to the first unacknowledged block with a doubled RTO.
  void on_timer(time_point now) noexcept {
    if (state_ != st::running || !timer_ || now < *timer_) return;
    ++stats_->timeouts;
    silent_.on_timeout(now);
    if (retries_.exhausted_by_timeout(now)) {
      fail(errc::timed_out);
      return;
    }
    // Karn's rule drops the timed block's RTT sample, but remember when it was sent: if the
    // peer later ACKs it twice, it had received the first copy and the timeout was needless.
    needless_.on_timeout(karn_.seq(), karn_.sent_at(), now);
    rto_.backoff();
    window_.go_back();
    timer_.reset();
    round_.clean = false;
    std::uint64_t outstanding = window_.outstanding();
    loss_event(std::nullopt);
    if (retries_.count() >= 2) {
      after_timeout_.pending = false;
      slow_down();
    } else {
      after_timeout_ = {true, window_.base(), outstanding};
    }
    publish();
  }

  [[nodiscard]] std::optional<time_point> deadline() const noexcept {
    if (state_ != st::running) return std::nullopt;
    std::optional<time_point> d = timer_;
    if (has_block_to_send() && pacing()) {
      if (!d || next_send_at_ < *d) d = next_send_at_;
    }
    return d;
  }

 private:
  enum class st : std::uint8_t { running, done, failed };
  struct delivery {
    duration received;  // the receiver's spacing of the round's blocks
    bool kept_up;       // no slower than we actually sent them (timers make that the gap or more)
  };

  /// A needless timeout was proven (needless_timeout_detector): the RTO's floor rises above
  /// the late ACK's delay.
  void undo_spurious_timeout() noexcept {
    ++stats_->spurious_timeouts;
    rto_.raise_min(needless_.floor());
    needless_.reset();
    publish();
  }

  /// RFC 7440: a receiver that finds a gap ACKs the last block it got in order. When the very
  /// first block of a window is lost, that ACK repeats the one that opened the window, and
  /// ignoring it (as a duplicate) costs a whole timeout. It is taken as a gap only when it
  /// cannot be an echo: windowed (lockstep keeps RFC 1350's rule against the Sorcerer's
  /// Apprentice), the acknowledged block was never sent twice (two copies get two ACKs), at
  /// least one lowest RTT after the window's first block left (a copy made by the link comes
  /// sooner), and once per round (the go-back starts a new one).
  [[nodiscard]] bool gap_at_window_start(time_point now) const noexcept {
    return cfg_.window > 1 && round_.started && window_.sent_once_below_base() && rto_.has_sample() &&
           now - round_.start >= rto_.base();
  }
  void go_back() noexcept {
    window_.go_back();
    loss_event(std::nullopt);
    round_ = {};
    timer_.reset();
    publish();
  }
  void fail(std::error_code ec) noexcept {
    state_ = st::failed;
    error_ = ec;
    timer_.reset();
  }
  void publish() noexcept {
    stats_->srtt = rto_.srtt();
    stats_->rto = rto_.rto();
    stats_->rto_floor = rto_.min();
    stats_->rtt_peak = rto_.peak();
    stats_->window = effective_window();
  }
  /// Loss-adaptive pacing. A receiver ACKs once per negotiated window, so the sender keeps the
  /// window and spaces its blocks gap_ apart instead (0: the whole window at once). Each round
  /// (from an ACK that moves the window to the next) without a timeout measures how far apart
  /// the receiver got the blocks: the round's time minus the lowest RTT, per block that arrived.
  ///  - A gap in a round that the path delivered slower than we sent it: a queue overflowed.
  ///    Send at the delivered spacing (at most halving the rate at once); it becomes the limit
  ///    above which the rate grows carefully (like TCP's ssthresh).
  ///  - A gap in a round the path kept up with: random loss (a bad cable, a lossy test link),
  ///    which sending slower would not cure. The rate stays, and may grow.
  ///  - A timeout: the first ACK after it tells how much of the window had arrived. Less than
  ///    three quarters (a burst into a full queue), or a second timeout in a row: halve the rate.
  ///  - A round the path kept up with and no queueing in the RTT: double the rate (up to the
  ///    limit, then an eighth more per round). A window that would leave within an eighth of
  ///    the lowest RTT leaves at once.
  /// "Kept up" compares with the spacing the blocks actually left at, not gap_: an event loop
  /// wakes late, and every round would look slow. Lockstep (window 1) is never paced.
  /// BM_WindowUnderLoss (bench/tftp_bench.cpp) compares it with a fixed window.
  void loss_event(std::optional<delivery> measured) noexcept {
    karn_.cancel();
    ++stats_->loss_events;
    // Act at most once per window: losses among the blocks up to the end of the window in
    // which we last reduced belong to the same episode (like NewReno's recovery point).
    if (!cfg_.adaptive || window_.base() <= recover_) return;
    if (measured && !measured->kept_up) {
      // At most half the rate: a gap ACK that the receiver's timer sent late (its first one
      // lost) can look like a slow path.
      set_gap(std::min(measured->received, 2 * gap_ + round_trip() / cfg_.window));
      limit_gap_ = gap_;
      recover_ = std::max(window_.high(), window_.base() + cfg_.window - 1);
    } else if (measured) {
      speed_up(*measured);  // the path kept up: noise, not a queue
    }
  }
  /// Halves the rate (a timeout that lost most of the window, or repeated timeouts).
  void slow_down() noexcept {
    if (!cfg_.adaptive) return;
    duration slower = gap_ == duration::zero() ? 2 * rtt_estimate() / cfg_.window : 2 * gap_;
    set_gap(std::min(slower, rtt_estimate()));  // at least a block per round trip
    recover_ = std::max(window_.high(), window_.base() + cfg_.window - 1);
  }
  /// The first ACK after a timeout tells what the receiver had got by then: most of the window
  /// (only its tail or our ACK was lost, as random loss does) or little (a queue overflowed).
  void judge_timeout(std::uint64_t acked_through) noexcept {
    if (!after_timeout_.pending) return;
    after_timeout_.pending = false;
    std::uint64_t got = acked_through + 1 - after_timeout_.base;
    if (got * 4 < after_timeout_.outstanding * 3) slow_down();
  }
  /// A round ended by an ACK without a timeout in between: `delivered` blocks reached the
  /// receiver in order (on a gap ACK one more arrived, after the lost one, which made the
  /// receiver say so). Their spacing at the receiver is the round's time minus the lowest RTT.
  std::optional<delivery> measure_round(std::uint64_t delivered, bool partial, time_point now) noexcept {
    auto arrived = static_cast<std::int64_t>(delivered + (partial ? 1 : 0));
    // A gap ACK measures the path only when it came at once (not from the receiver's timer)
    // and after enough blocks that one more lost block does not distort the spacing much.
    if (partial && (arrived < 8 || now - round_.last > 2 * rtt_estimate())) return std::nullopt;
    duration spent = now - round_.start - rto_.base();
    duration received = spent > duration::zero() ? spent / arrived : duration::zero();
    duration sent = duration::zero();
    if (round_.sent > 1) sent = (round_.last - round_.start) / static_cast<std::int64_t>(round_.sent - 1);
    return delivery{received, received <= sent + sent / 8};
  }
  /// After a round the path kept up with, and no queue building: send faster.
  void speed_up(delivery d) noexcept {
    if (!cfg_.adaptive || gap_ == duration::zero() || rto_.queueing() || !d.kept_up) return;
    if (limit_gap_ == duration::zero() || gap_ / 2 >= limit_gap_)
      set_gap(gap_ / 2);  // well below the rate at which the path last overflowed
    else if (gap_ > limit_gap_)
      set_gap(limit_gap_);
    else
      set_gap(gap_ - gap_ / 8);  // beyond it, carefully
  }
  [[nodiscard]] duration round_trip() const noexcept { return rto_.has_sample() ? rto_.base() : rto_.min(); }
  [[nodiscard]] duration rtt_estimate() const noexcept {
    return rto_.has_sample() ? rto_.srtt() : rto_.min();
  }
  void set_gap(duration g) noexcept { gap_ = g * cfg_.window <= round_trip() / 8 ? duration::zero() : g; }
  [[nodiscard]] bool has_block_to_send() const noexcept {
    return state_ == st::running && window_.has_block_to_send();
  }
  [[nodiscard]] bool pacing() const noexcept { return cfg_.adaptive && gap_ != duration::zero(); }
  [[nodiscard]] bool can_send(time_point now) const noexcept {
    if (!has_block_to_send()) return false;
    return !pacing() || now >= next_send_at_;
  }

  /// Reads block `seq` into `payload` (blksize bytes); returns its length and notes the last.
  [[nodiscard]] result<std::size_t> produce(std::uint64_t seq, std::span<std::byte> payload) noexcept {
    auto n = reader_.read(seq, payload);
    if (n && *n < cfg_.blksize) window_.set_last(seq);
    return n;
  }

  config cfg_{};
  rto_estimator rto_{};
  session_stats* stats_ = nullptr;
  st state_ = st::running;
  std::error_code error_{};
  send_window window_{};
  std::uint64_t recover_ = 0;
  silent_peer_floor silent_{};
  struct round {
    bool started = false;  // a block was sent since the last ACK that moved the window
    bool clean = true;     // no loss or timeout since that ACK
    time_point start{};    // first send after that ACK
    time_point last{};     // latest send
    std::uint64_t sent = 0;
  } round_{};
  duration gap_{};        // pacing: time between blocks, 0 = the window at once
  duration limit_gap_{};  // the path's rate when a queue last overflowed, 0 = unknown
  struct {
    bool pending = false;
    std::uint64_t base = 0;         // first unacknowledged block at the timeout
    std::uint64_t outstanding = 0;  // blocks sent and unacknowledged then
  } after_timeout_;
  retry_budget retries_{};
  std::optional<time_point> timer_;
  rtt_sampler karn_{};
  needless_timeout_detector needless_{};
  time_point next_send_at_{};
  block_reader<Source> reader_{};
};

}  // namespace pinetboot::tftp::detail
