/// @file
/// @brief DHCPv4 vocabulary: option codes (RFC 2132 and successors), message types
/// (RFC 2132 9.6), BOOTP op codes (RFC 951) and client architecture types (RFC 4578 2.1,
/// IANA "Processor Architecture Types"), with their display names.
#pragma once

#include <cstdint>
#include <string_view>

namespace pinetboot::dhcp {

/// BOOTP `op` (RFC 951).
enum class bootp_op : std::uint8_t { request = 1, reply = 2 };

/// DHCP option codes. Any 0..255 value is representable; the named ones are those the codec
/// knows. Names follow the RFC (IANA "BOOTP Vendor Extensions and DHCP Options").
enum class option : std::uint8_t {
  pad = 0,                 ///< RFC 2132 3.1
  subnet_mask = 1,         ///< RFC 2132 3.3
  time_offset = 2,         ///< RFC 2132 3.4
  router = 3,              ///< RFC 2132 3.5
  domain_server = 6,       ///< RFC 2132 3.8
  hostname = 12,           ///< RFC 2132 3.14
  domain_name = 15,        ///< RFC 2132 3.17
  interface_mtu = 26,      ///< RFC 2132 5.1
  broadcast_address = 28,  ///< RFC 2132 5.3
  ntp_servers = 42,        ///< RFC 2132 8.3
  vendor_specific = 43,    ///< RFC 2132 8.4 (PXE sub-options: PXE 2.1 spec)
  requested_address = 50,  ///< RFC 2132 9.1
  lease_time = 51,         ///< RFC 2132 9.2
  overload = 52,           ///< RFC 2132 9.3
  message_type = 53,       ///< RFC 2132 9.6
  server_id = 54,          ///< RFC 2132 9.7
  parameter_list = 55,     ///< RFC 2132 9.8
  message = 56,            ///< RFC 2132 9.9
  max_message_size = 57,   ///< RFC 2132 9.10
  renewal_time = 58,       ///< RFC 2132 9.11
  rebinding_time = 59,     ///< RFC 2132 9.12
  vendor_class = 60,       ///< RFC 2132 9.13
  client_id = 61,          ///< RFC 2132 9.14
  tftp_server = 66,        ///< RFC 2132 9.4
  bootfile = 67,           ///< RFC 2132 9.5
  user_class = 77,         ///< RFC 3004
  rapid_commit = 80,       ///< RFC 4039
  relay_agent = 82,        ///< RFC 3046
  client_arch = 93,        ///< RFC 4578 2.1
  client_ndi = 94,         ///< RFC 4578 2.2
  client_guid = 97,        ///< RFC 4578 2.3
  auto_config = 116,       ///< RFC 2563
  domain_search = 119,     ///< RFC 3397
  classless_route = 121,   ///< RFC 3442
  link_selection = 118,    ///< RFC 3527
  ipxe_encap = 175,        ///< iPXE encapsulated options (IANA tentative)
  end = 255,               ///< RFC 2132 3.2
};

/// DHCP message type, option 53 (RFC 2132 9.6).
enum class message_type : std::uint8_t {
  discover = 1,
  offer = 2,
  request = 3,
  decline = 4,
  ack = 5,
  nak = 6,
  release = 7,
  inform = 8,
};

/// Client system architecture, option 93 (RFC 4578 2.1 as corrected by erratum 4624 and the
/// IANA "Processor Architecture Types" registry). Note: RFC 4578 originally listed 7 as
/// "EFI BC" and 9 as "EFI x86-64"; IANA swapped them, and firmware in the field sends 7 for
/// x64 UEFI while older iPXE documentation uses 9. `classify()` treats both as x64 UEFI.
enum class client_arch : std::uint16_t {
  x86_bios = 0,
  nec_pc98 = 1,  ///< deprecated
  itanium = 2,
  dec_alpha = 3,          ///< deprecated
  arc_x86 = 4,            ///< deprecated
  intel_lean_client = 5,  ///< deprecated
  x86_uefi = 6,           ///< EFI IA32
  x64_uefi = 7,           ///< EFI x86-64 (RFC 4578 text: "EFI BC")
  efi_xscale = 8,         ///< deprecated
  ebc = 9,                ///< EFI byte code (RFC 4578 text: "EFI x86-64")
  arm32_uefi = 10,
  arm64_uefi = 11,
  powerpc_open_firmware = 12,
  powerpc_epapr = 13,
  power_opal_v3 = 14,
  x86_uefi_http = 15,
  x64_uefi_http = 16,
  ebc_http = 17,
  arm32_uefi_http = 18,
  arm64_uefi_http = 19,
  x86_bios_http = 20,
  arm32_uboot = 21,
  arm64_uboot = 22,
  arm32_uboot_http = 23,
  arm64_uboot_http = 24,
  riscv32_uefi = 25,
  riscv32_uefi_http = 26,
  riscv64_uefi = 27,
  riscv64_uefi_http = 28,
  riscv128_uefi = 29,
  riscv128_uefi_http = 30,
  s390_basic = 31,
  s390_extended = 32,
  mips32_uefi = 33,
  mips64_uefi = 34,
  sunway32_uefi = 35,
  sunway64_uefi = 36,
  loongarch32_uefi = 37,
  loongarch32_uefi_http = 38,
  loongarch64_uefi = 39,
  loongarch64_uefi_http = 40,
  arm_rpiboot = 41,
};

/// True for the IANA "boot from HTTP" architecture types (15-20, 23, 24, 26, 28, 30, 38, 40).
[[nodiscard]] constexpr bool is_http_arch(std::uint16_t arch) noexcept {
  switch (arch) {
    case 15:
    case 16:
    case 17:
    case 18:
    case 19:
    case 20:
    case 23:
    case 24:
    case 26:
    case 28:
    case 30:
    case 38:
    case 40:
      return true;
    default:
      return false;
  }
}

/// Display name of an option code ("Subnet Mask", "Vendor class identifier", ...), as
/// Wireshark labels them; "Unknown" for codes the codec does not name.
[[nodiscard]] std::string_view option_name(option code) noexcept;
/// Display name of a message type ("Discover", ...); "Unknown" outside 1..8.
[[nodiscard]] std::string_view message_type_name(message_type t) noexcept;
/// Display name of an architecture type ("x86 BIOS", "ARM 64-bit UEFI", ...); "Unknown"
/// for unassigned values.
[[nodiscard]] std::string_view client_arch_name(std::uint16_t arch) noexcept;

}  // namespace pinetboot::dhcp
