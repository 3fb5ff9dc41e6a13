/// @file
/// @brief The sender's window bookkeeping (RFC 7440): which blocks are acknowledged, sent and
/// outstanding, in 64-bit sequence numbers, and their 16-bit wire numbers across rollover.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "pinetboot/tftp/detail/blocks.hpp"
#include "pinetboot/tftp/session.hpp"

namespace pinetboot::tftp::detail {

/// Sequence numbers start at 1 (the first DATA block); 0 is the request/OACK acknowledgement.
/// No clock, no I/O: block_sender asks it what to send and tells it what was sent and ACKed.
class send_window {
 public:
  constexpr send_window() noexcept = default;
  /// `window` blocks may be outstanding (at least 1).
  constexpr send_window(std::uint16_t window, rollover roll) noexcept
      : numbering_{roll}, window_{std::max<std::uint16_t>(window, 1)} {}

  /// First unacknowledged block.
  [[nodiscard]] constexpr std::uint64_t base() const noexcept { return base_; }
  /// Next block to send.
  [[nodiscard]] constexpr std::uint64_t next() const noexcept { return next_; }
  /// Highest block ever sent (0 before the first).
  [[nodiscard]] constexpr std::uint64_t high() const noexcept { return high_; }
  /// Final (short) block, 0 until it was read.
  [[nodiscard]] constexpr std::uint64_t last() const noexcept { return last_; }
  [[nodiscard]] constexpr std::uint16_t size() const noexcept { return window_; }
  /// Blocks sent at least once and not acknowledged.
  [[nodiscard]] constexpr std::uint64_t outstanding() const noexcept { return high_ + 1 - base_; }
  /// True when block `base() - 1` (the one a duplicate ACK names) was never sent twice: two
  /// copies get two ACKs, so only then can a repeated ACK of it not be an echo.
  [[nodiscard]] constexpr bool sent_once_below_base() const noexcept { return base_ - 1 >= resent_mark_; }

  /// The 16-bit block number of `seq` on the wire.
  [[nodiscard]] constexpr std::uint16_t wire(std::uint64_t seq) const noexcept {
    return numbering_.wire(seq);
  }
  /// The sequence number an ACK of wire number `block` names: the highest one sent with that
  /// number. nullopt when it names none, or one below base() - 1 (older than any duplicate).
  [[nodiscard]] constexpr std::optional<std::uint64_t> map_ack(std::uint16_t block) const noexcept {
    auto s = numbering_.at_or_below(high_, block);
    if (!s || *s + 1 < base_) return std::nullopt;
    return s;
  }

  /// A block may be sent: the final one is not yet behind next(), and the window has room.
  [[nodiscard]] constexpr bool has_block_to_send() const noexcept {
    return (last_ == 0 || next_ <= last_) && next_ < base_ + window_;
  }
  /// Block next() left; true when it had been sent before (a retransmission).
  constexpr bool sent() noexcept {
    std::uint64_t seq = next_++;
    if (seq <= high_) {
      resent_mark_ = std::max(resent_mark_, seq + 1);
      return true;
    }
    high_ = seq;
    return false;
  }
  /// Block `seq` is the final one (shorter than blksize).
  constexpr void set_last(std::uint64_t seq) noexcept { last_ = seq; }
  /// Everything up to `acked` arrived. True when that was the final block.
  constexpr bool acknowledge(std::uint64_t acked) noexcept {
    base_ = acked + 1;
    if (next_ < base_) next_ = base_;
    return last_ != 0 && acked >= last_;
  }
  /// The ACK of `acked` left blocks sent after it unacknowledged (a gap, RFC 7440).
  [[nodiscard]] constexpr bool is_partial(std::uint64_t acked) const noexcept { return acked + 1 < next_; }
  /// Sends again from the first unacknowledged block.
  constexpr void go_back() noexcept { next_ = base_; }
  /// Blocks were sent and are not acknowledged.
  [[nodiscard]] constexpr bool in_flight() const noexcept { return base_ < next_; }

 private:
  block_numbering numbering_{};
  std::uint16_t window_ = 1;
  std::uint64_t base_ = 1;
  std::uint64_t next_ = 1;
  std::uint64_t high_ = 0;
  std::uint64_t last_ = 0;
  std::uint64_t resent_mark_ = 0;  // one past the highest block sent more than once
};

}  // namespace pinetboot::tftp::detail
