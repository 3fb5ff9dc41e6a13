#include "pinetboot/tftp/detail/block_reader.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "support/memory_source.hpp"

namespace pinetboot::tftp::detail {
namespace {

std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> v(s.size());
  std::memcpy(v.data(), s.data(), s.size());
  return v;
}

/// Reads block `seq` and returns it as a string ("<error>" on failure).
template <class Source>
std::string read_block(block_reader<Source>& r, std::uint64_t seq, std::size_t blksize) {
  std::vector<std::byte> out(blksize);
  auto n = r.read(seq, out);
  if (!n) return "<error>";
  return std::string{reinterpret_cast<char const*>(out.data()), *n};
}

/// A source that claims more bytes than it can read (a file truncated under us).
struct shrinking_source {
  std::vector<std::byte> data;
  std::uint64_t claimed = 0;
  [[nodiscard]] result<std::size_t> read_at(std::uint64_t off, std::span<std::byte> out) noexcept {
    if (off >= data.size()) return std::size_t{0};
    auto n = std::min<std::size_t>(out.size(), data.size() - static_cast<std::size_t>(off));
    std::memcpy(out.data(), data.data() + off, n);
    return n;
  }
  [[nodiscard]] std::uint64_t size() const noexcept { return claimed; }
};

TEST(TftpBlockReader, OctetBlocksAreSlicesAtBlksizeOffsets) {
  auto data = bytes("abcdefghij");  // 10 bytes, blksize 4: 4 + 4 + 2
  test::memory_source src{data};
  block_reader<test::memory_source> r{src, 4, transfer_mode::octet, 1};
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(read_block(r, 1, 4), "abcd");
  EXPECT_EQ(read_block(r, 2, 4), "efgh");
  EXPECT_EQ(read_block(r, 3, 4), "ij");
  EXPECT_EQ(read_block(r, 2, 4), "efgh") << "octet blocks read again in any order";
}

TEST(TftpBlockReader, OctetExactMultipleEndsWithAnEmptyBlock) {
  auto data = bytes("abcdefgh");  // 8 bytes = 2 full blocks
  test::memory_source src{data};
  block_reader<test::memory_source> r{src, 4, transfer_mode::octet, 1};
  EXPECT_EQ(read_block(r, 2, 4), "efgh");
  auto reads = src.reads;
  EXPECT_EQ(read_block(r, 3, 4), "") << "block 3 starts exactly at the end: an empty final block";
  EXPECT_EQ(src.reads, reads) << "an empty block needs no read";
  EXPECT_EQ(read_block(r, 4, 4), "<error>") << "block 4 starts past the end";
}

TEST(TftpBlockReader, OctetOffsetsDoNotOverflowSixteenBits) {
  test::generated_source src{std::uint64_t{70000} * 512 + 3};
  block_reader<test::generated_source> r{src, 512, transfer_mode::octet, 1};
  std::vector<std::byte> out(512);
  auto n = r.read(70001, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3U);
  EXPECT_EQ(out[0], test::generated_byte(std::uint64_t{70000} * 512));
}

TEST(TftpBlockReader, SourceErrorsAndShrunkFilesAreErrors) {
  auto data = bytes("abcdef");
  test::memory_source src{data};
  block_reader<test::memory_source> r{src, 4, transfer_mode::octet, 1};
  src.fail_reads = true;
  std::vector<std::byte> out(4);
  auto n = r.read(1, out);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), make_error_code(errc::io_error));

  shrinking_source s{bytes("abcdef"), 10};
  block_reader<shrinking_source> o{s, 4, transfer_mode::octet, 1};
  EXPECT_EQ(read_block(o, 1, 4), "abcd");
  EXPECT_EQ(read_block(o, 2, 4), "<error>") << "wanted 4 (claimed size 10), got 2";
  block_reader<shrinking_source> a{s, 4, transfer_mode::netascii, 1};
  EXPECT_EQ(read_block(a, 1, 4), "abcd");
  EXPECT_EQ(read_block(a, 2, 4), "<error>");
}

TEST(TftpBlockReader, NetasciiExpandsLineEndsAcrossBlocks) {
  auto data = bytes("abc\nd\re");  // encoded: a b c CR LF d CR NUL e (9 bytes)
  test::memory_source src{data};
  block_reader<test::memory_source> r{src, 4, transfer_mode::netascii, 2};
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(read_block(r, 1, 4), "abc\r") << "LF's CR ends block 1, the LF is owed";
  EXPECT_EQ(read_block(r, 2, 4), std::string("\nd\r\0", 4));
  EXPECT_EQ(read_block(r, 3, 4), "e");
}

TEST(TftpBlockReader, NetasciiGoBackWithinTheWindowReadsTheSameBlocks) {
  auto data = bytes("\n\n\n\n\n\n\n");  // 7 LFs: 14 encoded bytes, blksize 4: 4 4 4 2
  test::memory_source src{data};
  block_reader<test::memory_source> r{src, 4, transfer_mode::netascii, 2};
  EXPECT_EQ(read_block(r, 1, 4), "\r\n\r\n");
  EXPECT_EQ(read_block(r, 2, 4), "\r\n\r\n");
  EXPECT_EQ(read_block(r, 3, 4), "\r\n\r\n");
  // Window 2: blocks 2 and 3 may be outstanding and resent.
  EXPECT_EQ(read_block(r, 2, 4), "\r\n\r\n");
  EXPECT_EQ(read_block(r, 3, 4), "\r\n\r\n");
  EXPECT_EQ(read_block(r, 4, 4), "\r\n");
}

TEST(TftpBlockReader, NetasciiResendOfABlockEndingInAHalfPairOwesTheSameByte) {
  auto data = bytes("ab\rcd");  // a b CR NUL c d; blksize 3: "ab\r" owes NUL
  test::memory_source src{data};
  block_reader<test::memory_source> r{src, 3, transfer_mode::netascii, 1};
  EXPECT_EQ(read_block(r, 1, 3), "ab\r");
  EXPECT_EQ(read_block(r, 2, 3), std::string("\0cd", 3));
  EXPECT_EQ(read_block(r, 2, 3), std::string("\0cd", 3)) << "lockstep resend of block 2";
  EXPECT_EQ(read_block(r, 3, 3), "");
}

}  // namespace
}  // namespace pinetboot::tftp::detail
