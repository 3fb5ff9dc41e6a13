/// @file
/// @brief Bounds-checked big-endian reader over received bytes. Nothing else in pinetboot
/// does pointer arithmetic on packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace pinetboot::core {

/// Reads network-order integers, byte runs and NUL-terminated strings from a span.
/// Every read either succeeds completely and advances, or returns nullopt and leaves the
/// position unchanged. Views returned alias the input and live as long as it does.
class byte_reader {
 public:
  constexpr byte_reader() noexcept = default;
  constexpr explicit byte_reader(std::span<const std::byte> in) noexcept : in_{in} {}

  [[nodiscard]] constexpr std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] constexpr std::size_t remaining() const noexcept { return in_.size() - pos_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return pos_ == in_.size(); }
  /// The bytes not yet read.
  [[nodiscard]] constexpr std::span<const std::byte> rest() const noexcept { return in_.subspan(pos_); }

  [[nodiscard]] constexpr std::optional<std::uint8_t> u8() noexcept {
    if (remaining() < 1) return std::nullopt;
    return std::to_integer<std::uint8_t>(in_[pos_++]);
  }
  [[nodiscard]] constexpr std::optional<std::uint16_t> u16() noexcept {
    if (remaining() < 2) return std::nullopt;
    auto v = u16_unchecked(in_.subspan(pos_));
    pos_ += 2;
    return v;
  }
  [[nodiscard]] constexpr std::optional<std::uint32_t> u32() noexcept {
    if (remaining() < 4) return std::nullopt;
    auto v = u32_unchecked(in_.subspan(pos_));
    pos_ += 4;
    return v;
  }
  /// The next `n` bytes as a view.
  [[nodiscard]] constexpr std::optional<std::span<const std::byte>> bytes(std::size_t n) noexcept {
    if (remaining() < n) return std::nullopt;
    auto v = in_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  /// Skips `n` bytes; false (and no move) if fewer remain.
  [[nodiscard]] constexpr bool skip(std::size_t n) noexcept {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  /// A NUL-terminated string (without its NUL); nullopt if no NUL before the end.
  [[nodiscard]] std::optional<std::string_view> cstr() noexcept {
    auto r = rest();
    void const* nul = r.empty() ? nullptr : std::memchr(r.data(), 0, r.size());
    if (nul == nullptr) return std::nullopt;
    auto len = static_cast<std::size_t>(static_cast<std::byte const*>(nul) - r.data());
    std::string_view s{reinterpret_cast<char const*>(r.data()), len};
    pos_ += len + 1;
    return s;
  }

  /// Big-endian loads with the precondition `b.size() >= 2` / `>= 4`.
  [[nodiscard]] static constexpr std::uint16_t u16_unchecked(std::span<const std::byte> b) noexcept {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[0]) << 8 | std::to_integer<unsigned>(b[1]));
  }
  [[nodiscard]] static constexpr std::uint32_t u32_unchecked(std::span<const std::byte> b) noexcept {
    return std::to_integer<std::uint32_t>(b[0]) << 24 | std::to_integer<std::uint32_t>(b[1]) << 16 |
           std::to_integer<std::uint32_t>(b[2]) << 8 | std::to_integer<std::uint32_t>(b[3]);
  }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

/// Views bytes as characters (no copy).
[[nodiscard]] inline std::string_view as_chars(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<char const*>(b.data()), b.size()};
}
/// Views characters as bytes (no copy).
[[nodiscard]] inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<std::byte const*>(s.data()), s.size()};
}

}  // namespace pinetboot::core
