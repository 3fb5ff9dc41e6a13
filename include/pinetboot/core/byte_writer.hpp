/// @file
/// @brief Big-endian writer into a caller buffer that keeps counting past the end, so that
/// builders are straight-line code with one overflow check that reports the size needed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pinetboot::core {

/// Writes into `out`. Once a write does not fit, nothing more is written but `needed()` keeps
/// growing, so a caller can retry with a buffer of exactly `needed()` bytes.
class byte_writer {
 public:
  constexpr explicit byte_writer(std::span<std::byte> out) noexcept : out_{out} {}

  constexpr void u8(std::uint8_t v) noexcept {
    if (fits(1)) out_[pos_] = std::byte{v};
    pos_ += 1;
  }
  constexpr void u16(std::uint16_t v) noexcept {
    if (fits(2)) {
      out_[pos_] = std::byte(v >> 8);
      out_[pos_ + 1] = std::byte(v & 0xffU);
    }
    pos_ += 2;
  }
  constexpr void u32(std::uint32_t v) noexcept {
    if (fits(4)) {
      for (std::size_t i = 0; i < 4; ++i) out_[pos_ + i] = std::byte((v >> (24 - 8 * i)) & 0xffU);
    }
    pos_ += 4;
  }
  void bytes(std::span<const std::byte> b) noexcept {
    if (fits(b.size()) && !b.empty()) std::copy(b.begin(), b.end(), out_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ += b.size();
  }
  void chars(std::string_view s) noexcept {
    bytes({reinterpret_cast<std::byte const*>(s.data()), s.size()});
  }
  /// `s` followed by a NUL byte.
  void cstr(std::string_view s) noexcept {
    chars(s);
    u8(0);
  }
  /// `n` copies of `v`.
  constexpr void fill(std::size_t n, std::byte v = std::byte{0}) noexcept {
    if (fits(n)) std::fill_n(out_.begin() + static_cast<std::ptrdiff_t>(pos_), n, v);
    pos_ += n;
  }
  /// Overwrites one byte already written at `at` (for back-patched lengths).
  constexpr void patch_u8(std::size_t at, std::uint8_t v) noexcept {
    if (at < out_.size() && at < pos_) out_[at] = std::byte{v};
  }

  /// Bytes written so far, including those that did not fit.
  [[nodiscard]] constexpr std::size_t needed() const noexcept { return pos_; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return pos_; }
  [[nodiscard]] constexpr bool overflowed() const noexcept { return pos_ > out_.size(); }
  [[nodiscard]] constexpr std::size_t capacity() const noexcept { return out_.size(); }
  /// The bytes written (valid only when not overflowed).
  [[nodiscard]] constexpr std::span<std::byte> written() const noexcept {
    return out_.first(std::min(pos_, out_.size()));
  }

 private:
  [[nodiscard]] constexpr bool fits(std::size_t n) const noexcept {
    return pos_ <= out_.size() && out_.size() - pos_ >= n;
  }
  std::span<std::byte> out_;
  std::size_t pos_ = 0;
};

}  // namespace pinetboot::core
