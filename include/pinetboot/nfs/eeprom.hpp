/// @file
/// @brief Raspberry Pi 4/5 EEPROM bootloader configuration for network boot, as text for
/// `rpi-eeprom-config --apply <file>` (spec raspberry-pi-netboot.md 4.2 and 7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/folder_naming.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/nfs/error.hpp"

namespace pinetboot::nfs {

/// TFTP_PREFIX: 0 serial number (`9ffefdef/`), 1 TFTP_PREFIX_STR, 2 MAC (`dc-a6-32-01-36-c2/`).
enum class tftp_prefix_mode : std::uint8_t { serial = 0, string = 1, mac = 2 };

/// The TFTP_PREFIX with which the board asks for a folder named `n`: serial -> 0, mac_dash -> 2;
/// nullopt for the namings the bootloader cannot produce (mac_colon, hostname, ip: the TFTP
/// server has to map the client to its folder, tftp::root_mode).
[[nodiscard]] constexpr std::optional<tftp_prefix_mode> tftp_prefix_for(core::folder_naming n) noexcept {
  switch (n) {
    case core::folder_naming::serial:
      return tftp_prefix_mode::serial;
    case core::folder_naming::mac_dash:
      return tftp_prefix_mode::mac;
    case core::folder_naming::mac_colon:
    case core::folder_naming::hostname:
    case core::folder_naming::ip:
      break;
  }
  return std::nullopt;
}

/// The folder naming a TFTP_PREFIX asks with; nullopt for `string` (TFTP_PREFIX_STR, a fixed
/// prefix rather than a per-board name) and values out of range.
[[nodiscard]] constexpr std::optional<core::folder_naming> folder_naming_of(tftp_prefix_mode m) noexcept {
  switch (m) {
    case tftp_prefix_mode::serial:
      return core::folder_naming::serial;
    case tftp_prefix_mode::mac:
      return core::folder_naming::mac_dash;
    case tftp_prefix_mode::string:
      break;
  }
  return std::nullopt;
}

/// Keys written by format_eeprom_config(); unset optionals are left out (bootloader default).
struct eeprom_options {
  /// Boot modes read right to left: 1 SD, 2 network, 3 RPIBOOT, 4 USB-MSD, 5 BCM-USB-MSD,
  /// 6 NVMe, 7 HTTP, e stop, f restart. 0xf21 = network, then SD, then restart.
  std::uint32_t boot_order = 0xf21;
  std::optional<bool> boot_uart;                      ///< BOOT_UART: bootloader log on GPIO 14/15
  std::optional<std::int32_t> net_boot_max_retries;   ///< NET_BOOT_MAX_RETRIES, >= -1 (-1 forever)
  std::optional<std::uint32_t> dhcp_timeout_ms;       ///< DHCP_TIMEOUT, >= 5000
  std::optional<std::uint32_t> dhcp_req_timeout_ms;   ///< DHCP_REQ_TIMEOUT, >= 500
  std::optional<std::uint32_t> tftp_file_timeout_ms;  ///< TFTP_FILE_TIMEOUT, >= 5000
  std::optional<core::ipv4_address> tftp_ip;          ///< TFTP_IP: overrides the DHCP server
  std::optional<tftp_prefix_mode> tftp_prefix;        ///< TFTP_PREFIX
  std::string tftp_prefix_str;                        ///< TFTP_PREFIX_STR (only with mode string)
  std::optional<core::ipv4_address> client_ip;        ///< CLIENT_IP (static; needs TFTP_IP, SUBNET)
  std::optional<core::ipv4_address> subnet;           ///< SUBNET (netmask)
  std::optional<core::ipv4_address> gateway;          ///< GATEWAY (inside CLIENT_IP/SUBNET)
};

/// Formats the configuration: two '#' comment lines (how to apply it; that a Pi 3B has no
/// EEPROM and instead needs `program_usb_boot_mode=1` in config.txt once, while a 3B+ netboots
/// as shipped), then `[all]` and one `KEY=value` line per set key in this order: BOOT_UART,
/// BOOT_ORDER (lower-case hex), NET_BOOT_MAX_RETRIES, DHCP_TIMEOUT, DHCP_REQ_TIMEOUT,
/// TFTP_FILE_TIMEOUT, TFTP_IP, TFTP_PREFIX, TFTP_PREFIX_STR, CLIENT_IP, SUBNET, GATEWAY.
/// Errors: errc::invalid_boot_order (a nibble other than 1-7/e/f below the highest set one, or
/// no 2 = network), errc::value_out_of_range (timeouts under their minimum, retries < -1,
/// TFTP_PREFIX_STR longer than 32), errc::forbidden_character (TFTP_PREFIX_STR outside
/// [A-Za-z0-9._/-] or with a ".." component), errc::missing_dependency (TFTP_PREFIX_STR without
/// mode string or vice versa; CLIENT_IP without TFTP_IP or SUBNET; SUBNET or GATEWAY without
/// CLIENT_IP), errc::invalid_option_value (SUBNET not a contiguous netmask, GATEWAY outside the
/// client's subnet).
[[nodiscard]] result<std::string> format_eeprom_config(eeprom_options const& o);

}  // namespace pinetboot::nfs
