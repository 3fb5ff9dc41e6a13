#include "pinetboot/core/byte_reader.hpp"

#include <array>

#include <gtest/gtest.h>

namespace pinetboot::core {
namespace {

constexpr std::array<std::byte, 7> kData{std::byte{0x12}, std::byte{0x34}, std::byte{0x56}, std::byte{0x78},
                                         std::byte{'h'},  std::byte{'i'},  std::byte{0}};

TEST(ByteReader, ReadsBigEndianIntegers) {
  byte_reader r{kData};
  EXPECT_EQ(r.u16(), 0x1234);
  EXPECT_EQ(r.u8(), 0x56);
  EXPECT_EQ(r.position(), 3U);
  EXPECT_EQ(r.remaining(), 4U);
  byte_reader r2{kData};
  EXPECT_EQ(r2.u32(), 0x12345678U);
}

TEST(ByteReader, ShortReadFailsWithoutMoving) {
  byte_reader r{std::span{kData}.first(3)};
  EXPECT_FALSE(r.u32().has_value());
  EXPECT_EQ(r.position(), 0U);
  EXPECT_EQ(r.u16(), 0x1234);
  EXPECT_FALSE(r.u16().has_value());
  EXPECT_FALSE(r.bytes(2).has_value());
  EXPECT_FALSE(r.skip(2));
  EXPECT_EQ(r.u8(), 0x56);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.u8().has_value());
}

TEST(ByteReader, CstrStopsAtNulAndRequiresOne) {
  byte_reader r{kData};
  ASSERT_TRUE(r.skip(4));
  auto s = r.cstr();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s, "hi");
  EXPECT_TRUE(r.empty());

  byte_reader no_nul{std::span{kData}.first(6)};
  ASSERT_TRUE(no_nul.skip(4));
  EXPECT_FALSE(no_nul.cstr().has_value());
  EXPECT_EQ(no_nul.position(), 4U);
  byte_reader empty{};
  EXPECT_FALSE(empty.cstr().has_value());
}

}  // namespace
}  // namespace pinetboot::core
