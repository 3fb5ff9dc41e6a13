/// @file
/// @brief Error codes of the core module (byte reading/writing, address and serial parsing).
#pragma once

#include <cstdint>
#include <system_error>

namespace pinetboot::core {

/// Errors reported by core helpers. Each function's doc lists which it returns.
enum class errc : std::uint8_t {
  truncated = 1,      ///< input ended before a complete field
  buffer_too_small,   ///< output buffer cannot hold the result (the writer reports the size needed)
  invalid_syntax,     ///< text could not be parsed (MAC, IPv4 address, number)
  out_of_range,       ///< a value is outside what the field allows
  invalid_serial,     ///< not a Pi serial (8 hex digits or the 16-digit /proc/cpuinfo form)
};

/// The category of core::errc ("pinetboot.core").
[[nodiscard]] std::error_category const& core_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), core_category()};
}

}  // namespace pinetboot::core

template <>
struct std::is_error_code_enum<pinetboot::core::errc> : std::true_type {};
