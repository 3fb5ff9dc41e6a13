/// @file
/// @brief The Raspberry Pi board serial: one value type for the provisioning layout (folder
/// names, the registry), DHCP option 97 (the GUID carries it) and the simulator.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/error.hpp"
#include "pinetboot/core/result.hpp"

namespace pinetboot::core {

/// A Raspberry Pi board serial: the low 32 bits of the `Serial` line of /proc/cpuinfo, written
/// as 8 lower-case hex digits (`abcd1234`). It is the default TFTP prefix (TFTP_PREFIX=0) and
/// what a Pi's option 97 carries (spec 3.8).
class pi_serial {
 public:
  constexpr pi_serial() noexcept = default;
  constexpr explicit pi_serial(std::uint32_t v) noexcept : v_{v} {}

  /// Parses 8 hex digits (`abcd1234`) or the 16-digit /proc/cpuinfo form (`10000000abcd1234`,
  /// keeping the low 32 bits); case-insensitive. Errors: errc::invalid_serial.
  [[nodiscard]] static result<pi_serial> parse(std::string_view s) noexcept {
    if (s.size() != 8 && s.size() != 16) return errc::invalid_serial;
    std::uint32_t v = 0;
    for (char c : s) {
      int d = detail::hex_value(c);
      if (d < 0) return errc::invalid_serial;
      v = v << 4 | static_cast<std::uint32_t>(d);  // the high half shifts out
    }
    return pi_serial{v};
  }

  [[nodiscard]] constexpr std::uint32_t value() const noexcept { return v_; }
  /// Writes exactly 8 lower-case hex digits.
  constexpr void format_to(std::span<char, 8> out) const noexcept {
    for (std::size_t i = 0; i < 8; ++i) out[i] = detail::hex_digits[(v_ >> (28 - 4 * i)) & 0xfU];
  }
  /// The 8 lower-case hex digits (`abcd1234`), the Pi's TFTP prefix.
  [[nodiscard]] constexpr std::array<char, 8> hex() const noexcept {
    std::array<char, 8> out{};
    format_to(out);
    return out;
  }
  [[nodiscard]] std::string to_string() const {
    auto h = hex();
    return {h.data(), h.size()};
  }
  friend constexpr auto operator<=>(pi_serial const&, pi_serial const&) noexcept = default;

 private:
  std::uint32_t v_ = 0;
};

}  // namespace pinetboot::core
