// Proves the codec's promise: parsing, iterating, decoding every option, classifying and
// building a PXE OFFER allocate nothing (a counting global operator new watches).
#include "support/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "dhcp/roundtrip.hpp"
#include "pinetboot/dhcp.hpp"
#include "support/hex.hpp"

namespace pinetboot::dhcp {
namespace {

TEST(DhcpCodecAlloc, ParseDecodeClassifyAndBuildAllocateNothing) {
  std::vector<std::vector<std::byte>> inputs;
  for (char const* f : {"dhcp/dhclient-discover.hex", "dhcp/dhclient-request.hex", "dhcp/udhcpc-discover.hex",
                        "dhcp/udhcpc-request.hex", "dhcp/dhcpcd-discover.hex", "dhcp/dhcpcd-request.hex",
                        "dhcp/rpi3b-rom-discover.hex", "dhcp/rpi3bplus-bootcode-discover.hex",
                        "dhcp/rpi4-discover.hex", "dhcp/dnsmasq-proxy-offer.hex"})
    inputs.push_back(test::load_hex(f));
  std::array<std::byte, 1024> out{}, scratch_a{}, scratch_b{};
  std::array<std::byte, 64> menu{};
  std::size_t parsed = 0, built = 0, pis = 0, checksum = 0;
  bool round_trips = true;

  test::allocation_scope scope;
  for (auto const& in : inputs) {
    auto m = message_view::parse(in);
    if (!m) continue;
    ++parsed;
    checksum += test::exercise_accessors(*m);
    auto c = classify(*m);
    if (c.kind == client_class::raspberry_pi) {
      ++pis;
      // A proxyDHCP OFFER as the Pi needs it (spec 3.5).
      auto menu_len = write_pi_boot_menu(menu);
      auto b = start_reply(out, *m, message_type::offer);
      b.broadcast(true)
          .add_ip(option::server_id, core::ipv4_address(192, 168, 1, 3))
          .add_string(option::vendor_class, "PXEClient");
      if (auto g = m->find(option::client_guid)) b.add(*g);
      if (menu_len) b.add_raw(option::vendor_specific, std::span{menu}.first(*menu_len));
      if (auto n = b.finish(); n && message_view::parse(std::span{out}.first(*n))) ++built;
    }
    auto n = test::rebuild(*m, out, scratch_a);
    auto again = n ? message_view::parse(std::span{out}.first(*n)) : result<message_view>{errc::truncated};
    round_trips = round_trips && again && test::equal_views(*m, *again, scratch_a, scratch_b);
  }
  auto allocations = scope.count();

  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(parsed, inputs.size());
  EXPECT_EQ(pis, 3u);
  EXPECT_EQ(built, pis);
  EXPECT_TRUE(round_trips);
  EXPECT_NE(checksum, 0u);
}

}  // namespace
}  // namespace pinetboot::dhcp
