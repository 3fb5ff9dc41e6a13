// Fuzzes the MAC and IPv4 text parsers: whatever parses must format and parse back to the
// same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pinetboot/core/address.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view text{reinterpret_cast<char const*>(data), size};
  using pinetboot::core::ipv4_address;
  using pinetboot::core::mac_address;
  if (auto mac = mac_address::parse(text)) {
    for (char sep : {':', '-', '\0'}) {
      auto again = mac_address::parse(mac->to_string(sep));
      if (!again || *again != *mac) std::abort();
    }
  }
  if (auto ip = ipv4_address::parse(text)) {
    auto again = ipv4_address::parse(ip->to_string());
    if (!again || *again != *ip) std::abort();
  }
  return 0;
}
