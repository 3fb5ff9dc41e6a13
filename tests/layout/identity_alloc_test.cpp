// The identity and MBR parsers are noexcept and allocation-free (format_folder writes into a
// caller buffer), so a server can call them for every incoming DHCP/TFTP request.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>

#include "pinetboot/layout/identity.hpp"
#include "pinetboot/layout/mbr.hpp"
#include "support/alloc_counter.hpp"

namespace pinetboot::layout {
namespace {

TEST(LayoutIdentityAlloc, ParsingAndNamingDoNotAllocate) {
  client_identity id;
  id.mac = *core::mac_address::parse("dc:a6:32:01:36:c2");
  id.hostname = "pi1";  // short: fits the small-string buffer, so the setup did not allocate either
  std::array<std::byte, mbr_size> sector{};
  sector[510] = std::byte{0x55};
  sector[511] = std::byte{0xaa};
  std::array<char, max_folder_name> buf{};
  std::size_t total = 0;
  test::allocation_scope scope;
  for (int i = 0; i < 1000; ++i) {
    auto s = core::pi_serial::parse("10000000abcd1234");
    if (s) id.serial = *s;
    total += check_hostname("pi-rack1") ? 0U : 1U;
    total += core::pi_serial::parse("zz").has_value() ? 1U : 0U;
    for (auto scheme : {core::folder_naming::serial, core::folder_naming::mac_dash,
                        core::folder_naming::mac_colon, core::folder_naming::hostname})
      total += format_folder(id, scheme, buf).value_or(0);
    total += parse_mbr(sector).has_value() ? 1U : 0U;
    std::array<std::byte, mbr_size> out{};
    total += write_mbr(*parse_mbr(sector), out).value_or(0);
  }
  EXPECT_EQ(scope.count(), 0U);
  EXPECT_EQ(total, 1000U * (1 + 8 + 17 + 17 + 3 + 1 + 512));
}

}  // namespace
}  // namespace pinetboot::layout
