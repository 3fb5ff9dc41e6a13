/// @file
/// @brief The DHCP policy engine: one request in, at most one reply out (sans-I/O).
///
/// Two modes (RFC 2131, PXE 2.1, spec 3):
/// - **proxy**: the site's router hands out addresses; we answer PXE-class clients only, with
///   boot information and no address (`yiaddr` 0): options 53, 54, 60, 97 (echoed), 43 and the
///   boot server, like dnsmasq's `dhcp-range=...,proxy`. DISCOVERs on port 67 get an OFFER;
///   REQUESTs/INFORMs on port 4011 (the PXE boot-server exchange of UEFI clients) get an ACK.
///   REQUESTs on port 67 belong to the router and are ignored, as dnsmasq does.
/// - **full**: address pools per subnet, reservations by MAC, DISCOVER/OFFER/REQUEST/ACK/NAK,
///   DECLINE, RELEASE, INFORM, with leases in a lease_store.
///
/// Boot information depends on the client class (dhcp::classify): Raspberry Pi boards get the
/// "Raspberry Pi Boot" menu in option 43, their option 97 echoed and the TFTP server as
/// option 54 and `siaddr`; PXE ROMs get a boot file; UEFI HTTP clients a URL; iPXE its script
/// (so the chainload loop ends). Ordinary DHCP clients get no boot options at all.
///
/// The engine keeps no clock (the caller passes `now`), does no I/O, and never writes past the
/// output buffer. A reply whose lease changes must be made durable (lease_store::commit) by
/// the caller before it is sent: see reply::needs_commit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/option_codes.hpp"
#include "pinetboot/dhcp/pxe.hpp"

namespace pinetboot::dhcp {

enum class server_mode : std::uint8_t { proxy, full };

/// Where a class of clients boots from. Empty strings mean "not sent".
struct boot_target {
  std::string boot_file;                     ///< option 67 and the `file` field (URL for HTTP boot)
  std::optional<core::ipv4_address> server;  ///< TFTP server (`siaddr`, option 66); default: ours
};

/// Boot answers per client class, and Raspberry Pi specifics.
struct boot_policy {
  boot_target x86_bios{"undionly.kpxe", {}};
  boot_target uefi_ia32{"ipxe-i386.efi", {}};
  boot_target uefi_x64{"ipxe.efi", {}};
  boot_target uefi_arm32{"", {}};
  boot_target uefi_arm64{"ipxe-arm64.efi", {}};
  boot_target uefi_http{"", {}};     ///< a URL, e.g. http://10.0.0.1/boot.efi
  boot_target ipxe{"boot.ipxe", {}};  ///< script or URL served to iPXE (breaks the chainload loop)
  boot_target unknown_pxe{"", {}};
  /// Raspberry Pi boot menu text (option 43 sub-option 9, spec 3.7).
  std::string pi_menu = std::string{pi_boot_menu_text};
  /// Three trailing spaces for the original Pi 3B ROM (constant GUID, spec 9.1).
  bool pi3_rom_padded_menu = true;
  /// Delay before answering Pi 2/3 boot ROMs and bootcode.bin (dnsmasq dhcp-reply-delay, 3.1).
  std::uint32_t pi3_reply_delay_ms = 0;
  /// The Pi's TFTP server; default: ours.
  std::optional<core::ipv4_address> pi_server;
};

/// One IPv4 subnet served in full mode.
struct subnet_config {
  core::ipv4_address network;
  std::uint8_t prefix_length = 24;
  core::ipv4_address range_start, range_end;  ///< dynamic pool, inclusive
  std::vector<core::ipv4_address> routers;
  std::vector<core::ipv4_address> dns_servers;
  std::string domain_name;
  std::uint32_t lease_time = 43200;  ///< seconds (dnsmasq's default 12 h)
  /// For clients that are not PXE (U-Boot's `dhcp`, dhclient, udhcpc): the `file` field
  /// (dnsmasq `dhcp-boot`, Kea `boot-file-name`) and `siaddr` (Kea `next-server`; default:
  /// ours). A class's boot file still wins for PXE clients, a host's `boot` for its host.
  std::string boot_file;
  std::optional<core::ipv4_address> next_server;

  [[nodiscard]] constexpr std::uint32_t mask() const noexcept {
    return prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_length);
  }
  [[nodiscard]] constexpr bool contains(core::ipv4_address a) const noexcept {
    return (a.to_uint() & mask()) == (network.to_uint() & mask());
  }
  [[nodiscard]] constexpr core::ipv4_address broadcast() const noexcept {
    return core::ipv4_address{(network.to_uint() & mask()) | ~mask()};
  }
};

/// A static reservation (and per-host boot override) by MAC.
struct host_config {
  core::mac_address mac;
  std::optional<core::ipv4_address> address;  ///< full mode: always this address
  std::string hostname;                       ///< option 12 in replies
  std::optional<boot_target> boot;            ///< replaces the class's boot target
};

struct engine_config {
  server_mode mode = server_mode::proxy;
  /// Our address: option 54, and the default TFTP server. 0 = the receiving interface's.
  core::ipv4_address server_address;
  std::vector<subnet_config> subnets;  ///< full mode
  std::vector<host_config> hosts;
  boot_policy boot;
  std::vector<oui> pi_ouis{default_pi_ouis.begin(), default_pi_ouis.end()};
  std::vector<guid_prefix> extra_guid_prefixes;
  std::uint32_t offer_hold_seconds = 60;     ///< how long an OFFER reserves its address
  std::uint32_t decline_hold_seconds = 600;  ///< how long a DECLINEd address stays unused
};

