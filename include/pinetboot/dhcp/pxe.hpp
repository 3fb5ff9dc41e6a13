/// @file
/// @brief PXE and Raspberry Pi specifics: the vendor class string (PXE 2.1 spec 2.2.5),
/// option 43 PXE sub-options (PXE 2.1 spec 2.2.6), the Raspberry Pi boot menu and option 97
/// signatures (shared/spec/raspberry-pi-netboot.md 3.7, 3.8), and client classification.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/byte_writer.hpp"
#include "pinetboot/core/pi_serial.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/dhcp/error.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/options.hpp"

namespace pinetboot::dhcp {

// ---- option 60 ----------------------------------------------------------------------------------

/// Which firmware family a vendor class names.
enum class vendor_kind : std::uint8_t { pxe_client, http_client };

/// `PXEClient:Arch:xxxxx:UNDI:yyyzzz` / `HTTPClient:Arch:xxxxx:UNDI:yyyzzz`, or a prefix of it.
struct vendor_class_info {
  vendor_kind kind = vendor_kind::pxe_client;
  std::optional<std::uint16_t> arch;                   ///< the 5 decimal digits after `:Arch:`
  std::optional<std::uint8_t> undi_major, undi_minor;  ///< the 3+3 decimal digits after `:UNDI:`
  /// Anything after the recognised fields (non-standard firmware), not validated.
  std::string_view rest;
};

/// Parses a vendor class identifier. Accepts the bare `PXEClient`/`HTTPClient` prefix, the
/// prefix with `:Arch:xxxxx`, and the full form; unrecognised text after a complete field is
/// returned in `rest`. Errors: not_pxe (other prefix), bad_option_value (malformed digits).
[[nodiscard]] result<vendor_class_info> parse_vendor_class(std::string_view s) noexcept;

// ---- option 43 PXE sub-options --------------------------------------------------------------------

/// PXE vendor sub-option codes (PXE 2.1 spec table 2-1).
namespace pxe_sub {
inline constexpr std::uint8_t mtftp_ip = 1, mtftp_cport = 2, mtftp_sport = 3, mtftp_tmout = 4,
                              mtftp_delay = 5, discovery_control = 6, discovery_mcast_addr = 7,
                              boot_servers = 8, boot_menu = 9, menu_prompt = 10, mcast_addrs_alloc = 11,
                              credential_types = 12, boot_item = 71, end = 255;
}

/// One entry of sub-option 9: boot server type and description.
struct menu_entry {
  std::uint16_t type = 0;
  std::string_view description;
};
/// One entry of sub-option 8: a server type with its addresses.
struct boot_server_entry {
  std::uint16_t type = 0;
  ipv4_list_view addresses;
};

namespace detail {
// Iterates validated length-prefixed records of sub-options 8 and 9.
template <class T, std::size_t Fixed, T (*Make)(std::span<const std::byte> rec) noexcept,
          std::size_t Unit = 1>
class record_list {
 public:
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    constexpr iterator() noexcept = default;
    constexpr explicit iterator(std::span<const std::byte> r) noexcept : rest_{r} {}
    T operator*() const noexcept { return Make(rest_.first(size())); }
    iterator& operator++() noexcept {
      rest_ = rest_.subspan(size());
      return *this;
    }
    void operator++(int) noexcept { ++*this; }
    friend bool operator==(iterator const& a, std::default_sentinel_t) noexcept { return a.rest_.empty(); }

   private:
    [[nodiscard]] std::size_t size() const noexcept {
      return Fixed + std::to_integer<std::size_t>(rest_[Fixed - 1]) * Unit;
    }
    std::span<const std::byte> rest_;
  };
  constexpr record_list() noexcept = default;
  /// Errors: bad_option_value (a record runs past the end).
  [[nodiscard]] static result<record_list> parse(std::span<const std::byte> raw) noexcept {
    std::size_t pos = 0;
    while (pos < raw.size()) {
      if (raw.size() - pos < Fixed) return errc::bad_option_value;
      std::size_t n = Fixed + std::to_integer<std::size_t>(raw[pos + Fixed - 1]) * Unit;
      if (raw.size() - pos < n) return errc::bad_option_value;
      pos += n;
    }
    return record_list{raw};
  }
  [[nodiscard]] iterator begin() const noexcept { return iterator{raw_}; }
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }
  [[nodiscard]] constexpr bool empty() const noexcept { return raw_.empty(); }

 private:
  constexpr explicit record_list(std::span<const std::byte> r) noexcept : raw_{r} {}
  std::span<const std::byte> raw_;
};
inline menu_entry make_menu_entry(std::span<const std::byte> r) noexcept {
  return {core::byte_reader::u16_unchecked(r), core::as_chars(r.subspan(3))};
}
inline boot_server_entry make_boot_server(std::span<const std::byte> r) noexcept {
  return {core::byte_reader::u16_unchecked(r), ipv4_list_view{r.subspan(3)}};
}
}  // namespace detail

