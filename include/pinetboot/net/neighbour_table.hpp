/// @file
/// @brief The kernel's IPv4 neighbour table (/proc/net/arp) as a tftp::mac_lookup: which MAC
/// a TFTP client's address has, for per-client roots named by MAC when the DHCP side did not
/// see the client. An OS helper, so it lives with the adapters; the parsing is pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "pinetboot/core/address.hpp"
#include "pinetboot/tftp/roots.hpp"

namespace pinetboot::net {

/// One line of /proc/net/arp.
struct arp_entry {
  core::ipv4_address ip;
  core::mac_address mac;
  std::uint32_t flags = 0;  ///< ATF_* bits; 0x2 (ATF_COM) = resolved
  std::string_view device;  ///< aliases the parsed line
};

/// ATF_COM from <net/if_arp.h>: the entry holds a resolved hardware address.
inline constexpr std::uint32_t arp_flag_complete = 0x2;

/// Parses one data line ("192.168.1.17  0x1  0x2  b8:27:eb:5e:2a:2e  *  eth0").
/// nullopt for the header line, blank or malformed lines. Pure, no allocation.
[[nodiscard]] std::optional<arp_entry> parse_arp_line(std::string_view line) noexcept;

/// Finds the MAC of `ip` in the text of /proc/net/arp: the first complete entry (ATF_COM set),
/// on `device` if not empty. Incomplete entries (flags 0x0, MAC 00:00:...) are ignored.
[[nodiscard]] std::optional<core::mac_address> find_in_arp_table(std::string_view text, core::ipv4_address ip,
                                                                 std::string_view device = {}) noexcept;

/// mac_lookup over the kernel's IPv4 neighbour table. Each find() streams the file through a
/// fixed 4 KiB buffer (no allocation); a client on another subnet has no entry (nullopt).
class neighbour_table final : public tftp::mac_lookup {
 public:
  explicit neighbour_table(std::string path = "/proc/net/arp", std::string device = {})
      : path_{std::move(path)}, device_{std::move(device)} {}
  [[nodiscard]] std::optional<core::mac_address> find(core::ipv4_address ip) const noexcept override;

 private:
  std::string path_;
  std::string device_;
};

}  // namespace pinetboot::net
