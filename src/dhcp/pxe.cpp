#include "pinetboot/dhcp/pxe.hpp"

#include <algorithm>

namespace pinetboot::dhcp {
namespace {

// Reads exactly `n` decimal digits at `pos`.
std::optional<std::uint32_t> digits(std::string_view s, std::size_t& pos, std::size_t n) noexcept {
  if (s.size() - pos < n) return std::nullopt;
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  pos += n;
  return v;
}

bool eat(std::string_view s, std::size_t& pos, std::string_view lit) noexcept {
  if (s.substr(pos).starts_with(lit)) {
    pos += lit.size();
    return true;
  }
  return false;
}

std::uint8_t b(std::span<const std::byte> v, std::size_t i) noexcept {
  return std::to_integer<std::uint8_t>(v[i]);
}

}  // namespace

result<vendor_class_info> parse_vendor_class(std::string_view s) noexcept {
  vendor_class_info info;
  std::size_t pos = 0;
  if (eat(s, pos, "PXEClient"))
    info.kind = vendor_kind::pxe_client;
  else if (eat(s, pos, "HTTPClient"))
    info.kind = vendor_kind::http_client;
  else
    return errc::not_pxe;
  if (eat(s, pos, ":Arch:")) {
    auto a = digits(s, pos, 5);
    if (!a || *a > 0xffff) return errc::bad_option_value;
    info.arch = static_cast<std::uint16_t>(*a);
    if (eat(s, pos, ":UNDI:")) {
      auto major = digits(s, pos, 3);
      auto minor = major ? digits(s, pos, 3) : std::nullopt;
      if (!major || !minor || *major > 255 || *minor > 255) return errc::bad_option_value;
      info.undi_major = static_cast<std::uint8_t>(*major);
      info.undi_minor = static_cast<std::uint8_t>(*minor);
    }
  }
  info.rest = s.substr(pos);
  return info;
}

bool pxe_options_view::menu_contains(std::string_view needle) const noexcept {
  if (!boot_menu) return false;
  for (menu_entry e : *boot_menu)
    if (e.description.find(needle) != std::string_view::npos) return true;
  return false;
}

result<pxe_options_view> parse_pxe_options(std::span<const std::byte> value) noexcept {
  auto list = sub_option_list::parse(value, true);
  if (!list) return list.error();
  pxe_options_view v;
  v.all = *list;
  for (sub_option_view s : *list) {
    switch (s.code) {
      case pxe_sub::discovery_control:
        if (s.data.size() != 1) return errc::bad_option_value;
        if (!v.discovery_control) v.discovery_control = b(s.data, 0);
        break;
      case pxe_sub::boot_servers: {
        auto r = boot_servers_view::parse(s.data);
        if (!r) return r.error();
        if (!v.boot_servers) v.boot_servers = *r;
        break;
      }
      case pxe_sub::boot_menu: {
        auto r = boot_menu_view::parse(s.data);
        if (!r) return r.error();
        if (!v.boot_menu) v.boot_menu = *r;
        break;
      }
      case pxe_sub::menu_prompt:
        if (s.data.empty()) return errc::bad_option_value;
        if (!v.menu_prompt) v.menu_prompt = menu_prompt_view{b(s.data, 0), core::as_chars(s.data.subspan(1))};
        break;
      case pxe_sub::boot_item:
        if (s.data.size() != 4) return errc::bad_option_value;
        if (!v.boot_item)
          v.boot_item = boot_item_value{core::byte_reader::u16_unchecked(s.data),
                                        core::byte_reader::u16_unchecked(s.data.subspan(2))};
        break;
      default:
        break;
    }
  }
  return v;
}

void pxe_options_writer::header(std::uint8_t code, std::size_t len) noexcept {
  if (len > 255) bad_ = true;
  w_.u8(code);
  w_.u8(static_cast<std::uint8_t>(len & 0xffU));
}

pxe_options_writer& pxe_options_writer::discovery_control(std::uint8_t bits) noexcept {
  header(pxe_sub::discovery_control, 1);
  w_.u8(bits);
  return *this;
}

pxe_options_writer& pxe_options_writer::boot_servers(std::span<const boot_server_spec> servers) noexcept {
  std::size_t len = 0;
  for (auto const& s : servers) {
    if (s.addresses.size() > 255) bad_ = true;
    len += 3 + 4 * s.addresses.size();
  }
  header(pxe_sub::boot_servers, len);
  for (auto const& s : servers) {
    w_.u16(s.type);
    w_.u8(static_cast<std::uint8_t>(s.addresses.size() & 0xffU));
    for (auto a : s.addresses) w_.u32(a.to_uint());
  }
  return *this;
}

pxe_options_writer& pxe_options_writer::boot_menu(std::span<const menu_entry> entries) noexcept {
  std::size_t len = 0;
  for (auto const& e : entries) {
    if (e.description.size() > 255) bad_ = true;
    len += 3 + e.description.size();
  }
  header(pxe_sub::boot_menu, len);
  for (auto const& e : entries) {
    w_.u16(e.type);
    w_.u8(static_cast<std::uint8_t>(e.description.size() & 0xffU));
    w_.chars(e.description);
  }
  return *this;
}

pxe_options_writer& pxe_options_writer::menu_prompt(std::uint8_t timeout, std::string_view prompt) noexcept {
  header(pxe_sub::menu_prompt, 1 + prompt.size());
  w_.u8(timeout);
  w_.chars(prompt);
  return *this;
}

pxe_options_writer& pxe_options_writer::boot_item(std::uint16_t type, std::uint16_t layer) noexcept {
  header(pxe_sub::boot_item, 4);
  w_.u16(type);
  w_.u16(layer);
  return *this;
}

pxe_options_writer& pxe_options_writer::raw(std::uint8_t code, std::span<const std::byte> value) noexcept {
  if (code == 0 || code == 255) bad_ = true;
  header(code, value.size());
  w_.bytes(value);
  return *this;
}

result<std::size_t> pxe_options_writer::finish() noexcept {
  if (!finished_) {
    w_.u8(pxe_sub::end);
    finished_ = true;
  }
  if (bad_) return errc::bad_option_value;
  if (w_.overflowed()) return errc::buffer_too_small;
  return w_.needed();
}

result<std::size_t> write_pi_boot_menu(std::span<std::byte> out, std::string_view text) noexcept {
  if (text.size() > 250) return errc::bad_option_value;
  menu_entry const entry{0, text};
  pxe_options_writer w{out};
  // Order and values as dnsmasq's pxe_opts() for pxe-service=0,"...": discovery control 3
  // (no broadcast/multicast discovery), prompt with timeout 0, then the menu.
  w.discovery_control(3).menu_prompt(0, "PXE").boot_menu({&entry, 1});
  return w.finish();
}

result<pi_guid> decode_pi_guid(guid_view const& guid, std::span<const guid_prefix> extra_prefixes) noexcept {
  if (guid.type != 0) return errc::not_raspberry_pi;
  auto id = std::span<const std::byte>{guid.id};
  pi_guid g;
  if (std::all_of(id.begin(), id.end(), [](std::byte x) { return x == std::byte{0x44}; })) {
    g.form = pi_guid_form::constant;
    return g;
  }
  auto le32 = [&](std::size_t at) noexcept {
    return std::uint32_t{b(id, at)} | std::uint32_t{b(id, at + 1)} << 8 | std::uint32_t{b(id, at + 2)} << 16 |
           std::uint32_t{b(id, at + 3)} << 24;
  };
  auto is_digit = [](std::uint8_t c) noexcept { return c >= '0' && c <= '9'; };
  bool forward = b(id, 0) == 'R' && b(id, 1) == 'P' && b(id, 2) == 'i' && is_digit(b(id, 3));
  bool reversed = is_digit(b(id, 0)) && b(id, 1) == 'i' && b(id, 2) == 'P' && b(id, 3) == 'R';
  bool custom = false;
  for (auto const& p : extra_prefixes) {
    if (b(id, 0) == p[0] && b(id, 1) == p[1] && b(id, 2) == p[2] && b(id, 3) == p[3]) custom = true;
  }
  if (forward || reversed || custom) {
    g.form = pi_guid_form::fourcc;
    g.reversed = reversed && !forward;
    g.custom = custom && !forward && !reversed;
    for (std::size_t i = 0; i < 4; ++i) g.fourcc[i] = static_cast<char>(b(id, g.reversed ? 3 - i : i));
    g.revision = le32(4);
    for (std::size_t i = 0; i < 4; ++i) g.mac_low[i] = b(id, 8 + i);
    g.serial = core::pi_serial{le32(12)};
    return g;
  }
  bool repeated = true;
  for (std::size_t i = 4; i < 16; ++i) repeated = repeated && id[i] == id[i % 4];
  if (repeated) {
    g.form = pi_guid_form::serial_repeated;
    g.serial = core::pi_serial{le32(0)};
    return g;
  }
  return errc::not_raspberry_pi;
}

namespace {

bool has_user_class_ipxe(message_view const& msg) noexcept {
  auto uc = opt::user_class(msg);
  if (!uc) return false;
  auto s = core::as_chars(*uc);
  // iPXE sends the bare string; RFC 3004 framing prefixes each instance with its length.
  if (s == "iPXE") return true;
  std::size_t pos = 0;
  while (pos < s.size()) {
    auto len = static_cast<std::size_t>(static_cast<unsigned char>(s[pos]));
    if (s.size() - pos - 1 < len) break;
    if (s.substr(pos + 1, len) == "iPXE") return true;
    pos += 1 + len;
  }
  return false;
}

client_class class_of_arch(std::uint16_t arch) noexcept {
  switch (static_cast<client_arch>(arch)) {
    case client_arch::x86_bios:
      return client_class::x86_bios;
    case client_arch::x86_uefi:
      return client_class::uefi_ia32;
    case client_arch::x64_uefi:
    case client_arch::ebc:
      return client_class::uefi_x64;
    case client_arch::arm32_uefi:
      return client_class::uefi_arm32;
    case client_arch::arm64_uefi:
      return client_class::uefi_arm64;
    default:
      return is_http_arch(arch) ? client_class::uefi_http : client_class::unknown_pxe;
  }
}

}  // namespace

classification classify(message_view const& msg, classifier_config const& config) noexcept {
  classification c;
  std::optional<vendor_class_info> vc;
  if (auto text = opt::vendor_class(msg)) {
    if (auto parsed = parse_vendor_class(*text)) {
      vc = *parsed;
    } else if (text->starts_with("PXEClient") || text->starts_with("HTTPClient")) {
      vc = vendor_class_info{text->starts_with("HTTP") ? vendor_kind::http_client : vendor_kind::pxe_client,
                             std::nullopt,
                             std::nullopt,
                             std::nullopt,
                             {}};
    }
  }
  if (auto archs = opt::client_arch(msg))
    c.arch = (*archs)[0];
  else if (vc && vc->arch)
    c.arch = vc->arch;
  c.ipxe = has_user_class_ipxe(msg) || msg.find(option::ipxe_encap).has_value();
  c.http = (vc && vc->kind == vendor_kind::http_client) || (c.arch && is_http_arch(*c.arch));
  if (auto mac = msg.mac()) {
    for (auto const& o : config.pi_ouis)
      if (mac->has_prefix(o)) c.pi_oui = true;
  }
  if (auto g = opt::client_guid(msg)) {
    if (auto pg = decode_pi_guid(*g, config.extra_guid_prefixes)) c.guid = *pg;
  }

  if (c.ipxe) {
    c.kind = client_class::ipxe;
    return c;
  }
  if (!vc) return c;  // not_pxe
  if (c.http) {
    c.kind = client_class::uefi_http;
    return c;
  }
  if (!c.arch) {
    c.kind = client_class::unknown_pxe;
    return c;
  }
  bool pi_evidence = (config.match_guid && c.guid) || (config.match_oui && c.pi_oui);
  if (*c.arch == 0 && pi_evidence) {
    c.kind = client_class::raspberry_pi;
    static constexpr oui pi123_oui{0xb8, 0x27, 0xeb};
    bool old_oui = msg.mac() && msg.mac()->has_prefix(pi123_oui);
    if (c.guid) {
      switch (c.guid->form) {
        case pi_guid_form::constant:
          c.pi = pi_generation::pi3_rom;
          break;
        case pi_guid_form::serial_repeated:
          // BCM283x boards derive the MAC from the serial under B8:27:EB; a Pi 4 with an old
          // EEPROM sends the same GUID form with its own OUI.
          c.pi = old_oui ? pi_generation::pi3_bootcode : pi_generation::pi4;
          break;
        case pi_guid_form::fourcc: {
          char digit = c.guid->custom ? '\0' : c.guid->fourcc[3];
          // Board type from the revision code (bits 4-11), for custom prefixes.
          auto type = (c.guid->revision >> 4) & 0xffU;
          if (digit == '4' || (digit == '\0' && type >= 0x11 && type <= 0x15))
            c.pi = pi_generation::pi4;
          else if (digit == '5' || (digit == '\0' && type >= 0x17 && type <= 0x1a))
            c.pi = pi_generation::pi5;
          break;
        }
      }
    }
    return c;
  }
  c.kind = class_of_arch(*c.arch);
  return c;
}

}  // namespace pinetboot::dhcp
