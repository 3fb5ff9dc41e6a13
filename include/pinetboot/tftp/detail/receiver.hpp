/// @file
/// @brief The DATA-receiving half of a transfer (server WRQ, client RRQ): in-order delivery to a
/// block_sink, ACK at the end of each window, on the final block, on a gap, on a duplicate (once
/// per burst) and on timeout; commit only after the final block, abort otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/detail/blocks.hpp"
#include "pinetboot/tftp/detail/netascii.hpp"
#include "pinetboot/tftp/detail/rto.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp::detail {

template <block_sink Sink>
class block_receiver {
 public:
  /// What the peer sends this role during the data phase.
  static constexpr opcode kIncoming = opcode::data;
  using endpoint = Sink;
  struct config {
    std::uint16_t blksize = default_blksize;
    std::uint16_t window = 1;
    transfer_mode mode = transfer_mode::octet;
    rollover roll = rollover::to_zero;
    unsigned max_retransmits = 8;
    duration give_up_after{};
    std::uint64_t max_size = UINT64_MAX;
    duration dally{std::chrono::seconds{2}};

    /// What a transfer with the options `n` in `mode` under `lim` needs, at most `max_size`
    /// bytes.
    [[nodiscard]] static config from(negotiated_options const& n, transfer_mode mode,
                                     session_limits const& lim, std::uint64_t max_size) noexcept {
      return config{.blksize = n.blksize,
                    .window = n.windowsize,
                    .mode = mode,
                    .roll = lim.block_rollover,
                    .max_retransmits = lim.max_retransmits,
                    .give_up_after = lim.give_up_after,
                    .max_size = max_size,
                    .dally = lim.dally};
    }
  };

  block_receiver() noexcept = default;
  /// `ack_first`: start by acknowledging block 0 (no OACK was sent/received before).
  block_receiver(Sink& sink, config const& cfg, rto_estimator const& rto, session_stats& stats,
                 bool ack_first) noexcept
      : sink_{&sink}, cfg_{cfg}, numbering_{cfg.roll}, rto_{rto}, stats_{&stats},
        ack_due_{ack_first}, retries_{cfg.max_retransmits, cfg.give_up_after} {
    if (cfg_.window < 1) cfg_.window = 1;
    if (cfg_.mode == transfer_mode::netascii) {
      scratch_.reset(detail::try_new<std::byte>(std::size_t{cfg_.blksize} + 1));
      if (!scratch_) fail(errc::io_error);
    }
    stats_->rto = rto_.rto();
  }

  [[nodiscard]] bool running() const noexcept { return state_ == st::running; }
  /// All data received and committed (the final ACK may still need repeating: dallying).
  [[nodiscard]] bool complete() const noexcept { return state_ == st::complete || state_ == st::done; }
  [[nodiscard]] bool done() const noexcept { return state_ == st::done; }
  [[nodiscard]] bool failed() const noexcept { return state_ == st::failed; }
  [[nodiscard]] std::error_code error() const noexcept { return error_; }
  [[nodiscard]] std::uint64_t expected() const noexcept { return expected_; }
  [[nodiscard]] std::uint64_t bytes_written() const noexcept { return out_off_; }

  /// Replaces the RTO estimator (the handshake before DATA may have measured the RTT).
  void seed_rto(rto_estimator const& rto) noexcept {
    rto_ = rto;
    publish_rtt();
  }

  /// Requests an ACK of the last in-order block (e.g. a repeated OACK means ACK 0 was lost).
  void request_ack() noexcept {
    if (state_ == st::running || state_ == st::complete) ack_due_ = true;
  }

  /// A DATA packet. Errors end the transfer (failed(), sink aborted): illegal_operation (payload
  /// larger than blksize), disk_full (over max_size), or the sink's error.
  void on_data(std::uint16_t block, std::span<const std::byte> payload, time_point now) noexcept {
    if (state_ == st::complete) {
      // The sender missed our final ACK and repeats the final block.
      if (numbering_.wire(expected_ - 1) == block) ack_due_ = true;
      return;
    }
    if (state_ != st::running) return;
    if (payload.size() > cfg_.blksize) {
      fail(errc::illegal_operation);
      return;
    }
    if (cfg_.roll == rollover::to_zero && (expected_ & 0xffffU) == 0 && block == 1) {
      // At the wrap point a sender that rolls over to 1 skips block number 0. In lock-step that
      // is unambiguous; with a window, block 0 may just have been lost, so wait for a second
      // sighting (the sender's go-back repeats it) before switching.
      if (cfg_.window == 1 || ++wrap_to_one_hints_ >= 2) {
        cfg_.roll = rollover::to_one;
        numbering_ = block_numbering{rollover::to_one};
      }
    }
    auto s = numbering_.nearest(expected_, block);
    if (!s) {
      ++stats_->ignored;
      return;
    }
    // Out of order: answer once per burst, where a burst is a run of blocks in increasing
    // order (the sender's go-back starts a new one). Lockstep, that is every repeat, as RFC 1350
    // receivers do; with a window, one ACK per repeated window, not one per block.
    if (*s > expected_) {  // gap: say where we are, the sender restarts the window there
      ++stats_->ignored;
      if (!gap_acked_ || *s <= last_gap_) {
        gap_acked_ = true;
        ++stats_->loss_events;
        ack_due_ = true;
      }
      last_gap_ = *s;
      return;
    }
    if (*s < expected_) {  // duplicate: our ACK was probably lost (or late)
      ++stats_->ignored;
      ++stats_->duplicate_blocks;
      if (!dup_acked_ || *s <= last_dup_) {
        dup_acked_ = true;
        ack_due_ = true;
      }
      last_dup_ = *s;
      return;
    }
    if (ack_timed_) {
      rto_.sample(now - ack_sent_at_);
      ack_timed_ = false;
      publish_rtt();
    }
    bool final_block = payload.size() < cfg_.blksize;
    if (auto ec = deliver(payload, final_block)) {
      fail(ec);
      return;
    }
    ++expected_;
    ++in_window_;
    ++stats_->blocks;
    stats_->bytes += payload.size();
    retries_.progress(now);
    rto_.reset_backoff();
    gap_acked_ = dup_acked_ = false;
    timer_ = now + rto_.rto();
    if (final_block) {
      if (auto ec = sink_->commit()) {
        state_ = st::failed;  // commit failed: nothing to abort any more
        error_ = ec;
        timer_.reset();
        return;
      }
      state_ = st::complete;
      ack_due_ = true;
    } else if (in_window_ >= cfg_.window) {
      ack_due_ = true;
    }
  }

