#include "pinetboot/dhcp/option_codes.hpp"

#include <gtest/gtest.h>

namespace pinetboot::dhcp {
namespace {

TEST(DhcpOptionCodes, RfcValues) {
  EXPECT_EQ(static_cast<int>(option::vendor_specific), 43);
  EXPECT_EQ(static_cast<int>(option::overload), 52);
  EXPECT_EQ(static_cast<int>(option::client_arch), 93);
  EXPECT_EQ(static_cast<int>(option::client_guid), 97);
  EXPECT_EQ(static_cast<int>(option::link_selection), 118);
  EXPECT_EQ(static_cast<int>(option::ipxe_encap), 175);
  EXPECT_EQ(static_cast<int>(message_type::inform), 8);
  EXPECT_EQ(static_cast<int>(client_arch::x64_uefi), 7);
  EXPECT_EQ(static_cast<int>(client_arch::ebc), 9);
  EXPECT_EQ(static_cast<int>(client_arch::arm64_uefi_http), 19);
  EXPECT_EQ(static_cast<int>(client_arch::arm_rpiboot), 41);
}

TEST(DhcpOptionCodes, DisplayNames) {
  EXPECT_EQ(option_name(option::vendor_class), "Vendor class identifier");
  EXPECT_EQ(option_name(option::end), "End");
  EXPECT_EQ(option_name(static_cast<option>(130)), "PXE - undefined (vendor specific)");
  EXPECT_EQ(option_name(static_cast<option>(200)), "Unknown");
  EXPECT_EQ(message_type_name(message_type::discover), "Discover");
  EXPECT_EQ(message_type_name(message_type::ack), "ACK");
  EXPECT_EQ(message_type_name(static_cast<message_type>(42)), "Unknown");
  EXPECT_EQ(client_arch_name(0), "x86 BIOS");
  EXPECT_EQ(client_arch_name(7), "x64 UEFI");
  EXPECT_EQ(client_arch_name(11), "ARM 64-bit UEFI");
  EXPECT_EQ(client_arch_name(41), "ARM rpiboot");
  EXPECT_EQ(client_arch_name(42), "Unknown");
  EXPECT_EQ(client_arch_name(0xffff), "Unknown");
}

TEST(DhcpOptionCodes, HttpArchTypes) {
  for (unsigned a : {15U, 16U, 17U, 18U, 19U, 20U, 23U, 24U, 26U, 28U, 30U, 38U, 40U})
    EXPECT_TRUE(is_http_arch(static_cast<std::uint16_t>(a))) << a;
  for (unsigned a : {0U, 6U, 7U, 9U, 10U, 11U, 21U, 22U, 25U, 27U, 39U, 41U})
    EXPECT_FALSE(is_http_arch(static_cast<std::uint16_t>(a))) << a;
}

}  // namespace
}  // namespace pinetboot::dhcp
