#include "pinetboot/dhcp/option_codes.hpp"
#include "pinetboot/dhcp/pxe.hpp"

namespace pinetboot::dhcp {

std::string_view option_name(option code) noexcept {
  switch (static_cast<std::uint8_t>(code)) {
    case 0:
      return "Padding";
    case 1:
      return "Subnet Mask";
    case 2:
      return "Time Offset";
    case 3:
      return "Router";
    case 4:
      return "Time Server";
    case 5:
      return "Name Server";
    case 6:
      return "Domain Name Server";
    case 7:
      return "Log Server";
    case 12:
      return "Host Name";
    case 13:
      return "Boot File Size";
    case 15:
      return "Domain Name";
    case 17:
      return "Root Path";
    case 26:
      return "Interface MTU";
    case 28:
      return "Broadcast Address";
    case 33:
      return "Static Route";
    case 40:
      return "NIS Domain";
    case 42:
      return "Network Time Protocol Servers";
    case 43:
      return "Vendor-Specific Information";
    case 44:
      return "NetBIOS over TCP/IP Name Server";
    case 47:
      return "NetBIOS over TCP/IP Scope";
    case 50:
      return "Requested IP Address";
    case 51:
      return "IP Address Lease Time";
    case 52:
      return "Option Overload";
    case 53:
      return "DHCP Message Type";
    case 54:
      return "DHCP Server Identifier";
    case 55:
      return "Parameter Request List";
    case 56:
      return "Message";
    case 57:
      return "Maximum DHCP Message Size";
    case 58:
      return "Renewal Time Value";
    case 59:
      return "Rebinding Time Value";
    case 60:
      return "Vendor class identifier";
    case 61:
      return "Client identifier";
    case 66:
      return "TFTP Server Name";
    case 67:
      return "Bootfile name";
    case 77:
      return "User Class Information";
    case 80:
      return "Rapid Commit";
    case 81:
      return "Client Fully Qualified Domain Name";
    case 82:
      return "Agent Information Option";
    case 93:
      return "Client System Architecture";
    case 94:
      return "Client Network Device Interface";
    case 97:
      return "UUID/GUID-based Client Identifier";
    case 116:
      return "DHCP Auto-Configuration";
    case 118:
      return "Subnet Selection Option";
    case 119:
      return "Domain Search";
    case 121:
      return "Classless Static Route";
    case 128:
    case 129:
    case 130:
    case 131:
    case 132:
    case 133:
    case 134:
    case 135:
      return "PXE - undefined (vendor specific)";
    case 145:
      return "Forcerenew Nonce Capable";
    case 175:
      return "Etherboot / iPXE encapsulated options";
    case 249:
      return "Private/Classless Static Route (Microsoft)";
    case 252:
      return "Private/Proxy autodiscovery";
    case 255:
      return "End";
    default:
      return "Unknown";
  }
}

std::string_view message_type_name(message_type t) noexcept {
  switch (t) {
    case message_type::discover:
      return "Discover";
    case message_type::offer:
      return "Offer";
    case message_type::request:
      return "Request";
    case message_type::decline:
      return "Decline";
    case message_type::ack:
      return "ACK";
    case message_type::nak:
      return "NAK";
    case message_type::release:
      return "Release";
    case message_type::inform:
      return "Inform";
  }
  return "Unknown";
}

std::string_view client_arch_name(std::uint16_t arch) noexcept {
  static constexpr std::string_view names[] = {
      "x86 BIOS",
      "NEC/PC98 (deprecated)",
      "Itanium",
      "DEC Alpha (deprecated)",
      "Arc x86 (deprecated)",
      "Intel Lean Client (deprecated)",
      "x86 UEFI",
      "x64 UEFI",
      "EFI Xscale (deprecated)",
      "EBC",
      "ARM 32-bit UEFI",
      "ARM 64-bit UEFI",
      "PowerPC Open Firmware",
      "PowerPC ePAPR",
      "POWER OPAL v3",
      "x86 UEFI boot from HTTP",
      "x64 UEFI boot from HTTP",
      "EBC boot from HTTP",
      "ARM 32-bit UEFI boot from HTTP",
      "ARM 64-bit UEFI boot from HTTP",
      "x86 BIOS boot from HTTP",
      "ARM 32-bit uboot",
      "ARM 64-bit uboot",
      "ARM uboot 32 boot from HTTP",
      "ARM uboot 64 boot from HTTP",
      "RISC-V 32-bit UEFI",
      "RISC-V 32-bit UEFI boot from HTTP",
      "RISC-V 64-bit UEFI",
      "RISC-V 64-bit UEFI boot from HTTP",
      "RISC-V 128-bit UEFI",
      "RISC-V 128-bit UEFI boot from HTTP",
      "s390 Basic",
      "s390 Extended",
      "MIPS 32-bit UEFI",
      "MIPS 64-bit UEFI",
      "Sunway 32-bit UEFI",
      "Sunway 64-bit UEFI",
      "LoongArch 32-bit UEFI",
      "LoongArch 32-bit UEFI boot from HTTP",
      "LoongArch 64-bit UEFI",
      "LoongArch 64-bit UEFI boot from HTTP",
      "ARM rpiboot",
  };
  return arch < std::size(names) ? names[arch] : "Unknown";
}

std::string_view to_string(client_class c) noexcept {
  switch (c) {
    case client_class::not_pxe:
      return "not_pxe";
    case client_class::raspberry_pi:
      return "raspberry_pi";
    case client_class::x86_bios:
      return "x86_bios";
    case client_class::uefi_ia32:
      return "uefi_ia32";
    case client_class::uefi_x64:
      return "uefi_x64";
    case client_class::uefi_arm32:
      return "uefi_arm32";
    case client_class::uefi_arm64:
      return "uefi_arm64";
    case client_class::uefi_http:
      return "uefi_http";
    case client_class::ipxe:
      return "ipxe";
    case client_class::unknown_pxe:
      return "unknown_pxe";
  }
  return "unknown";
}

std::string_view to_string(pi_generation g) noexcept {
  switch (g) {
    case pi_generation::unknown:
      return "unknown";
    case pi_generation::pi3_rom:
      return "pi3_rom";
    case pi_generation::pi3_bootcode:
      return "pi3_bootcode";
    case pi_generation::pi4:
      return "pi4";
    case pi_generation::pi5:
      return "pi5";
  }
  return "unknown";
}

}  // namespace pinetboot::dhcp
