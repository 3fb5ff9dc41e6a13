/// @file
/// @brief A model of a Raspberry Pi's first-stage DHCP client (sans-I/O), for tests, the fleet
/// simulator and boot-storm benchmarks.
///
/// What it models (shared/spec/raspberry-pi-netboot.md 3.1-3.4, 3.8, 3.9, 12):
/// - **pi3_rom** (Pi 2B v1.2 / 3B mask ROM): xid 0x26f30339, option 55 variant A, option 97 =
///   `00` + 16 x `44`; takes the first OFFER with the "Raspberry Pi Boot" menu and uses the
///   address offered, never sends REQUEST. 5 DISCOVERs 5 s apart, gives up after 25 s.
/// - **pi3_bootcode** (3B+ ROM, bootcode.bin): as pi3_rom with variant B (adds 1, 3) and
///   option 97 = `00` + serial (LE u32) x 4.
/// - **pi4** (EEPROM bootloader): random xid, PRL 1, 3, 43, 60, 66, 67, 128-135, option 97 in
///   the FourCC form (`RPi4` or, newer firmware, `4iPR`) or the legacy serial x 4 form; full
///   DISCOVER/OFFER/REQUEST/ACK, the REQUEST without option 60. Re-sends every
///   DHCP_REQ_TIMEOUT (4 s), gives up after DHCP_TIMEOUT (45 s).
/// - **pi5**: as pi4 with the FourCC `RPi5`.
///
/// Offers are merged as the EEPROM does beside a proxyDHCP (spec 3.2, UART log in 12.7): the
/// boot information comes from the first OFFER carrying the menu (its option 54 is the TFTP
/// server), the address from that same OFFER when it has one, else from the first OFFER with a
/// non-zero `yiaddr` (the site's router). Without any menu OFFER the client keeps retrying.
///
/// Time is an argument; nothing allocates; every input is handled without throwing.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/option_codes.hpp"
#include "pinetboot/dhcp/pxe.hpp"

namespace pinetboot::dhcp {

/// The constant xid of every Pi 2/3 boot ROM and bootcode.bin (spec 3.1).
inline constexpr std::uint32_t pi3_xid = 0x26f30339;

/// How a Pi 4/5 fills option 97 (spec 3.8).
enum class pi_guid_layout : std::uint8_t {
  fourcc,           ///< FourCC | revision LE | MAC low 4 bytes | serial LE (default since 2020-03)
  serial_repeated,  ///< serial LE x 4 (DHCP_OPTION97=0, EEPROMs before 2020-03)
};

/// Configuration of one modelled board.
struct pi_client_config {
  /// pi3_rom, pi3_bootcode, pi4 or pi5 (unknown behaves as pi4).
  pi_generation generation = pi_generation::pi4;
  core::mac_address mac;
  std::uint32_t serial = 0;  ///< low 32 bits of the board serial
  /// Board revision code for the FourCC GUID; 0 = 0x00c03111 (Pi 4B 4 GB) / 0x00c04170 (Pi 5 4 GB).
  std::uint32_t revision = 0;
  pi_guid_layout guid = pi_guid_layout::fourcc;  ///< pi4/pi5 only
  bool fourcc_reversed = false;                  ///< send "4iPR"/"5iPR" (newer EEPROMs)
  /// Pi 4/5 xid; default: derived from `seed` and the MAC. Ignored for Pi 3 (always pi3_xid).
  std::optional<std::uint32_t> xid;
  std::uint64_t seed = 0;
  /// 0 = the generation's default (5 s Pi 3, 4 s Pi 4/5).
  std::chrono::milliseconds retry_interval{0};
  /// 0 = the generation's default (25 s Pi 3, 45 s Pi 4/5).
  std::chrono::milliseconds give_up_after{0};
};

/// One OFFER the client accepted as addressed to it.
struct pi_offer {
  core::ipv4_address server_id;  ///< option 54 (0 if absent)
  core::ipv4_address yiaddr;     ///< 0 for a proxyDHCP offer
  core::ipv4_address siaddr;
  core::ipv4_address subnet_mask;  ///< option 1 (0 if absent)
  core::ipv4_address router;       ///< first address of option 3 (0 if absent)
  std::uint32_t lease_time = 0;    ///< option 51 (0 if absent)
  bool pi_menu = false;            ///< option 43 has a boot menu entry containing "Raspberry Pi Boot"
  friend constexpr bool operator==(pi_offer const&, pi_offer const&) noexcept = default;
};

enum class pi_client_state : std::uint8_t {
  idle,        ///< nothing sent yet: the first poll_transmit() sends the DISCOVER
  selecting,   ///< DISCOVER sent, collecting OFFERs
  requesting,  ///< Pi 4/5: REQUEST sent to the address server, waiting for its ACK
  bound,       ///< has an address and a TFTP server
  failed,      ///< gave up (timeout)
};

[[nodiscard]] std::string_view to_string(pi_client_state s) noexcept;

/// What the client ended up with (meaningful when bound).
struct pi_client_outcome {
  pi_client_state state = pi_client_state::idle;
  core::ipv4_address address;         ///< the address in use
  core::ipv4_address address_server;  ///< option 54 of the server that gave the address
  core::ipv4_address tftp_server;     ///< spec 3.9: option 54 of the menu OFFER (siaddr if absent)
  core::ipv4_address subnet_mask, router;
};

class pi_client {
 public:
  /// Offers kept in offers(); further ones are only counted (offers_seen()).
  static constexpr std::size_t max_offers = 8;

