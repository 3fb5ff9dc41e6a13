/// @file
/// @brief Mapping between 64-bit block sequence numbers (1, 2, ...) and 16-bit wire block numbers
/// with rollover to 0 or to 1.
#pragma once

#include <cstdint>
#include <optional>

#include "pinetboot/tftp/session.hpp"

namespace pinetboot::tftp::detail {

class block_numbering {
 public:
  constexpr explicit block_numbering(rollover r = rollover::to_zero) noexcept : mode_{r} {}

  /// Wire number of sequence `seq` (seq 0 is the OACK/request acknowledgement: wire 0).
  [[nodiscard]] constexpr std::uint16_t wire(std::uint64_t seq) const noexcept {
    if (seq == 0) return 0;
    if (mode_ == rollover::to_zero) return static_cast<std::uint16_t>(seq & 0xffffU);
    return static_cast<std::uint16_t>((seq - 1) % 65535U + 1U);
  }

  /// The largest seq <= top whose wire number is `b` (sender: map an ACK).
  [[nodiscard]] constexpr std::optional<std::uint64_t> at_or_below(std::uint64_t top,
                                                                   std::uint16_t b) const noexcept {
    if (mode_ == rollover::to_zero) {
      auto d = static_cast<std::uint16_t>(static_cast<std::uint16_t>(top & 0xffffU) - b);
      if (d > top) return std::nullopt;
      return top - d;
    }
    if (b == 0) return std::uint64_t{0};
    if (top == 0) return std::nullopt;
    std::uint64_t rt = (top - 1) % 65535U;
    std::uint64_t rb = b - 1U;
    std::uint64_t d = (rt + 65535U - rb) % 65535U;
    if (d > top - 1) return std::nullopt;
    return top - d;
  }

  /// The seq >= 1 nearest to `expected` whose wire number is `b` (receiver: map a DATA block).
  [[nodiscard]] constexpr std::optional<std::uint64_t> nearest(std::uint64_t expected,
                                                               std::uint16_t b) const noexcept {
    std::uint64_t period = mode_ == rollover::to_zero ? 65536U : 65535U;
    std::uint64_t re = 0;
    std::uint64_t rb = 0;
    if (mode_ == rollover::to_zero) {
      re = expected & 0xffffU;
      rb = b;
    } else {
      if (b == 0 || expected == 0) return std::nullopt;
      re = (expected - 1) % 65535U;
      rb = b - 1U;
    }
    std::uint64_t d = (rb + period - re) % period;
    if (d < period / 2) return expected + d;
    std::uint64_t back = period - d;
    if (back >= expected) return std::nullopt;
    return expected - back;
  }

 private:
  rollover mode_;
};

}  // namespace pinetboot::tftp::detail