/// Facts about the received datagram that only the adapter knows.
struct packet_context {
  core::ipv4_address local_address;  ///< address of the receiving interface (IP_PKTINFO)
  core::ipv4_address source;         ///< IP source address of the datagram
  std::uint16_t source_port = 68;
  std::uint16_t local_port = 67;     ///< 67, or 4011 for the PXE boot-server exchange
  std::int64_t now = 0;              ///< unix seconds
};

/// What the engine decided. `size == 0` means: send nothing (see `outcome` for why).
struct reply {
  std::size_t size = 0;
  core::ipv4_address destination;  ///< RFC 2131 4.1 (relay, ciaddr, broadcast, PXE 4011 unicast)
  std::uint16_t port = 68;
  bool broadcast = false;          ///< destination is 255.255.255.255
  std::uint32_t delay_ms = 0;      ///< wait this long before sending (Pi 3 reply delay)
  bool needs_commit = false;       ///< lease store changed: commit before sending
  // For logs and metrics.
  std::optional<message_type> request_type;
  std::optional<message_type> reply_type;
  classification client;
  std::optional<core::mac_address> mac;
  core::ipv4_address address;      ///< yiaddr offered/acked (0 in proxy mode)
  /// The address a REQUEST says the client holds or will hold (ciaddr, else option 50), whether
  /// or not we answer it: in proxy mode the only way to learn a board's IP (for per-MAC TFTP
  /// roots and time-to-boot) without the kernel's neighbour table. Claimed, not verified.
  core::ipv4_address client_address;
  std::string_view boot_file;
  std::string_view outcome;        ///< "offer", "ack", "nak: ...", "ignored: ..."
};

/// How one subnet's dynamic pool (`range_start`..`range_end`) is used at a given time. The
/// counts add up: `size == leased + offered + declined + released + reserved + free`.
struct pool_usage {
  std::uint64_t size = 0;      ///< addresses in the range
  std::uint64_t leased = 0;    ///< bound (ACKed, or a Pi 3 OFFER) and not expired
  std::uint64_t offered = 0;   ///< held for an OFFER (`offer_hold_seconds`)
  std::uint64_t declined = 0;  ///< DECLINEd, unused until `decline_hold_seconds` pass
  std::uint64_t released = 0;  ///< released but not yet expired (kept for the same client)
  std::uint64_t reserved = 0;  ///< reserved for a host (`host_config::address`) that holds no live lease
  std::uint64_t free = 0;      ///< what a new client can get: never leased, or expired
};

class server_engine {
 public:
  /// The lease store must outlive the engine.
  server_engine(engine_config config, lease_store& leases);

  /// Handles one datagram received on a server port, writing any reply into `out` (which
  /// should be at least 576 bytes). Never throws for any input; malformed or foreign
  /// messages give size 0 and an outcome saying why.
  [[nodiscard]] reply handle(std::span<const std::byte> datagram, packet_context const& ctx,
                             std::span<std::byte> out) noexcept;

  /// The MAC of the client that holds `ip` in full mode (for per-MAC TFTP roots).
  [[nodiscard]] std::optional<core::mac_address> mac_for(core::ipv4_address ip) const noexcept {
    return leases_.mac_for(ip);
  }

  /// The use of subnet `config().subnets[subnet]`'s pool at `now` (unix seconds); all zero
  /// for an index out of range. Walks the leases inside the range and the reservations (a
  /// sorted copy made at configuration time), so it costs about one step per lease of the
  /// subnet: meant for a metrics scrape, not per packet.
  [[nodiscard]] pool_usage usage(std::size_t subnet, std::int64_t now) const noexcept;

  [[nodiscard]] engine_config const& config() const noexcept { return config_; }
  /// Replaces the configuration (SIGHUP reload); leases and remembered boot clients are kept.
  void reconfigure(engine_config config);

 private:
  struct boot_answer {
    boot_target const* target = nullptr;
    core::ipv4_address server;
    bool pi = false;
    bool padded_menu = false;
    bool http = false;
  };

  reply handle_proxy(message_view const& m, message_type type, packet_context const& ctx, reply r,
                     std::span<std::byte> out) noexcept;
  reply handle_full(message_view const& m, message_type type, packet_context const& ctx, reply r,
                    std::span<std::byte> out) noexcept;

  [[nodiscard]] subnet_config const* select_subnet(message_view const& m, packet_context const& ctx) const noexcept;
  [[nodiscard]] host_config const* find_host(std::optional<core::mac_address> mac) const noexcept;
  [[nodiscard]] std::optional<boot_answer> boot_for(classification const& c, host_config const* host,
                                                    core::ipv4_address ours) const noexcept;
  [[nodiscard]] std::optional<core::ipv4_address> pick_address(subnet_config const& net, message_view const& m,
                                                               std::string_view key, host_config const* host,
                                                               std::int64_t now) const noexcept;
  [[nodiscard]] bool address_free_for(core::ipv4_address a, std::string_view key, std::int64_t now) const noexcept;
  [[nodiscard]] bool reserved_for_other(core::ipv4_address a, std::optional<core::mac_address> mac) const noexcept;
  [[nodiscard]] core::ipv4_address our_address(packet_context const& ctx) const noexcept;

  /// Remembers the class of boot clients by chaddr, so that a Pi 4/5 REQUEST without option 60
  /// still gets the boot options of its DISCOVER (spec 3.2).
  void remember(message_view const& m, classification const& c, std::int64_t now) noexcept;
  [[nodiscard]] classification recall(message_view const& m, classification c, std::int64_t now) const noexcept;

  struct remembered {
    classification client;
    std::int64_t seen = 0;
  };

  void index_reservations();

  engine_config config_;
  lease_store& leases_;
  std::vector<std::uint32_t> reserved_;  ///< host reservation addresses, sorted, unique
  classifier_config classifier_;
  std::unordered_map<std::uint64_t, remembered> boot_clients_;
};

}  // namespace pinetboot::dhcp
