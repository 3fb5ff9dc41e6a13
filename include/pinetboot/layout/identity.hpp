/// @file
/// @brief Client identity (MAC, Raspberry Pi serial, host name, IP) and the folder naming
/// schemes of the per-client layout (spec section 4.2). The serial is core::pi_serial.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/folder_naming.hpp"
#include "pinetboot/core/pi_serial.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/error.hpp"

namespace pinetboot::layout {

/// Checks an RFC 1123 host label: 1..63 characters of letters, digits and '-', not starting or
/// ending with '-'. Dots are rejected (a client folder is one label). Errors:
/// errc::invalid_hostname.
[[nodiscard]] inline std::error_code check_hostname(std::string_view s) noexcept {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return errc::invalid_hostname;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return errc::invalid_hostname;
  }
  return {};
}

/// Parses the four folder namings a board can be provisioned by: `serial`, `mac-dash`,
/// `mac-colon`, `hostname` (core::to_string() prints them back). `ip` is not one: a provisioned
/// board keeps its folder when its address changes. Errors: errc::invalid_scheme.
[[nodiscard]] inline result<core::folder_naming> parse_scheme(std::string_view s) noexcept {
  auto n = core::parse_folder_naming(s);
  if (!n || *n == core::folder_naming::ip) return errc::invalid_scheme;
  return *n;
}

/// What identifies one board. At least the field the naming scheme uses must be present.
struct client_identity {
  std::optional<core::mac_address> mac;
  std::optional<core::pi_serial> serial;
  std::string hostname;  ///< empty = none; otherwise a valid RFC 1123 label
  std::optional<core::ipv4_address> ip;

  friend bool operator==(client_identity const&, client_identity const&) = default;
};

/// Longest folder name any scheme produces (a host label).
inline constexpr std::size_t max_folder_name = 63;

/// Writes the client's folder name under `scheme` into `out` and returns its length.
/// Errors: errc::missing_identity (the scheme's field is absent), errc::invalid_hostname.
[[nodiscard]] inline result<std::size_t> format_folder(client_identity const& c, core::folder_naming scheme,
                                                       std::span<char, max_folder_name> out) noexcept {
  switch (scheme) {
    case core::folder_naming::serial:
      if (!c.serial) return errc::missing_identity;
      c.serial->format_to(out.first<8>());
      return std::size_t{8};
    case core::folder_naming::mac_dash:
    case core::folder_naming::mac_colon:
      if (!c.mac) return errc::missing_identity;
      return c.mac->format_to(out.first<17>(), scheme == core::folder_naming::mac_dash ? '-' : ':');
    case core::folder_naming::hostname: {
      if (c.hostname.empty()) return errc::missing_identity;
      if (auto ec = check_hostname(c.hostname)) return ec;
      for (std::size_t i = 0; i < c.hostname.size(); ++i) {
        char ch = c.hostname[i];
        out[i] = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
      }
      return c.hostname.size();
    }
    case core::folder_naming::ip:  // not a provisioning scheme (parse_scheme())
      break;
  }
  return errc::invalid_scheme;
}

/// The client's folder name as a string. Errors: as format_folder().
[[nodiscard]] result<std::string> folder_name(client_identity const& c, core::folder_naming scheme);

/// Two clients (indexes into the input) that map to the same folder.
struct collision {
  std::string folder;
  std::size_t first = 0;
  std::size_t second = 0;
  friend bool operator==(collision const&, collision const&) = default;
};

/// Every pair (first < second) of clients whose folders are equal under `scheme`; clients the
/// scheme cannot name are skipped (plan() reports them). Result is sorted by (first, second).
[[nodiscard]] std::vector<collision> detect_collisions(std::span<const client_identity> clients,
                                                       core::folder_naming scheme);

}  // namespace pinetboot::layout
