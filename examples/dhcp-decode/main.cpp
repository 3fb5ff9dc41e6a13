// pinetboot-dhcp-decode: prints a DHCP message the way `tshark -V` does, plus pinetboot's
// classification of the client.
//
//   pinetboot-dhcp-decode [--raw] [FILE...]     (no FILE or "-": read stdin)
//
// Input is hex by default: bare bytes ("01 01 06 00 ..."), '#' comments, and dump styles
// with a leading offset column ("0000  ff ff ..", tcpdump -xx "0x0000:  4500 0148 ..",
// xxd "00000000: 0101 0600 ..  ascii"). A full Ethernet/IPv4/UDP frame or an IPv4/UDP
// packet is unwrapped to its DHCP payload. --raw reads the file as binary.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../common/args.hpp"
#include "pinetboot/core/file.hpp"
#include "pinetboot/dhcp.hpp"

namespace {

using namespace pinetboot;
using namespace pinetboot::dhcp;

// ---- input -------------------------------------------------------------------------------------

bool is_hex(char c) { return core::detail::hex_value(c) >= 0; }
bool all_hex(std::string_view s) {
  for (char c : s)
    if (!is_hex(c)) return false;
  return !s.empty();
}

// Parses hex text; on error returns nullopt and sets `why`.
std::optional<std::vector<std::byte>> parse_hex(std::string const& text, std::string& why) {
  std::string digits;
  std::istringstream lines{text};
  std::string line;
  int lineno = 0;
  while (std::getline(lines, line)) {
    ++lineno;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::vector<std::string> tokens;
    std::istringstream ts{line};
    for (std::string t; ts >> t;) tokens.push_back(t);
    if (tokens.empty()) continue;
    std::size_t first = 0;
    bool offset_column = false;
    std::string_view t0 = tokens[0];
    if (t0.size() > 1 && t0.back() == ':') {
      offset_column = true;  // tcpdump -xx "0x0000:" or xxd "00000000:"
    } else if (tokens.size() > 1 && t0.size() >= 4 && all_hex(t0)) {
      // "0000  ff ff ..": an offset column if the other tokens are byte-sized.
      offset_column = true;
      for (std::size_t i = 1; i < tokens.size() && offset_column; ++i)
        offset_column = tokens[i].size() == 2 || tokens[i].size() == 4;
      if (offset_column && t0.size() == 4 && tokens[1].size() == 4) offset_column = true;
    }
    if (offset_column) first = 1;
    for (std::size_t i = first; i < tokens.size(); ++i) {
      std::string_view t = tokens[i];
      if (t.starts_with("0x") || t.starts_with("0X")) t.remove_prefix(2);
      if (!all_hex(t)) {
        if (offset_column) break;  // the ASCII column of xxd / hexdump -C
        why = "line " + std::to_string(lineno) + ": not hex: '" + std::string(tokens[i]) + "'";
        return std::nullopt;
      }
      digits += t;
    }
  }
  if (digits.size() % 2 != 0) {
    why = "odd number of hex digits";
    return std::nullopt;
  }
  std::vector<std::byte> out(digits.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>(core::detail::hex_value(digits[2 * i]) << 4 |
                                    core::detail::hex_value(digits[2 * i + 1]));
  return out;
}

std::uint8_t at(std::span<const std::byte> b, std::size_t i) { return std::to_integer<std::uint8_t>(b[i]); }

// Finds the UDP payload of an Ethernet II or bare IPv4 packet to/from ports 67/68/4011.
std::optional<std::pair<std::size_t, std::string>> unwrap(std::span<const std::byte> b) {
  auto try_ip = [&](std::size_t ip, std::string what) -> std::optional<std::pair<std::size_t, std::string>> {
    if (b.size() < ip + 20 || (at(b, ip) >> 4) != 4) return std::nullopt;
    std::size_t ihl = std::size_t{at(b, ip) & 0x0fU} * 4;
    if (ihl < 20 || at(b, ip + 9) != 17 || b.size() < ip + ihl + 8) return std::nullopt;
    std::size_t udp = ip + ihl;
    auto port = [&](std::size_t o) { return core::byte_reader::u16_unchecked(b.subspan(o)); };
    auto src = core::ipv4_address::from_bytes_unchecked(b.subspan(ip + 12));
    auto dst = core::ipv4_address::from_bytes_unchecked(b.subspan(ip + 16));
    what += "IPv4 " + src.to_string() + ":" + std::to_string(port(udp)) + " -> " + dst.to_string() + ":" +
            std::to_string(port(udp + 2)) + ", UDP";
    return std::pair{udp + 8, what};
  };
  if (b.size() > 14 && at(b, 12) == 0x08 && at(b, 13) == 0x00) {
    char mac[64];
    std::snprintf(mac, sizeof mac,
                  "Ethernet II %02x:%02x:%02x:%02x:%02x:%02x -> %02x:%02x:%02x:%02x:%02x:%02x, ", at(b, 6),
                  at(b, 7), at(b, 8), at(b, 9), at(b, 10), at(b, 11), at(b, 0), at(b, 1), at(b, 2), at(b, 3),
                  at(b, 4), at(b, 5));
    if (auto r = try_ip(14, mac)) return r;
  }
  return try_ip(0, "");
}

// ---- output helpers ----------------------------------------------------------------------------

std::string hex(std::span<const std::byte> b, char sep = 0) {
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (sep != 0 && i > 0) s += sep;
    s += core::detail::hex_digits[at(b, i) >> 4];
    s += core::detail::hex_digits[at(b, i) & 0xf];
  }
  return s;
}
std::string hex16(unsigned v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", width, v);
  return buf;
}
std::string quoted(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}
bool printable(std::span<const std::byte> b) {
  if (b.empty()) return false;
  for (auto x : b) {
    auto u = std::to_integer<unsigned>(x);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}
std::string duration(std::uint32_t s) {
  if (s == 0xffffffffU) return "infinity";
  std::string out = std::to_string(s) + " s";
  if (s >= 60) {
    out += " (";
    if (s / 86400) out += std::to_string(s / 86400) + "d";
    if (s / 3600 % 24) out += std::to_string(s / 3600 % 24) + "h";
    if (s / 60 % 60) out += std::to_string(s / 60 % 60) + "m";
    if (s % 60) out += std::to_string(s % 60) + "s";
    out += ")";
  }
  return out;
}
std::string uuid(std::span<const std::byte, 16> id) {
  // RFC 4122 text with the first three fields little-endian, as Wireshark shows SMBIOS UUIDs.
  std::array<std::byte, 16> b;
  for (std::size_t i = 0; i < 16; ++i) b[i] = id[i];
  std::swap(b[0], b[3]);
  std::swap(b[1], b[2]);
  std::swap(b[4], b[5]);
  std::swap(b[6], b[7]);
  auto s = std::span<const std::byte>{b};
  return hex(s.first(4)) + "-" + hex(s.subspan(4, 2)) + "-" + hex(s.subspan(6, 2)) + "-" +
         hex(s.subspan(8, 2)) + "-" + hex(s.subspan(10));
}

constexpr char const* ind1 = "    ";
constexpr char const* ind2 = "        ";
constexpr char const* ind3 = "            ";

void line(char const* indent, std::string const& text) { std::cout << indent << text << '\n'; }

std::string sub_name_pxe(std::uint8_t c) {
  switch (c) {
    case 1:
      return "PXE_MTFTP_IP";
    case 2:
      return "PXE_MTFTP_CPORT";
    case 3:
      return "PXE_MTFTP_SPORT";
    case 4:
      return "PXE_MTFTP_TMOUT";
    case 5:
      return "PXE_MTFTP_DELAY";
    case 6:
      return "PXE_DISCOVERY_CONTROL";
    case 7:
      return "PXE_DISCOVERY_MCAST_ADDR";
    case 8:
      return "PXE_BOOT_SERVERS";
    case 9:
      return "PXE_BOOT_MENU";
    case 10:
      return "PXE_MENU_PROMPT";
    case 11:
      return "PXE_MCAST_ADDRS_ALLOC";
    case 12:
      return "PXE_CREDENTIAL_TYPES";
    case 71:
      return "PXE_BOOT_ITEM";
    default:
      return "unknown";
  }
}
std::string sub_name_relay(std::uint8_t c) {
  switch (c) {
    case 1:
      return "Agent Circuit ID";
    case 2:
      return "Agent Remote ID";
    case 5:
      return "Link selection";
    case 6:
      return "Subscriber ID";
    case 9:
      return "Vendor-Specific";
    case 11:
      return "Server ID Override";
    default:
      return "unknown";
  }
}

void print_sub_generic(sub_option_view s, std::string const& name) {
  std::string v = printable(s.data) ? "\"" + quoted(core::as_chars(s.data)) + "\"" : hex(s.data);
  line(ind2, "Sub-option: (" + std::to_string(s.code) + ") " + name + ", length " +
                 std::to_string(s.data.size()) + (s.data.empty() ? "" : ": " + v));
}

void print_pxe(std::span<const std::byte> v) {
  auto p = parse_pxe_options(v);
  if (!p) {
    line(ind2, "Value: " + (printable(v) ? "\"" + quoted(core::as_chars(v)) + "\"" : hex(v)) +
                   " (not PXE sub-options: " + p.error().message() + ")");
    return;
  }
  for (sub_option_view s : p->all) {
    std::string head = "Sub-option: (" + std::to_string(s.code) + ") " + sub_name_pxe(s.code) + ", length " +
                       std::to_string(s.data.size());
    switch (s.code) {
      case pxe_sub::discovery_control: {
        auto bits = at(s.data, 0);
        std::string d;
        if (bits & 1) d += " no-broadcast";
        if (bits & 2) d += " no-multicast";
        if (bits & 4) d += " only-listed-servers";
        if (bits & 8) d += " bootfile-name-present";
        line(ind2, head + ": " + hex16(bits, 2) + (d.empty() ? "" : " (" + d.substr(1) + ")"));
        break;
      }
      case pxe_sub::menu_prompt:
        line(ind2, head + ": timeout " + std::to_string(at(s.data, 0)) + " s, prompt \"" +
                       quoted(core::as_chars(s.data.subspan(1))) + "\"");
        break;
      case pxe_sub::boot_menu: {
        line(ind2, head);
        if (auto menu = boot_menu_view::parse(s.data))
          for (menu_entry e : *menu)
            line(ind3,
                 "Boot menu item: type " + std::to_string(e.type) + ", \"" + quoted(e.description) + "\"");
        break;
      }
      case pxe_sub::boot_servers: {
        line(ind2, head);
        if (auto servers = boot_servers_view::parse(s.data))
          for (boot_server_entry e : *servers) {
            std::string ips;
            for (auto a : e.addresses) ips += " " + a.to_string();
            line(ind3, "Boot server: type " + std::to_string(e.type) + ":" + (ips.empty() ? " (none)" : ips));
          }
        break;
      }
      case pxe_sub::boot_item:
        line(ind2, head + ": type " + std::to_string(core::byte_reader::u16_unchecked(s.data)) + ", layer " +
                       std::to_string(core::byte_reader::u16_unchecked(s.data.subspan(2))));
        break;
      default:
        print_sub_generic(s, sub_name_pxe(s.code));
    }
  }
  if (p->menu_contains(pi_boot_menu_text)) line(ind2, "[Raspberry Pi boot menu present]");
}

void print_guid(std::span<const std::byte> v) {
  auto g = decode_client_guid(v);
  if (!g) {
    line(ind2, "Value: " + hex(v) + " (malformed: length must be 17)");
    return;
  }
  line(ind2, "Client Identifier Type: " + std::to_string(g->type) + (g->type == 0 ? " (UUID/GUID)" : ""));
  line(ind2, "Client Identifier (UUID): " + uuid(g->id));
  auto pi = decode_pi_guid(*g);
  if (!pi) return;
  switch (pi->form) {
    case pi_guid_form::constant:
      line(ind2, "Raspberry Pi: constant 0x44 GUID (Pi 3B boot ROM; carries no serial)");
      break;
    case pi_guid_form::serial_repeated: {
      auto s = pi->serial->hex();
      line(ind2, "Raspberry Pi: serial repeated 4x, serial " + std::string(s.data(), 8) + " (TFTP prefix " +
                     std::string(s.data(), 8) + "/)");
      break;
    }
    case pi_guid_form::fourcc: {
      auto s = pi->serial->hex();
      char rev[16];
      std::snprintf(rev, sizeof rev, "%06x", pi->revision);
      char mac[16];
      std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x", pi->mac_low[0], pi->mac_low[1], pi->mac_low[2],
                    pi->mac_low[3]);
      line(ind2, "Raspberry Pi: FourCC \"" + std::string(pi->fourcc.data(), 4) + "\"" +
                     (pi->reversed ? " (sent reversed)" : "") + ", revision " + rev + ", MAC ..:" + mac +
                     ", serial " + std::string(s.data(), 8) + " (little-endian, unverified)");
      break;
    }
  }
}

void print_option(message_view const& m, option_view o) {
  auto code = static_cast<unsigned>(o.code);
  std::string title = "Option: (" + std::to_string(code) + ") " + std::string(option_name(o.code));
  if (o.code == option::message_type) {
    if (auto t = decode_message_type(o.data)) title += " (" + std::string(message_type_name(*t)) + ")";
  }
  line(ind1, title);
  line(ind2, "Length: " + std::to_string(o.data.size()));
  auto d = o.data;
  auto bad = [&](char const* why) { line(ind2, "Value: " + hex(d) + " [malformed: " + why + "]"); };
  switch (o.code) {
    case option::message_type:
      if (auto t = decode_message_type(d))
        line(ind2, "DHCP: " + std::string(message_type_name(*t)) + " (" + std::to_string(at(d, 0)) + ")");
      else
        bad("expected one byte 1..8");
      return;
    case option::subnet_mask:
    case option::broadcast_address:
    case option::requested_address:
    case option::server_id:
    case option::link_selection:
      if (auto a = decode_ipv4(d))
        line(ind2, std::string(option_name(o.code)) + ": " + a->to_string());
      else
        bad("expected 4 bytes");
      return;
    case option::router:
    case option::domain_server:
    case option::ntp_servers:
      if (auto l = decode_ipv4_list(d))
        for (auto a : *l) line(ind2, std::string(option_name(o.code)) + ": " + a.to_string());
      else
        bad("expected a multiple of 4 bytes");
      return;
    case option::lease_time:
    case option::renewal_time:
    case option::rebinding_time:
      if (auto v = decode_u32(d))
        line(ind2, std::string(option_name(o.code)) + ": " + duration(*v));
      else
        bad("expected 4 bytes");
      return;
    case option::max_message_size:
    case option::interface_mtu:
      if (auto v = decode_u16(d))
        line(ind2, std::string(option_name(o.code)) + ": " + std::to_string(*v));
      else
        bad("expected 2 bytes");
      return;
    case option::overload:
      if (auto v = decode_u8(d))
        line(ind2, std::string("Option Overload: ") +
                       (*v == 1   ? "Boot file name holds options"
                        : *v == 2 ? "Server host name holds options"
                        : *v == 3 ? "Boot file and server host names hold options"
                                  : "invalid") +
                       " (" + std::to_string(*v) + ")");
      return;
    case option::parameter_list:
      for (auto c : parameter_list_view{d})
        line(ind2, "Parameter Request List Item: (" + std::to_string(static_cast<unsigned>(c)) + ") " +
                       std::string(option_name(c)));
      return;
    case option::client_id:
      if (auto id = decode_client_id(d)) {
        line(ind2, "Hardware type: " + hex16(id->type, 2) +
                       (id->type == 1     ? " (Ethernet)"
                        : id->type == 255 ? " (RFC 4361 IAID + DUID)"
                                          : ""));
        if (id->type == 1 && id->id.size() == 6)
          line(ind2, "Client MAC address: " + core::mac_address::from_bytes_unchecked(id->id).to_string());
        else
          line(ind2, "Client Identifier: " + hex(id->id));
      } else {
        bad("expected at least 2 bytes");
      }
      return;
    case option::user_class:
      line(ind2, "User Class: " + (printable(d) ? "\"" + quoted(core::as_chars(d)) + "\"" : hex(d)));
      return;
    case option::client_arch:
      if (auto l = decode_client_arch(d))
        for (auto a : *l)
          line(ind2, "Client System Architecture: " + std::string(client_arch_name(a)) + " (" +
                         std::to_string(a) + ")");
      else
        bad("expected a non-zero even length");
      return;
    case option::client_ndi:
      if (auto n = decode_client_ndi(d))
        line(ind2, "Client Network Device Interface: type " + std::to_string(n->type) +
                       (n->type == 1 ? " (UNDI)" : "") + ", version " + std::to_string(n->major) + "." +
                       std::to_string(n->minor));
      else
        bad("expected 3 bytes");
      return;
    case option::client_guid:
      print_guid(d);
      return;
    case option::vendor_specific: {
      // PXE sub-options only make sense for the concatenated value (RFC 3396); print it
      // at the first occurrence.
      if (m.find(option::vendor_specific)->data.data() != d.data()) {
        line(ind2, "(continuation, decoded with the first occurrence)");
        return;
      }
      std::vector<std::byte> scratch(m.concat_size(option::vendor_specific));
      if (auto all = m.concat(option::vendor_specific, scratch)) print_pxe(*all);
      return;
    }
    case option::relay_agent:
    case option::ipxe_encap: {
      auto l = o.code == option::relay_agent ? decode_relay_agent(d) : decode_encapsulated(d);
      if (!l) {
        bad("sub-option runs past the end");
        return;
      }
      for (auto s : *l) print_sub_generic(s, o.code == option::relay_agent ? sub_name_relay(s.code) : "iPXE");
      return;
    }
    case option::vendor_class: {
      line(ind2, "Vendor class identifier: \"" + quoted(core::as_chars(d)) + "\"");
      if (auto vc = parse_vendor_class(core::as_chars(d))) {
        std::string s = vc->kind == vendor_kind::pxe_client ? "PXEClient" : "HTTPClient";
        if (vc->arch)
          s += ", arch " + std::to_string(*vc->arch) + " (" + std::string(client_arch_name(*vc->arch)) + ")";
        if (vc->undi_major)
          s += ", UNDI " + std::to_string(*vc->undi_major) + "." + std::to_string(*vc->undi_minor);
        if (!vc->rest.empty()) s += ", trailing \"" + quoted(vc->rest) + "\"";
        line(ind2, "[" + s + "]");
      }
      return;
    }
    case option::rapid_commit:
      if (!d.empty()) bad("expected length 0");
      return;
    default:
      break;
  }
  if (d.empty()) return;
  if (printable(d))
    line(ind2, "Value: \"" + quoted(core::as_chars(d)) + "\"");
  else
    line(ind2, "Value: " + hex(d));
}

void print_message(message_view const& m, std::size_t payload_size) {
  auto type = opt::message_type(m);
  std::cout << "Dynamic Host Configuration Protocol"
            << (type ? " (" + std::string(message_type_name(*type)) + ")" : std::string{}) << ", "
            << payload_size << " bytes\n";
  line(ind1,
       std::string("Message type: ") + (m.op() == bootp_op::request ? "Boot Request (1)" : "Boot Reply (2)"));
  line(ind1,
       "Hardware type: " + std::string(m.htype() == 1 ? "Ethernet " : "") + "(" + hex16(m.htype(), 2) + ")");
  line(ind1, "Hardware address length: " + std::to_string(m.hlen()));
  line(ind1, "Hops: " + std::to_string(m.hops()));
  line(ind1, "Transaction ID: " + hex16(m.xid(), 8));
  line(ind1, "Seconds elapsed: " + std::to_string(m.secs()));
  line(ind1, "Bootp flags: " + hex16(m.flags(), 4) + (m.broadcast() ? " (Broadcast)" : " (Unicast)"));
  line(ind1, "Client IP address: " + m.ciaddr().to_string());
  line(ind1, "Your (client) IP address: " + m.yiaddr().to_string());
  line(ind1, "Next server IP address: " + m.siaddr().to_string());
  line(ind1, "Relay agent IP address: " + m.giaddr().to_string());
  if (auto mac = m.mac()) {
    line(ind1, "Client MAC address: " + mac->to_string());
    line(ind1, "Client hardware address padding: " + hex(m.chaddr().subspan(6)));
  } else {
    line(ind1, "Client hardware address: " + hex(m.hardware_address(), ':'));
  }
  if ((m.overload() & overload_bits::sname) != 0)
    line(ind1, "Server host name: (holds options)");
  else if (m.sname().empty())
    line(ind1, "Server host name not given");
  else
    line(ind1, "Server host name: \"" + quoted(m.sname()) + "\"");
  if ((m.overload() & overload_bits::file) != 0)
    line(ind1, "Boot file name: (holds options)");
  else if (m.file().empty())
    line(ind1, "Boot file name not given");
  else
    line(ind1, "Boot file name: \"" + quoted(m.file()) + "\"");
  line(ind1, "Magic cookie: DHCP");
  for (option_view o : m.options()) print_option(m, o);
  line(ind1, "Option: (255) End");

  if (m.op() == bootp_op::reply) {
    std::cout << "pinetboot classification: (a server reply; clients are classified from requests)\n";
    return;
  }
  auto c = classify(m);
  std::cout << "pinetboot classification: " << to_string(c.kind);
  if (c.kind == client_class::raspberry_pi) std::cout << ", generation " << to_string(c.pi);
  std::cout << '\n';
  if (c.arch)
    line(ind1,
         "Architecture: " + std::string(client_arch_name(*c.arch)) + " (" + std::to_string(*c.arch) + ")");
  line(ind1, std::string("HTTP boot: ") + (c.http ? "yes" : "no") + ", iPXE: " + (c.ipxe ? "yes" : "no") +
                 ", Raspberry Pi OUI: " + (c.pi_oui ? "yes" : "no"));
  if (c.guid && c.guid->serial) {
    auto s = c.guid->serial->hex();
    line(ind1, "Raspberry Pi serial: " + std::string(s.data(), 8));
  } else if (c.pi == pi_generation::pi3_rom && m.mac() &&
             m.mac()->has_prefix(std::array<std::uint8_t, 3>{0xb8, 0x27, 0xeb})) {
    // BCM283x MACs are B8:27:EB + the low 24 bits of the serial (spec 3.8).
    auto mac = *m.mac();
    auto s =
        core::pi_serial{std::uint32_t{mac[3]} << 16U | std::uint32_t{mac[4]} << 8U | std::uint32_t{mac[5]}}
            .hex();
    line(ind1, "Raspberry Pi serial: .." + std::string(s.data() + 2, 6) +
                   " (low 24 bits, from the MAC; bootcode.bin's DISCOVER carries all of it)");
  }
  if (c.kind == client_class::not_pxe)
    line(ind1, "(an ordinary DHCP client: a proxyDHCP server stays silent)");
}

int decode(std::string const& name, std::string const& content, bool raw) {
  std::vector<std::byte> bytes;
  if (raw) {
    bytes.resize(content.size());
    for (std::size_t i = 0; i < content.size(); ++i) bytes[i] = static_cast<std::byte>(content[i]);
  } else {
    std::string why;
    auto h = parse_hex(content, why);
    if (!h) {
      std::cerr << "pinetboot-dhcp-decode: " << name << ": " << why << '\n';
      return 1;
    }
    bytes = std::move(*h);
  }
  std::span<const std::byte> payload{bytes};
  auto m = message_view::parse(payload);
  std::string frame;
  if (!m) {
    if (auto inner = unwrap(payload)) {
      auto candidate = message_view::parse(payload.subspan(inner->first));
      if (candidate) {
        frame = inner->second;
        payload = payload.subspan(inner->first);
        m = candidate;
      }
    }
  }
  if (!m) {
    std::cerr << "pinetboot-dhcp-decode: " << name << ": not a valid DHCP message (" << bytes.size()
              << " bytes): " << m.error().message() << '\n';
    return 1;
  }
  if (!frame.empty()) std::cout << "Frame: " << frame << " (" << bytes.size() << " bytes)\n";
  print_message(*m, payload.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a{"pinetboot-dhcp-decode",
                   "Decodes a DHCP message (hex, or binary with --raw; stdin without FILE) like tshark -V.\n"
                   "Hex may carry '#' comments and offset columns (tcpdump -xx, xxd); Ethernet/IPv4/UDP\n"
                   "headers are stripped automatically."};
  a.flag("raw", "the input is binary, not hex")
      .positionals("FILE", "files to decode, one message each; '-' or none: stdin (-- ends the options)");
  try {
    if (auto rc = a.parse(argc, argv)) return *rc;
  } catch (std::invalid_argument const& e) {
    std::cerr << "pinetboot-dhcp-decode: " << e.what() << '\n';
    return examples::exit_usage;
  }
  bool raw = a.has("raw");
  std::vector<std::string> files = a.positional();
  if (files.empty()) files.emplace_back("-");
  int rc = 0;
  bool first = true;
  for (auto const& f : files) {
    std::string content;
    if (f == "-") {
      content.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      auto text = core::read_file(f);
      if (!text) {
        std::cerr << "pinetboot-dhcp-decode: cannot open " << f << '\n';
        rc = 1;
        continue;
      }
      content = std::move(*text);
    }
    if (!first) std::cout << '\n';
    first = false;
    if (files.size() > 1) std::cout << "==> " << f << " <==\n";
    if (decode(f == "-" ? "stdin" : f, content, raw) != 0) rc = 1;
  }
  return rc;
}
