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
#include "pinetboot/tftp/detail/pacer.hpp"
#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/detail/send_window.hpp"
#include "pinetboot/tftp/detail/silent_peer.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp::detail {

template <block_source Source>
class block_sender {
 public:
  /// What the peer sends this role during the data phase.
  static constexpr opcode kIncoming = opcode::ack;
  using endpoint = Source;
  /// DATA header before the payload: opcode and block number (RFC 1350).
  static constexpr std::size_t kDataHeader = 4;
  struct config {
    std::uint16_t blksize = default_blksize;
    std::uint16_t window = 1;
    transfer_mode mode = transfer_mode::octet;
    rollover roll = rollover::to_zero;
    bool adaptive = true;
    unsigned max_retransmits = 8;
    duration give_up_after{};

    /// What a transfer with the options `n` in `mode` under `lim` needs.
    [[nodiscard]] static config from(negotiated_options const& n, transfer_mode mode,
                                     session_limits const& lim) noexcept {
      return config{.blksize = n.blksize,
                    .window = n.windowsize,
                    .mode = mode,
                    .roll = lim.block_rollover,
                    .adaptive = lim.adaptive_window,
                    .max_retransmits = lim.max_retransmits,
                    .give_up_after = lim.give_up_after};
    }
  };

  block_sender() noexcept = default;
  /// Allocates the netascii buffers (only for netascii). On allocation failure the sender is
  /// failed() with io_error.
  block_sender(Source& src, config const& cfg, rto_estimator const& rto, session_stats& stats) noexcept
      : cfg_{cfg}, rto_{rto}, stats_{&stats}, retries_{cfg.max_retransmits, cfg.give_up_after} {
    cfg_.window = std::clamp<std::uint16_t>(cfg_.window, 1, max_effective_windowsize);
    cfg_.adaptive = cfg_.adaptive && cfg_.window > 1;  // lockstep has nothing to pace
    window_ = send_window{cfg_.window, cfg_.roll};
    pacer_ = window_pacer{cfg_.window, cfg_.adaptive};
    needless_ = needless_timeout_detector{cfg_.window == 1};
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
  [[nodiscard]] std::uint16_t effective_window() const noexcept { return pacer_.effective_window(rto_); }
  /// Replaces the RTO estimator (the handshake before DATA may have measured the RTT).
  void seed_rto(rto_estimator const& rto) noexcept {
    rto_ = rto;
    publish();
  }

  /// Next DATA packet into `out`, 0 if nothing may be sent now. Errors: buffer_too_small.
  /// A source failure makes failed() true and returns 0.
  [[nodiscard]] result<std::size_t> poll(std::span<std::byte> out, time_point now) noexcept {
    if (!can_send(now)) return std::size_t{0};
    if (out.size() < kDataHeader + cfg_.blksize) return errc::buffer_too_small;
    std::uint64_t seq = window_.next();
    auto n = produce(seq, out.subspan(kDataHeader, cfg_.blksize));
    if (!n) {
      fail(n.error());
      return std::size_t{0};
    }
    (void)write_data_header(out, window_.wire(seq));
    pacer_.on_send(now);
    ++stats_->blocks;
    sent_again_ = window_.sent();
    if (!sent_again_) stats_->bytes += *n;
    karn_.sent(seq, sent_again_, now);
    // The ACK is due about one RTT after the last block of the window, so the timer runs from
    // the latest transmission (a paced window would otherwise time out while still sending).
    timer_ = now + silent_.timeout(retries_.count(), rto_);
    last_sent_ = now;
    return kDataHeader + *n;
  }

  /// The DATA of the last poll() was a block sent before (the session counts it).
  [[nodiscard]] bool sent_again() const noexcept { return sent_again_; }

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
      pacer_.judge_timeout(*s, window_.base(), window_.high(), rto_);
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
    pacer_.judge_timeout(*s, window_.base(), window_.high(), rto_);
    std::optional<delivery> measured = pacer_.end_round(*s + 1 - window_.base(), partial, now, rto_);
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
      pacer_.on_clean_round(*measured, rto_);
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
    loss_event(std::nullopt);
    pacer_.on_timeout(retries_.count(), window_.base(), window_.high(), rto_);
    publish();
  }

  [[nodiscard]] std::optional<time_point> deadline() const noexcept {
    if (state_ != st::running) return std::nullopt;
    std::optional<time_point> d = timer_;
    if (has_block_to_send() && pacer_.pacing()) {
      if (!d || pacer_.next_send_at() < *d) d = pacer_.next_send_at();
    }
    return d;
  }

 private:
  enum class st : std::uint8_t { running, done, failed };

  /// A needless timeout was proven (needless_timeout_detector): the RTO's floor rises above
  /// the late ACK's delay, and so does the timer of what is in flight now. That block left with
  /// the old RTO, behind the copy the slow peer handles first, so its ACK is one more
  /// processing delay late: the old deadline would fire a second needless timeout.
  void undo_spurious_timeout() noexcept {
    ++stats_->spurious_timeouts;
    rto_.raise_min(needless_.floor());
    needless_.reset();
    if (timer_) timer_ = std::max(*timer_, last_sent_ + rto_.rto());
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
    return cfg_.window > 1 && pacer_.round_started() && window_.sent_once_below_base() && rto_.has_sample() &&
           now - pacer_.round_start() >= rto_.base();
  }
  void go_back() noexcept {
    window_.go_back();
    loss_event(std::nullopt);
    pacer_.abandon_round();
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
    stats_->rttvar = rto_.rttvar();
    stats_->measured = rto_.has_sample();
    stats_->rto = rto_.rto();
    stats_->rto_floor = rto_.min();
    stats_->rtt_peak = rto_.peak();
    stats_->window = effective_window();
  }
  /// A loss: the timed block will be sent again, and the pacer (window_pacer) may slow down.
  void loss_event(std::optional<delivery> measured) noexcept {
    karn_.cancel();
    ++stats_->loss_events;
    pacer_.on_loss(measured, window_.base(), window_.high(), rto_);
  }
  [[nodiscard]] bool has_block_to_send() const noexcept {
    return state_ == st::running && window_.has_block_to_send();
  }
  [[nodiscard]] bool can_send(time_point now) const noexcept {
    return has_block_to_send() && pacer_.may_send(now);
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
  bool sent_again_ = false;
  std::error_code error_{};
  send_window window_{};
  window_pacer pacer_{};
  silent_peer_floor silent_{};
  retry_budget retries_{};
  std::optional<time_point> timer_;
  time_point last_sent_{};  // the latest DATA transmission
  rtt_sampler karn_{};
  needless_timeout_detector needless_{};
  block_reader<Source> reader_{};
};

}  // namespace pinetboot::tftp::detail
