#include "pinetboot/core/address.hpp"

#include <gtest/gtest.h>

namespace pinetboot::core {
namespace {

TEST(MacAddress, ParsesColonDashAndBareForms) {
  auto a = mac_address::parse("b8:27:eb:9d:c1:5a");
  auto b = mac_address::parse("B8-27-EB-9D-C1-5A");
  auto c = mac_address::parse("b827eb9dc15a");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_EQ(a->to_string(), "b8:27:eb:9d:c1:5a");
  EXPECT_EQ(a->to_string('-'), "b8-27-eb-9d-c1-5a");
  EXPECT_EQ(a->to_string(0), "b827eb9dc15a");
}

TEST(MacAddress, RejectsMalformed) {
  for (auto s : {"", "b8:27:eb:9d:c1", "b8:27:eb:9d:c1:5g", "b8:27-eb:9d:c1:5a", "b8.27.eb.9d.c1.5a",
                 "b8:27:eb:9d:c1:5a:", "b827eb9dc15", " b8:27:eb:9d:c1:5"}) {
    auto r = mac_address::parse(s);
    EXPECT_FALSE(r) << s;
    EXPECT_EQ(r.error(), errc::invalid_syntax) << s;
  }
}

TEST(MacAddress, MatchesOuiPrefix) {
  auto m = *mac_address::parse("dc:a6:32:01:36:c2");
  std::array<std::uint8_t, 3> pi4{0xdc, 0xa6, 0x32};
  std::array<std::uint8_t, 3> pi3{0xb8, 0x27, 0xeb};
  EXPECT_TRUE(m.has_prefix(pi4));
  EXPECT_FALSE(m.has_prefix(pi3));
}

TEST(Ipv4Address, ParsesAndFormats) {
  auto a = ipv4_address::parse("192.168.1.117");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_uint(), 0xc0a80175U);
  EXPECT_EQ(a->to_string(), "192.168.1.117");
  EXPECT_EQ(*a, ipv4_address(192, 168, 1, 117));
  EXPECT_TRUE(ipv4_address{}.is_unspecified());
}

TEST(Ipv4Address, RejectsMalformed) {
  for (auto s : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.4 ", "a.b.c.d", "1.2.3.0004", "-1.2.3.4"}) {
    EXPECT_FALSE(ipv4_address::parse(s)) << s;
  }
}

}  // namespace
}  // namespace pinetboot::core
