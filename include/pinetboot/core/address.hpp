/// @file
/// @brief MAC and IPv4 address value types with parsing and formatting (no allocation except
/// the `std::string` convenience formatters).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pinetboot/core/error.hpp"
#include "pinetboot/core/result.hpp"

namespace pinetboot::core {

namespace detail {
[[nodiscard]] constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
inline constexpr char hex_digits[] = "0123456789abcdef";
}  // namespace detail

/// A 48-bit Ethernet hardware address.
class mac_address {
 public:
  constexpr mac_address() noexcept = default;
  constexpr explicit mac_address(std::array<std::uint8_t, 6> b) noexcept : b_{b} {}

  /// Reads the first 6 bytes of `b` (e.g. a BOOTP chaddr). Precondition: b.size() >= 6.
  [[nodiscard]] static constexpr mac_address from_bytes_unchecked(std::span<const std::byte> b) noexcept {
    mac_address m;
    for (std::size_t i = 0; i < 6; ++i) m.b_[i] = std::to_integer<std::uint8_t>(b[i]);
    return m;
  }

  /// Parses `b8:27:eb:9d:c1:5a`, `b8-27-eb-9d-c1-5a` (the form dnsmasq and the Pi's
  /// TFTP_PREFIX=2 use) or bare `b827eb9dc15a`; hex is case-insensitive.
  /// Errors: errc::invalid_syntax.
  [[nodiscard]] static result<mac_address> parse(std::string_view s) noexcept {
    mac_address m;
    char sep = 0;
    if (s.size() == 17) {
      sep = s[2];
      if (sep != ':' && sep != '-') return errc::invalid_syntax;
    } else if (s.size() != 12) {
      return errc::invalid_syntax;
    }
    std::size_t pos = 0;
    for (std::size_t i = 0; i < 6; ++i) {
      if (i > 0 && sep != 0) {
        if (s[pos] != sep) return errc::invalid_syntax;
        ++pos;
      }
      int hi = detail::hex_value(s[pos]);
      int lo = detail::hex_value(s[pos + 1]);
      if (hi < 0 || lo < 0) return errc::invalid_syntax;
      m.b_[i] = static_cast<std::uint8_t>(hi << 4 | lo);
      pos += 2;
    }
    return m;
  }

  [[nodiscard]] constexpr std::array<std::uint8_t, 6> const& bytes() const noexcept { return b_; }
  [[nodiscard]] constexpr std::uint8_t operator[](std::size_t i) const noexcept { return b_[i]; }

  /// Lower-case text with `sep` between octets (':' or '-'); `sep == 0` gives 12 bare digits.
  /// Returns the number of characters written into `out` (17, or 12 without separator).
  constexpr std::size_t format_to(std::span<char, 17> out, char sep = ':') const noexcept {
    std::size_t pos = 0;
    for (std::size_t i = 0; i < 6; ++i) {
      if (i > 0 && sep != 0) out[pos++] = sep;
      out[pos++] = detail::hex_digits[b_[i] >> 4];
      out[pos++] = detail::hex_digits[b_[i] & 0xf];
    }
    return pos;
  }
  [[nodiscard]] std::string to_string(char sep = ':') const {
    std::array<char, 17> buf{};
    return {buf.data(), format_to(buf, sep)};
  }

  /// True if the first `prefix.size()` octets (at most 6) equal `prefix` (an OUI match).
  [[nodiscard]] constexpr bool has_prefix(std::span<const std::uint8_t> prefix) const noexcept {
    if (prefix.size() > 6) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
      if (b_[i] != prefix[i]) return false;
    return true;
  }

  friend constexpr auto operator<=>(mac_address const&, mac_address const&) noexcept = default;

 private:
  std::array<std::uint8_t, 6> b_{};
};

/// An IPv4 address held in host order.
class ipv4_address {
 public:
  constexpr ipv4_address() noexcept = default;
  constexpr explicit ipv4_address(std::uint32_t host_order) noexcept : v_{host_order} {}
  constexpr ipv4_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
      : v_{std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d} {}

  /// Parses dotted-quad `192.168.1.10` (exactly four decimal parts 0..255, no leading '+',
  /// at most 3 digits each). Errors: errc::invalid_syntax.
  [[nodiscard]] static result<ipv4_address> parse(std::string_view s) noexcept {
    std::uint32_t v = 0;
    std::size_t pos = 0;
    for (int part = 0; part < 4; ++part) {
      if (part > 0) {
        if (pos >= s.size() || s[pos] != '.') return errc::invalid_syntax;
        ++pos;
      }
      std::uint32_t octet = 0;
      std::size_t digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && digits < 4) {
        octet = octet * 10 + static_cast<std::uint32_t>(s[pos] - '0');
        ++pos;
        ++digits;
      }
      if (digits == 0 || digits > 3 || octet > 255) return errc::invalid_syntax;
      v = v << 8 | octet;
    }
    if (pos != s.size()) return errc::invalid_syntax;
    return ipv4_address{v};
  }

  /// Reads 4 network-order bytes. Precondition: b.size() >= 4.
  [[nodiscard]] static constexpr ipv4_address from_bytes_unchecked(std::span<const std::byte> b) noexcept {
    return ipv4_address{std::to_integer<std::uint32_t>(b[0]) << 24 | std::to_integer<std::uint32_t>(b[1]) << 16 |
                        std::to_integer<std::uint32_t>(b[2]) << 8 | std::to_integer<std::uint32_t>(b[3])};
  }

  [[nodiscard]] constexpr std::uint32_t to_uint() const noexcept { return v_; }
  [[nodiscard]] constexpr bool is_unspecified() const noexcept { return v_ == 0; }
  [[nodiscard]] constexpr std::array<std::uint8_t, 4> octets() const noexcept {
    return {static_cast<std::uint8_t>(v_ >> 24), static_cast<std::uint8_t>(v_ >> 16 & 0xff),
            static_cast<std::uint8_t>(v_ >> 8 & 0xff), static_cast<std::uint8_t>(v_ & 0xff)};
  }
  [[nodiscard]] std::string to_string() const {
    std::string s;
    auto o = octets();
    for (std::size_t i = 0; i < 4; ++i) {
      if (i > 0) s += '.';
      s += std::to_string(o[i]);
    }
    return s;
  }

  friend constexpr auto operator<=>(ipv4_address const&, ipv4_address const&) noexcept = default;

 private:
  std::uint32_t v_ = 0;
};

}  // namespace pinetboot::core
