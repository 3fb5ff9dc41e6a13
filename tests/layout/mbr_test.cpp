#include "pinetboot/layout/mbr.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "support/hex.hpp"

namespace pinetboot::layout {
namespace {

// Sector 0 as Raspberry Pi OS images ship it (bytes 440..511): disk id 0x5e3da3da, p1 FAT32 LBA
// at 8192 for 1048576 sectors, p2 Linux at 1056768 for 4194304 sectors. Written by hand from the
// MBR layout, independent of write_mbr().
std::vector<std::byte> pi_os_sector() {
  std::vector<std::byte> s(440);
  auto tail = test::from_hex(
      "da a3 3d 5e 00 00"
      "00 00 01 40 0c 03 e0 ff 00 20 00 00 00 00 10 00"
      "00 03 e0 ff 83 03 e0 ff 00 20 10 00 00 00 40 00"
      "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
      "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
      "55 aa");
  s.insert(s.end(), tail.begin(), tail.end());
  return s;
}

TEST(LayoutMbr, ParsesRaspberryPiOsLayout) {
  auto sector = pi_os_sector();
  ASSERT_EQ(sector.size(), 512U);
  auto m = parse_mbr(sector);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->disk_id, 0x5e3da3daU);
  auto p1 = m->partition(1);
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->type, partition_type::fat32_lba);
  EXPECT_EQ(p1->first_lba, 8192U);
  EXPECT_EQ(p1->sectors, 1048576U);
  EXPECT_EQ(p1->byte_offset(), 8192ULL * 512);
  EXPECT_EQ(p1->byte_size(), 512ULL * 1024 * 1024);
  auto p2 = m->partition(2);
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->type, partition_type::linux_native);
  EXPECT_EQ(p2->first_lba, 1056768U);
  EXPECT_EQ(p2->sectors, 4194304U);
  EXPECT_EQ(m->partition(3).error(), errc::no_such_partition);
  EXPECT_EQ(m->partition(0).error(), errc::no_such_partition);
  EXPECT_EQ(m->partition(5).error(), errc::no_such_partition);
  EXPECT_TRUE(p2->fits_in(p2->byte_offset() + p2->byte_size()));
  EXPECT_FALSE(p2->fits_in(p2->byte_offset() + p2->byte_size() - 1));
  EXPECT_FALSE(p2->fits_in(0));
}

TEST(LayoutMbr, EveryTruncationErrors) {
  auto sector = pi_os_sector();
  for (std::size_t n = 0; n < sector.size(); ++n) {
    auto m = parse_mbr(std::span<const std::byte>{sector}.first(n));
    ASSERT_FALSE(m) << n;
    EXPECT_EQ(m.error(), errc::truncated);
  }
  // Longer input (a whole image) is fine: only sector 0 is read.
  sector.resize(4096, std::byte{0x42});
  EXPECT_TRUE(parse_mbr(sector));
}

TEST(LayoutMbr, SingleByteMutationsStayInBounds) {
  auto const base = pi_os_sector();
  for (std::size_t i = 0; i < base.size(); ++i) {
    for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      auto s = base;
      s[i] = std::byte(v);
      auto m = parse_mbr(s);
      if (i == 510 || i == 511) {
        if (s[i] != base[i]) {
          EXPECT_EQ(m.error(), errc::bad_signature);
        }
        continue;
      }
      if (!m) {
        EXPECT_EQ(m.error(), errc::bad_partition) << i;
        continue;
      }
      for (auto const& p : m->entries)
        if (!p.is_empty()) {
          EXPECT_TRUE(p.sectors != 0 && p.first_lba != 0);
        }
    }
  }
}

TEST(LayoutMbr, RejectsBadSignatureAndStatus) {
  auto s = pi_os_sector();
  s[511] = std::byte{0};
  EXPECT_EQ(parse_mbr(s).error(), errc::bad_signature);
  s = pi_os_sector();
  s[446] = std::byte{0x01};
  EXPECT_EQ(parse_mbr(s).error(), errc::bad_partition);
  s = pi_os_sector();
  for (std::size_t i = 458; i < 462; ++i) s[i] = std::byte{0};  // p1 with 0 sectors
  EXPECT_EQ(parse_mbr(s).error(), errc::bad_partition);
}

TEST(LayoutMbr, WriteThenParseRoundTrips) {
  auto m = parse_mbr(pi_os_sector());
  ASSERT_TRUE(m);
  std::array<std::byte, 512> out{};
  auto n = write_mbr(*m, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 512U);
  auto again = parse_mbr(out);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *m);
  std::array<std::byte, 511> small{};
  EXPECT_EQ(write_mbr(*m, small).error(), errc::truncated);
}

}  // namespace
}  // namespace pinetboot::layout
