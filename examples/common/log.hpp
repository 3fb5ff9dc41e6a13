// Small helpers shared by the example programs' log lines.
#pragma once

#include <ctime>
#include <iterator>
#include <optional>
#include <string>

#include "pinetboot/dhcp/option_codes.hpp"

namespace pinetboot::examples {

/// Local time as 2026-11-25T17:02:30.
inline std::string timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

/// DHCP message type names as dnsmasq and tcpdump print them ("DISCOVER", ...; "?" if none).
inline char const* type_name(std::optional<dhcp::message_type> t) {
  static constexpr char const* names[] = {"?", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
                                          "ACK", "NAK", "RELEASE", "INFORM"};
  auto i = t ? static_cast<std::size_t>(*t) : 0;
  return i < std::size(names) ? names[i] : "?";
}

}  // namespace pinetboot::examples
