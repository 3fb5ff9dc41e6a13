#include "pinetboot/net/neighbour_table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "pinetboot/core/file.hpp"

namespace pinetboot::net {
namespace {

// Splits off the next whitespace-separated token of `s`.
std::string_view next_token(std::string_view& s) noexcept {
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  std::size_t e = b;
  while (e < s.size() && s[e] != ' ' && s[e] != '\t') ++e;
  std::string_view t = s.substr(b, e - b);
  s.remove_prefix(e);
  return t;
}

std::optional<std::uint32_t> parse_hex_u32(std::string_view s) noexcept {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s.size() > 10) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s.substr(2)) {
    int d = core::detail::hex_value(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<std::uint32_t>(d);
  }
  return v;
}

bool matches(arp_entry const& e, core::ipv4_address ip, std::string_view device) noexcept {
  return e.ip == ip && (e.flags & arp_flag_complete) != 0 && (device.empty() || e.device == device);
}

}  // namespace

std::optional<arp_entry> parse_arp_line(std::string_view line) noexcept {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  std::string_view rest = line;
  auto ip = core::ipv4_address::parse(next_token(rest));
  if (!ip) return std::nullopt;  // also the "IP address ..." header
  auto hw_type = parse_hex_u32(next_token(rest));
  auto flags = parse_hex_u32(next_token(rest));
  auto mac = core::mac_address::parse(next_token(rest));
  std::string_view mask = next_token(rest);
  std::string_view device = next_token(rest);
  if (!hw_type || !flags || !mac || mask.empty() || device.empty()) return std::nullopt;
  if (!next_token(rest).empty()) return std::nullopt;
  return arp_entry{*ip, *mac, *flags, device};
}

std::optional<core::mac_address> find_in_arp_table(std::string_view text, core::ipv4_address ip,
                                                   std::string_view device) noexcept {
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto e = parse_arp_line(line);
    if (e && matches(*e, ip, device)) return e->mac;
  }
  return std::nullopt;
}

std::optional<core::mac_address> neighbour_table::find(core::ipv4_address ip) const noexcept {
  core::unique_fd fd{::open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return std::nullopt;
  std::array<char, 4096> buf;
  std::size_t have = 0;
  bool skipping = false;  // inside a line longer than the buffer: not an ARP line, drop it
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data() + have, buf.size() - have);
    if (n < 0 && errno == EINTR) continue;
    bool const eof = n <= 0;
    if (!eof) have += static_cast<std::size_t>(n);
    std::string_view chunk{buf.data(), have};
    std::size_t consumed = 0;
    for (;;) {
      std::size_t nl = chunk.find('\n', consumed);
      if (nl == std::string_view::npos) break;
      if (!skipping) {
        auto e = parse_arp_line(chunk.substr(consumed, nl - consumed));
        if (e && matches(*e, ip, device_)) return e->mac;
      }
      skipping = false;
      consumed = nl + 1;
    }
    if (eof) {
      if (!skipping && consumed < have) {
        auto e = parse_arp_line(chunk.substr(consumed));
        if (e && matches(*e, ip, device_)) return e->mac;
      }
      return std::nullopt;
    }
    std::memmove(buf.data(), buf.data() + consumed, have - consumed);
    have -= consumed;
    if (have == buf.size()) {
      skipping = true;
      have = 0;
    }
  }
}

}  // namespace pinetboot::net