  explicit pi_client(pi_client_config const& config) noexcept;

  /// Writes the next datagram (DISCOVER or REQUEST, to 255.255.255.255:67) into `out`; 0 =
  /// nothing to send now. The first call sends the first DISCOVER and starts the clock.
  /// Errors: buffer_too_small (nothing is consumed; retry with a larger buffer, >= 576).
  [[nodiscard]] result<std::size_t> poll_transmit(std::span<std::byte> out, core::time_point now) noexcept;
  /// Feeds a datagram received on port 68. Anything that is not an OFFER/ACK/NAK for this
  /// client (xid, chaddr, BOOTREPLY) is ignored and counted.
  void on_datagram(std::span<const std::byte> in, core::time_point now) noexcept;
  /// Retransmits or gives up when next_deadline() has passed.
  void on_timer(core::time_point now) noexcept;
  [[nodiscard]] std::optional<core::time_point> next_deadline() const noexcept;

  [[nodiscard]] pi_client_state state() const noexcept { return state_; }
  [[nodiscard]] bool is_done() const noexcept {
    return state_ == pi_client_state::bound || state_ == pi_client_state::failed;
  }
  [[nodiscard]] pi_client_outcome const& outcome() const noexcept { return outcome_; }
  /// OFFERs addressed to this client, in arrival order (at most max_offers).
  [[nodiscard]] std::span<const pi_offer> offers() const noexcept { return {offers_.data(), offer_count_}; }
  [[nodiscard]] std::size_t offers_seen() const noexcept { return offers_seen_; }
  [[nodiscard]] std::uint32_t xid() const noexcept { return xid_; }
  [[nodiscard]] std::uint32_t discovers_sent() const noexcept { return discovers_; }
  [[nodiscard]] std::uint32_t requests_sent() const noexcept { return requests_; }
  [[nodiscard]] std::uint64_t ignored() const noexcept { return ignored_; }
  [[nodiscard]] pi_client_config const& config() const noexcept { return config_; }

  /// The DISCOVER this board sends, byte for byte (spec 12.1, 12.4, 12.5).
  /// Errors: buffer_too_small.
  [[nodiscard]] result<std::size_t> write_discover(std::span<std::byte> out) const noexcept;
  /// The Pi 4/5 REQUEST for `address` from `server` (options 53, 50, 54, 55, 93, 94, 97; no 60).
  /// Errors: buffer_too_small.
  [[nodiscard]] result<std::size_t> write_request(std::span<std::byte> out, core::ipv4_address address,
                                                  core::ipv4_address server) const noexcept;
  /// The 17-byte option 97 value this board sends.
  [[nodiscard]] std::array<std::byte, 17> guid() const noexcept;

 private:
  enum class pending : std::uint8_t { none, discover, request };

  [[nodiscard]] bool is_pi3() const noexcept;
  void try_select(core::time_point now) noexcept;
  void arm(core::time_point now) noexcept;

  pi_client_config config_;
  std::uint32_t xid_ = 0;
  std::chrono::milliseconds interval_{}, give_up_{};
  pi_client_state state_ = pi_client_state::idle;
  pending pending_ = pending::none;
  core::time_point started_{};
  std::optional<core::time_point> deadline_;
  std::array<pi_offer, max_offers> offers_{};
  std::size_t offer_count_ = 0, offers_seen_ = 0;
  std::optional<pi_offer> menu_offer_, address_offer_;
  pi_client_outcome outcome_;
  std::uint32_t discovers_ = 0, requests_ = 0;
  std::uint64_t ignored_ = 0;
};

}  // namespace pinetboot::dhcp