/// Sub-option 9 entries: type(2) length(1) description.
using boot_menu_view = detail::record_list<menu_entry, 3, &detail::make_menu_entry>;
/// Sub-option 8 entries: type(2) count(1) count x IPv4.
using boot_servers_view = detail::record_list<boot_server_entry, 3, &detail::make_boot_server, 4>;

/// Sub-option 10: timeout in seconds and prompt text.
struct menu_prompt_view {
  std::uint8_t timeout = 0;
  std::string_view prompt;
};
/// Sub-option 71: boot server type and layer.
struct boot_item_value {
  std::uint16_t type = 0;
  std::uint16_t layer = 0;
  friend constexpr bool operator==(boot_item_value const&, boot_item_value const&) noexcept = default;
};

/// Decoded option 43 in PXE form. The first occurrence of each sub-option wins; `all`
/// iterates every sub-option including unknown ones.
struct pxe_options_view {
  sub_option_list all;
  std::optional<std::uint8_t> discovery_control;
  std::optional<boot_servers_view> boot_servers;
  std::optional<boot_menu_view> boot_menu;
  std::optional<menu_prompt_view> menu_prompt;
  std::optional<boot_item_value> boot_item;

  /// True if a boot menu entry's description contains `needle` (the Pi EEPROM does a
  /// sub-string match, spec 3.7).
  [[nodiscard]] bool menu_contains(std::string_view needle) const noexcept;
};

/// Decodes an option 43 value as PXE sub-options.
/// Errors: bad_option_value (framing, or a known sub-option with a wrong length).
[[nodiscard]] result<pxe_options_view> parse_pxe_options(std::span<const std::byte> value) noexcept;

/// Input to pxe_options_writer::boot_servers().
struct boot_server_spec {
  std::uint16_t type = 0;
  std::span<const core::ipv4_address> addresses;
};

/// Writes option 43 PXE sub-options (the value only, without the `43 len` header) into a
/// caller buffer. Sub-options are written in call order; finish() appends End (255).
class pxe_options_writer {
 public:
  explicit pxe_options_writer(std::span<std::byte> out) noexcept : w_{out} {}
  pxe_options_writer& discovery_control(std::uint8_t bits) noexcept;
  pxe_options_writer& boot_servers(std::span<const boot_server_spec> servers) noexcept;
  pxe_options_writer& boot_menu(std::span<const menu_entry> entries) noexcept;
  pxe_options_writer& menu_prompt(std::uint8_t timeout, std::string_view prompt) noexcept;
  pxe_options_writer& boot_item(std::uint16_t type, std::uint16_t layer) noexcept;
  pxe_options_writer& raw(std::uint8_t code, std::span<const std::byte> value) noexcept;
  /// Errors: buffer_too_small (needed() has the size), bad_option_value (a sub-option > 255).
  [[nodiscard]] result<std::size_t> finish() noexcept;
  [[nodiscard]] std::size_t needed() const noexcept { return w_.needed(); }

 private:
  void header(std::uint8_t code, std::size_t len) noexcept;
  core::byte_writer w_;
  bool bad_ = false;
  bool finished_ = false;
};

/// The menu text every Raspberry Pi boot ROM/bootloader looks for (spec 3.7).
inline constexpr std::string_view pi_boot_menu_text = "Raspberry Pi Boot";
/// The same with three trailing spaces, for the original Pi 3B ROM (spec 3.7, 9.1).
inline constexpr std::string_view pi_boot_menu_text_padded = "Raspberry Pi Boot   ";

/// Writes the option 43 value dnsmasq sends for `pxe-service=0,"<text>"` (spec 12.2):
/// `06 01 03`, `0a 04 00 'PXE'`, `09 <3+n> 00 00 <n> <text>`, `ff`. For the default text the
/// result is the 32-byte published blob; for pi_boot_menu_text_padded the 35-byte form.
/// Errors: buffer_too_small, bad_option_value (text longer than 250 bytes).
[[nodiscard]] result<std::size_t> write_pi_boot_menu(std::span<std::byte> out,
                                                     std::string_view text = pi_boot_menu_text) noexcept;

// ---- option 97 on a Raspberry Pi ------------------------------------------------------------------

/// How a Pi filled option 97 (spec 3.8).
enum class pi_guid_form : std::uint8_t {
  constant,         ///< 16 x 0x44 (Pi 3B ROM): carries nothing
  serial_repeated,  ///< serial as LE u32, four times (3B+ ROM, bootcode.bin, old Pi 4 EEPROMs)
  fourcc,           ///< FourCC | revision LE | MAC low 4 bytes | serial (Pi 4 >= 2020-03, Pi 5)
};

