/// @file
/// @brief What a board's folder is named after: one idea shared by the layout (the folders
/// pinetboot-provision creates), the TFTP server (the per-client root it looks up) and the
/// EEPROM generator (the TFTP_PREFIX the board asks with).
///
/// Each module maps it to what it genuinely adds: layout accepts the four names a board can be
/// provisioned by; tftp::root_mode adds the shared root and "any MAC spelling"; the EEPROM's
/// TFTP_PREFIX has its own wire values (nfs::tftp_prefix_for()).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pinetboot::core {

/// A board's folder name under the TFTP and NFS roots, from one of its identities.
enum class folder_naming : std::uint8_t {
  serial,     ///< `abcd1234`: the Pi's serial, its default TFTP_PREFIX=0
  mac_dash,   ///< `dc-a6-32-01-36-c2`: TFTP_PREFIX=2 and dnsmasq `tftp-unique-root=mac`
  mac_colon,  ///< `dc:a6:32:01:36:c2`: the `/tftpboot/<MAC>` form
  hostname,   ///< the host name in lower case
  ip,         ///< `192.168.1.17`: dnsmasq's default unique root
};

/// `serial`, `mac-dash`, `mac-colon`, `hostname`, `ip` (the config and command-line spellings).
[[nodiscard]] constexpr std::string_view to_string(folder_naming n) noexcept {
  switch (n) {
    case folder_naming::serial:
      return "serial";
    case folder_naming::mac_dash:
      return "mac-dash";
    case folder_naming::mac_colon:
      return "mac-colon";
    case folder_naming::hostname:
      return "hostname";
    case folder_naming::ip:
      return "ip";
  }
  return "?";
}

/// The inverse of to_string() (case-sensitive); nullopt for anything else.
[[nodiscard]] constexpr std::optional<folder_naming> parse_folder_naming(std::string_view s) noexcept {
  for (auto n : {folder_naming::serial, folder_naming::mac_dash, folder_naming::mac_colon,
                 folder_naming::hostname, folder_naming::ip})
    if (s == to_string(n)) return n;
  return std::nullopt;
}

/// True for the two MAC spellings.
[[nodiscard]] constexpr bool names_by_mac(folder_naming n) noexcept {
  return n == folder_naming::mac_dash || n == folder_naming::mac_colon;
}

}  // namespace pinetboot::core
