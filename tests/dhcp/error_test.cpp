#include "pinetboot/dhcp/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "pinetboot/core/result.hpp"

namespace pinetboot::dhcp {
namespace {

TEST(DhcpError, CategoryAndMessages) {
  std::error_code ec = errc::missing_end;
  EXPECT_STREQ(ec.category().name(), "pinetboot.dhcp");
  EXPECT_EQ(&ec.category(), &dhcp_category());
  EXPECT_EQ(ec.message(), "option field without End option");
  std::set<std::string> messages;
  for (int v = static_cast<int>(errc::truncated); v <= static_cast<int>(errc::not_raspberry_pi); ++v) {
    auto m = make_error_code(static_cast<errc>(v)).message();
    EXPECT_NE(m, "unknown dhcp error") << v;
    messages.insert(m);
  }
  EXPECT_EQ(messages.size(), static_cast<std::size_t>(errc::not_raspberry_pi));
  EXPECT_EQ(make_error_code(static_cast<errc>(200)).message(), "unknown dhcp error");
}

TEST(DhcpError, ConvertsIntoResult) {
  result<int> r = errc::buffer_too_small;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::buffer_too_small);
  EXPECT_NE(r.error(), std::error_code(static_cast<int>(errc::buffer_too_small), std::generic_category()));
}

}  // namespace
}  // namespace pinetboot::dhcp
