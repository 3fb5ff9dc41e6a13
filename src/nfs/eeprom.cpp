#include "pinetboot/nfs/eeprom.hpp"

#include <cstdio>

#include "text.hpp"

namespace pinetboot::nfs {
namespace {

std::error_code check_boot_order(std::uint32_t order) noexcept {
  if (order == 0) return errc::invalid_boot_order;
  bool network = false;
  for (std::uint32_t v = order; v != 0; v >>= 4) {
    std::uint32_t mode = v & 0xf;
    // 0 (SD card detect) is deprecated and 8-d are unassigned.
    if (mode == 0 || (mode >= 8 && mode <= 0xd)) return errc::invalid_boot_order;
    if (mode == 2) network = true;
  }
  return network ? std::error_code{} : std::error_code{errc::invalid_boot_order};
}

std::error_code check_prefix_str(std::string_view s) noexcept {
  if (s.size() > 32) return errc::value_out_of_range;
  for (char c : s)
    if (!detail::is_alpha(c) && !detail::is_digit(c) && c != '.' && c != '_' && c != '/' && c != '-')
      return errc::forbidden_character;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find('/', pos);
    if (end == std::string_view::npos) end = s.size();
    if (s.substr(pos, end - pos) == "..") return errc::forbidden_character;
    pos = end + 1;
  }
  return {};
}

}  // namespace

result<std::string> format_eeprom_config(eeprom_options const& o) {
  if (auto ec = check_boot_order(o.boot_order)) return ec;
  if (o.net_boot_max_retries && *o.net_boot_max_retries < -1) return errc::value_out_of_range;
  if (o.dhcp_timeout_ms && *o.dhcp_timeout_ms < 5000) return errc::value_out_of_range;
  if (o.dhcp_req_timeout_ms && *o.dhcp_req_timeout_ms < 500) return errc::value_out_of_range;
  if (o.tftp_file_timeout_ms && *o.tftp_file_timeout_ms < 5000) return errc::value_out_of_range;
  bool string_mode = o.tftp_prefix == tftp_prefix_mode::string;
  if (o.tftp_prefix && static_cast<unsigned>(*o.tftp_prefix) > 2) return errc::value_out_of_range;
  if (string_mode != !o.tftp_prefix_str.empty()) return errc::missing_dependency;
  if (auto ec = check_prefix_str(o.tftp_prefix_str)) return ec;
  if (o.client_ip && (!o.tftp_ip || !o.subnet)) return errc::missing_dependency;
  if ((o.subnet || o.gateway) && !o.client_ip) return errc::missing_dependency;
  if (o.subnet) {
    std::uint32_t inv = ~o.subnet->to_uint();
    if ((inv & (inv + 1)) != 0) return errc::invalid_option_value;
    std::uint32_t mask = o.subnet->to_uint();
    if (o.gateway && (o.gateway->to_uint() & mask) != (o.client_ip->to_uint() & mask))
      return errc::invalid_option_value;
  }

  std::string out =
      "# Raspberry Pi 4/5 bootloader: network boot. Apply with: rpi-eeprom-config --apply <this file>\n"
      "# Pi 3B/2B v1.2 have no EEPROM: put program_usb_boot_mode=1 in config.txt once (sets an OTP bit);"
      " a Pi 3B+ netboots as shipped.\n"
      "[all]\n";
  auto key = [&](std::string_view k, std::string const& v) {
    out += k;
    out += '=';
    out += v;
    out += '\n';
  };
  if (o.boot_uart) key("BOOT_UART", *o.boot_uart ? "1" : "0");
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", static_cast<unsigned>(o.boot_order));
  key("BOOT_ORDER", hex);
  if (o.net_boot_max_retries) key("NET_BOOT_MAX_RETRIES", std::to_string(*o.net_boot_max_retries));
  if (o.dhcp_timeout_ms) key("DHCP_TIMEOUT", std::to_string(*o.dhcp_timeout_ms));
  if (o.dhcp_req_timeout_ms) key("DHCP_REQ_TIMEOUT", std::to_string(*o.dhcp_req_timeout_ms));
  if (o.tftp_file_timeout_ms) key("TFTP_FILE_TIMEOUT", std::to_string(*o.tftp_file_timeout_ms));
  if (o.tftp_ip) key("TFTP_IP", o.tftp_ip->to_string());
  if (o.tftp_prefix) key("TFTP_PREFIX", std::to_string(static_cast<unsigned>(*o.tftp_prefix)));
  if (string_mode) key("TFTP_PREFIX_STR", o.tftp_prefix_str);
  if (o.client_ip) key("CLIENT_IP", o.client_ip->to_string());
  if (o.subnet) key("SUBNET", o.subnet->to_string());
  if (o.gateway) key("GATEWAY", o.gateway->to_string());
  return out;
}

}  // namespace pinetboot::nfs