  /// The pending ACK, or 0. Errors: buffer_too_small.
  [[nodiscard]] result<std::size_t> poll(std::span<std::byte> out, time_point now) noexcept {
    if (!ack_due_ || (state_ != st::running && state_ != st::complete)) return std::size_t{0};
    auto n = write_ack(out, numbering_.wire(expected_ - 1));
    if (!n) return n;
    ack_due_ = false;
    sent_again_ = ack_retransmit_;
    ack_retransmit_ = false;
    in_window_ = 0;  // RFC 7440: the sender starts a new window after the block we acknowledge
    if (state_ == st::complete) {
      if (!dally_until_) dally_until_ = now + cfg_.dally;
      timer_.reset();
    } else {
      timer_ = now + rto_.rto();
      if (!sent_again_) {
        ack_sent_at_ = now;
        ack_timed_ = true;
      }
    }
    return n;
  }
  /// The ACK of the last poll() repeated one because of a timeout (the session counts it).
  [[nodiscard]] bool sent_again() const noexcept { return sent_again_; }

  /// Timeout: repeat the last ACK (RFC 7440 receiver timeout) with backoff; ends dallying.
  void on_timer(time_point now) noexcept {
    if (state_ == st::complete) {
      if (dally_until_ && now >= *dally_until_) state_ = st::done;
      return;
    }
    if (state_ != st::running || !timer_ || now < *timer_) return;
    ++stats_->timeouts;
    if (retries_.exhausted_by_timeout(now)) {
      fail(errc::timed_out);
      return;
    }
    rto_.backoff();
    stats_->rto = rto_.rto();
    ack_due_ = true;
    ack_retransmit_ = true;
    ack_timed_ = false;
    gap_acked_ = dup_acked_ = false;
    timer_.reset();
  }

  [[nodiscard]] std::optional<time_point> deadline() const noexcept {
    if (state_ == st::complete) return dally_until_;
    if (state_ != st::running) return std::nullopt;
    return timer_;
  }

  /// Ends the transfer locally (e.g. the peer sent ERROR): aborts the sink.
  void fail(std::error_code ec) noexcept {
    if (state_ == st::failed || state_ == st::done) return;
    if (state_ == st::running && sink_ != nullptr) sink_->abort();
    if (state_ == st::complete) {
      state_ = st::done;
      return;
    }
    state_ = st::failed;
    error_ = ec;
    timer_.reset();
    ack_due_ = false;
  }

 private:
  enum class st : std::uint8_t { running, complete, done, failed };

  /// The estimator's figures into the session's statistics.
  void publish_rtt() noexcept {
    stats_->srtt = rto_.srtt();
    stats_->rttvar = rto_.rttvar();
    stats_->measured = rto_.has_sample();
    stats_->rto = rto_.rto();
  }

  [[nodiscard]] std::error_code deliver(std::span<const std::byte> payload, bool final_block) noexcept {
    std::span<const std::byte> data = payload;
    if (cfg_.mode == transfer_mode::netascii) {
      std::span<std::byte> scratch{scratch_.get(), std::size_t{cfg_.blksize} + 1};
      std::size_t n = netascii_decode(pending_cr_, payload, scratch);
      if (final_block && pending_cr_) {
        scratch[n++] = std::byte{'\r'};
        pending_cr_ = false;
      }
      data = scratch.first(n);
    }
    if (data.size() > cfg_.max_size || out_off_ > cfg_.max_size - data.size()) return errc::disk_full;
    if (data.empty()) return {};
    auto r = sink_->write_at(out_off_, data);
    if (!r) return r.error();
    if (*r != data.size()) return errc::io_error;
    out_off_ += data.size();
    return {};
  }

  Sink* sink_ = nullptr;
  config cfg_{};
  block_numbering numbering_{};
  rto_estimator rto_{};
  session_stats* stats_ = nullptr;
  st state_ = st::running;
  std::error_code error_{};
  std::uint64_t expected_ = 1;
  std::uint64_t out_off_ = 0;
  std::uint16_t in_window_ = 0;
  bool ack_due_ = false;
  bool ack_retransmit_ = false;
  bool sent_again_ = false;
  bool ack_timed_ = false;
  bool gap_acked_ = false;
  bool dup_acked_ = false;
  bool pending_cr_ = false;
  std::uint64_t last_dup_ = 0;  // latest duplicate block seen (burst detection)
  std::uint64_t last_gap_ = 0;  // latest block seen beyond a gap
  retry_budget retries_{};
  unsigned wrap_to_one_hints_ = 0;
  std::optional<time_point> timer_;
  std::optional<time_point> dally_until_;
  time_point ack_sent_at_{};
  std::unique_ptr<std::byte[]> scratch_;
};

}  // namespace pinetboot::tftp::detail