/// A decoded Raspberry Pi option 97.
struct pi_guid {
  pi_guid_form form = pi_guid_form::constant;
  /// The FourCC in reading order ("RPi4", "RPi5"), whichever byte order it came in; for a
  /// configured custom prefix, its 4 bytes as sent.
  std::array<char, 4> fourcc{};
  bool reversed = false;                  ///< FourCC came as "4iPR" (newer EEPROMs, spec 3.8)
  bool custom = false;                    ///< matched a configured DHCP_OPTION97 prefix rather than "RPi<n>"
  std::uint32_t revision = 0;             ///< board revision code (fourcc form)
  std::array<std::uint8_t, 4> mac_low{};  ///< low 4 MAC bytes in MAC order (fourcc form)
  std::optional<core::pi_serial> serial;  ///< low 32 bits of the serial where the GUID has it
};

/// A 4-byte option 97 prefix configured with the EEPROM's DHCP_OPTION97 (wire order).
using guid_prefix = std::array<std::uint8_t, 4>;

/// Recognises a Pi option 97 value (type 0 + 16 bytes). The trailing serial of the fourcc
/// form is read little-endian (spec 3.8: unverified; LE as everywhere else).
/// Errors: not_raspberry_pi.
[[nodiscard]] result<pi_guid> decode_pi_guid(guid_view const& guid,
                                             std::span<const guid_prefix> extra_prefixes = {}) noexcept;

// ---- classification -------------------------------------------------------------------------------

/// What kind of network-boot client sent a message.
enum class client_class : std::uint8_t {
  not_pxe,       ///< no PXEClient/HTTPClient vendor class, not iPXE: an ordinary DHCP client
  raspberry_pi,  ///< Pi boot ROM / bootcode.bin / EEPROM bootloader
  x86_bios,      ///< arch 0 without Pi evidence
  uefi_ia32,     ///< arch 6
  uefi_x64,      ///< arch 7 (and 9, see client_arch)
  uefi_arm32,    ///< arch 10
  uefi_arm64,    ///< arch 11
  uefi_http,     ///< HTTPClient vendor class or an HTTP arch type; see classification::arch
  ipxe,          ///< iPXE (user class "iPXE" or option 175)
  unknown_pxe,   ///< PXEClient with another or no architecture
};

/// Which Raspberry Pi first-stage code is talking (spec 2, 3.8).
enum class pi_generation : std::uint8_t {
  unknown,
  pi3_rom,       ///< Pi 2B v1.2 / 3B mask ROM (constant 0x44 GUID)
  pi3_bootcode,  ///< 3B+ ROM or bootcode.bin (serial GUID, B8:27:EB MAC)
  pi4,           ///< Pi 4 / 400 / CM4 EEPROM
  pi5,           ///< Pi 5 / 500 / CM5 EEPROM
};

/// An IEEE OUI (first three MAC octets).
using oui = std::array<std::uint8_t, 3>;

/// Raspberry Pi Ethernet OUIs (spec 8); configuration, not a closed list.
inline constexpr std::array<oui, 7> default_pi_ouis{{
    {0xb8, 0x27, 0xeb},
    {0xdc, 0xa6, 0x32},
    {0xe4, 0x5f, 0x01},
    {0xd8, 0x3a, 0xdd},
    {0x2c, 0xcf, 0x67},
    {0x28, 0xcd, 0xc1},
    {0x88, 0xa2, 0x9e},
}};

/// Inputs to classify() that deployments may need to change.
struct classifier_config {
  std::span<const oui> pi_ouis = default_pi_ouis;
  /// Extra option 97 prefixes (EEPROM DHCP_OPTION97), matched in wire order after the type byte.
  std::span<const guid_prefix> extra_guid_prefixes = {};
  bool match_oui = true;   ///< a Pi OUI with arch 0 is enough to say raspberry_pi
  bool match_guid = true;  ///< a Pi option 97 with arch 0 is enough to say raspberry_pi
};

/// The result of classify().
struct classification {
  client_class kind = client_class::not_pxe;
  pi_generation pi = pi_generation::unknown;  ///< only for raspberry_pi
  std::optional<std::uint16_t> arch;          ///< first option 93 entry, else the vendor class arch
  bool http = false;                          ///< HTTPClient vendor class or HTTP arch type
  bool ipxe = false;                          ///< user class "iPXE" or option 175 present
  bool pi_oui = false;                        ///< chaddr has a configured Pi OUI
  std::optional<pi_guid> guid;                ///< option 97 decoded as a Pi GUID
};

/// Classifies a request. Rules, in order: iPXE (user class 77 "iPXE" or option 175) ->
/// ipxe; no `PXEClient`/`HTTPClient` vendor class -> not_pxe; HTTPClient or HTTP arch ->
/// uefi_http; arch 0 with a Pi GUID or Pi OUI -> raspberry_pi (arch 0 alone is x86_bios: a Pi
/// also sends 0, spec 1); then the architecture. Never fails.
[[nodiscard]] classification classify(message_view const& msg, classifier_config const& config = {}) noexcept;

/// Display names ("raspberry_pi", "pi4", ...), stable for logs and tests.
[[nodiscard]] std::string_view to_string(client_class c) noexcept;
[[nodiscard]] std::string_view to_string(pi_generation g) noexcept;

}  // namespace pinetboot::dhcp
