#include "pinetboot/core/pi_serial.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pinetboot::core {
namespace {

TEST(CorePiSerial, ParsesSerialForms) {
  auto s = pi_serial::parse("abcd1234");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->value(), 0xabcd1234U);
  EXPECT_EQ(s->to_string(), "abcd1234");
  auto cpuinfo = pi_serial::parse("10000000ABCD1234");
  ASSERT_TRUE(cpuinfo);
  EXPECT_EQ(cpuinfo->value(), 0xabcd1234U);
  EXPECT_EQ(pi_serial::parse("0000000012345678")->to_string(), "12345678");
  EXPECT_EQ(pi_serial{0x9ffefdef}.to_string(), "9ffefdef");
  EXPECT_EQ(pi_serial{0x1}.to_string(), "00000001");
}

TEST(CorePiSerial, RejectsBadSerials) {
  for (std::string_view bad : {"", "abcd123", "abcd12345", "abcd123g", "0xabcd12", "1000000abcd1234",
                               " abcd1234", "abcd-234", "10000000abcd123z"}) {
    auto s = pi_serial::parse(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error(), errc::invalid_serial);
  }
  EXPECT_EQ(make_error_code(errc::invalid_serial).message(),
            "invalid Raspberry Pi serial (want 8 hex digits, e.g. abcd1234)");
}

TEST(CorePiSerial, FormatsEightLowerCaseDigitsThatParseBack) {
  for (std::uint32_t v : {0U, 1U, 0x9ffefdefU, 0xabcd1234U, 0x10000000U, 0xffffffffU}) {
    pi_serial s{v};
    auto h = s.hex();
    std::string_view text{h.data(), h.size()};
    EXPECT_EQ(text.size(), 8U);
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), std::string_view::npos) << text;
    EXPECT_EQ(text, s.to_string());
    auto again = pi_serial::parse(text);
    ASSERT_TRUE(again) << text;
    EXPECT_EQ(*again, s);
  }
  static_assert(pi_serial{0xabcd1234}.hex()[0] == 'a' && pi_serial{0xabcd1234}.hex()[7] == '4');
  static_assert(pi_serial{1} < pi_serial{2});
}

}  // namespace
}  // namespace pinetboot::core
