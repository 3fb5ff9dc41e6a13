#include "pinetboot/core/byte_writer.hpp"

#include <array>

#include <gtest/gtest.h>

namespace pinetboot::core {
namespace {

TEST(ByteWriter, WritesBigEndian) {
  std::array<std::byte, 8> buf{};
  byte_writer w{buf};
  w.u16(0x0102);
  w.u32(0x03040506);
  w.u8(7);
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.needed(), 7U);
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(std::to_integer<int>(buf[i]), static_cast<int>(i + 1));
}

TEST(ByteWriter, CountsPastTheEndWithoutWriting) {
  std::array<std::byte, 4> buf{};
  buf.fill(std::byte{0xee});
  byte_writer w{std::span{buf}.first(3)};
  w.u16(0xaaaa);
  w.u16(0xbbbb);  // does not fit: nothing written
  w.cstr("hello");
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.needed(), 2U + 2U + 6U);
  EXPECT_EQ(std::to_integer<int>(buf[2]), 0xee);
  EXPECT_EQ(std::to_integer<int>(buf[3]), 0xee);
}

TEST(ByteWriter, RetryWithNeededSizeSucceeds) {
  std::array<std::byte, 2> small{};
  byte_writer w{small};
  w.cstr("octet");
  ASSERT_TRUE(w.overflowed());
  std::array<std::byte, 6> exact{};
  byte_writer w2{std::span{exact}.first(w.needed())};
  w2.cstr("octet");
  EXPECT_FALSE(w2.overflowed());
  EXPECT_EQ(std::to_integer<char>(exact[0]), 'o');
  EXPECT_EQ(std::to_integer<int>(exact[5]), 0);
}

}  // namespace
}  // namespace pinetboot::core
