#include "pinetboot/core/result.hpp"

#include <string>

#include <gtest/gtest.h>

#include "pinetboot/core/error.hpp"

namespace pinetboot {
namespace {

result<int> half(int v) {
  if (v % 2 != 0) return core::errc::out_of_range;
  return v / 2;
}

TEST(Result, HoldsValueOrError) {
  auto ok = half(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  EXPECT_FALSE(ok.error());
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), core::errc::out_of_range);
  EXPECT_EQ(bad.value_or(-1), -1);
  EXPECT_EQ(bad.error().message(), "value out of range");
  EXPECT_STREQ(bad.error().category().name(), "pinetboot.core");
}

TEST(Result, CopiesAndMovesNonTrivialValues) {
  result<std::string> a{std::string(100, 'x')};
  result<std::string> b = a;
  result<std::string> c{core::errc::truncated};
  c = std::move(b);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size(), 100U);
  a = result<std::string>{core::errc::truncated};
  EXPECT_FALSE(a);
}

}  // namespace
}  // namespace pinetboot
