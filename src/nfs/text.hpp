// Private helpers shared by the nfs generators: character classes, path and host checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace pinetboot::nfs::detail {

[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_octal(char c) noexcept { return c >= '0' && c <= '7'; }
[[nodiscard]] constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
[[nodiscard]] constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/// C-locale isspace().
[[nodiscard]] constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/// Appends `\ooo` for byte `c`.
void append_octal(std::string& out, unsigned char c);

/// Absolute path checks shared by exports, fstab and cmdline: empty, relative, NUL or newline,
/// ".." component, longer than max_len.
[[nodiscard]] std::error_code check_absolute_path(std::string_view p, std::size_t max_len) noexcept;

/// RFC 1123 host name: dot-separated labels of letters, digits, '-' and '_' (Windows/DHCP names),
/// 1..63 chars each, not starting or ending with '-', 253 chars in all. All-numeric names are not
/// host names (they would be misread as addresses).
[[nodiscard]] bool is_hostname(std::string_view s) noexcept;

/// Parses a decimal number with at most `max` value; no sign, no leading '+', not empty.
[[nodiscard]] std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) noexcept;

}  // namespace pinetboot::nfs::detail
