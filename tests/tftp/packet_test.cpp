#include "pinetboot/tftp/packet.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/hex.hpp"

namespace pinetboot::tftp {
namespace {

using namespace std::string_literals;

using test::bytes_of;
using test::from_hex;

std::vector<std::byte> raw(std::string const& s) { return bytes_of(s); }

// RRQ "bootcode.bin" octet, as the Pi 3 ROM sends it (21 bytes, no options).
std::vector<std::byte> pi3_rrq() { return raw("\0\1bootcode.bin\0octet\0"s); }
// Pi 4 EEPROM: RRQ "9ffefdef/start4.elf" octet tsize 0 blksize 1024.
std::vector<std::byte> pi4_rrq() {
  return raw(
      "\0\1"
      "9ffefdef/start4.elf\0octet\0tsize\0"
      "0\0blksize\0"
      "1024\0"s);
}

TEST(TftpPacket, ParsesPi3RomRrq) {
  auto b = pi3_rrq();
  ASSERT_EQ(b.size(), 21U);
  auto r = parse_request(b);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->op, opcode::rrq);
  EXPECT_EQ(r->filename, "bootcode.bin");
  EXPECT_EQ(r->mode, "octet");
  EXPECT_EQ(r->mode_kind, transfer_mode::octet);
  EXPECT_TRUE(r->options.empty());
}

TEST(TftpPacket, ParsesPi4RrqWithOptions) {
  auto b = pi4_rrq();
  auto r = parse_request(b);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->filename, "9ffefdef/start4.elf");
  ASSERT_EQ(r->options.size(), 2U);
  EXPECT_EQ(r->options[0].name, "tsize");
  EXPECT_EQ(r->options[0].value, "0");
  ASSERT_NE(r->options.find("BLKSIZE"), nullptr);
  EXPECT_EQ(r->options.find("BlkSize")->value, "1024");
  EXPECT_EQ(r->options.find("windowsize"), nullptr);
}

TEST(TftpPacket, ModeIsCaseInsensitiveAndMailRefused) {
  auto r = parse_request(raw("\0\2f\0NetASCII\0"s));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->op, opcode::wrq);
  EXPECT_EQ(r->mode_kind, transfer_mode::netascii);
  EXPECT_EQ(parse_request(raw("\0\1f\0OCTET\0"s))->mode_kind, transfer_mode::octet);
  EXPECT_EQ(parse_request(raw("\0\1f\0mail\0"s)).error(), make_error_code(errc::bad_mode));
  EXPECT_EQ(parse_request(raw("\0\1f\0binary\0"s)).error(), make_error_code(errc::bad_mode));
}

TEST(TftpPacket, DuplicateOptionsRejectedCaseInsensitively) {
  auto r =
      parse_request(raw("\0\1f\0octet\0blksize\0"
                        "512\0BLKSIZE\0"
                        "1024\0"s));
  EXPECT_EQ(r.error(), make_error_code(errc::duplicate_option));
}

TEST(TftpPacket, TrailingNulPaddingTolerated) {
  auto b =
      raw("\0\1f\0octet\0tsize\0"
          "0\0\0\0\0"s);
  auto r = parse_request(b);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->options.size(), 1U);
  auto junk = raw("\0\1f\0octet\0\0x"s);
  EXPECT_EQ(parse_request(junk).error(), make_error_code(errc::bad_option_value));
}

TEST(TftpPacket, OptionWithoutValueIsTruncated) {
  EXPECT_EQ(parse_request(raw("\0\1f\0octet\0tsize\0"s)).error(), make_error_code(errc::truncated));
  EXPECT_EQ(parse_request(raw("\0\1f\0octet\0tsize\0"
                              "0"s))
                .error(),
            make_error_code(errc::missing_nul));
}

TEST(TftpPacket, TooManyOptions) {
  std::string s("\0\1f\0octet\0", 10);
  for (int i = 0; i < 17; ++i)
    s += "x" + std::to_string(i) +
         "\0"
         "1\0"s;
  EXPECT_EQ(parse_request(raw(s)).error(), make_error_code(errc::too_many_options));
}

TEST(TftpPacket, EveryTruncationOfRequestErrors) {
  for (auto const& b : {pi3_rrq(), pi4_rrq()}) {
    for (std::size_t n = 0; n < b.size(); ++n) {
      auto r = parse_request(std::span<const std::byte>(b).first(n));
      // A cut right after a complete option pair is itself a valid shorter request.
      if (r) {
        EXPECT_LT(r->options.size(), parse_request(b)->options.size()) << n;
      } else {
        EXPECT_TRUE(r.error() == make_error_code(errc::truncated) ||
                    r.error() == make_error_code(errc::missing_nul) ||
                    r.error() == make_error_code(errc::bad_mode))
            << n << " " << r.error().message();
      }
    }
  }
}

TEST(TftpPacket, EveryTruncationOfOackAndErrorErrors) {
  auto oack =
      raw("\0\6blksize\0"
          "1024\0tsize\0"
          "2228224\0"s);
  std::vector<std::size_t> valid_cuts;
  for (std::size_t n = 0; n < oack.size(); ++n) {
    auto r = parse_oack(std::span<const std::byte>(oack).first(n));
    if (r) valid_cuts.push_back(n);
  }
  // Only the bare opcode and the cut after the first complete pair parse.
  EXPECT_EQ(valid_cuts, (std::vector<std::size_t>{2, 15}));
  auto err = raw("\0\5\0\1File not found\0"s);
  for (std::size_t n = 0; n < err.size(); ++n)
    EXPECT_FALSE(parse_error(std::span<const std::byte>(err).first(n))) << n;
}

TEST(TftpPacket, SingleByteMutationsStayInBounds) {
  auto b = pi4_rrq();
  for (std::size_t i = 0; i < b.size(); ++i) {
    for (int v : {0x00, 0x01, 0x06, 0x41, 0xff}) {
      auto m = b;
      m[i] = static_cast<std::byte>(v);
      auto r = parse_request(m);
      if (r) {
        EXPECT_LE(r->filename.size() + r->mode.size(), m.size());
        for (auto const& o : r->options) {
          EXPECT_GE(o.name.data(), reinterpret_cast<char const*>(m.data()));
          EXPECT_LE(o.value.data() + o.value.size(), reinterpret_cast<char const*>(m.data() + m.size()));
        }
      }
      (void)parse_data(m);
      (void)parse_ack(m);
      (void)parse_error(m);
      (void)parse_oack(m);
    }
  }
}

TEST(TftpPacket, DataAckErrorRoundTrip) {
  std::array<std::byte, 64> out{};
  auto payload = raw("hello");
  auto n = write_data(out, 0xfffe, payload);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 9U);
  EXPECT_EQ(std::vector<std::byte>(out.begin(), out.begin() + 4), from_hex("00 03 ff fe"));
  auto d = parse_data(std::span<const std::byte>(out).first(*n));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->block, 0xfffe);
  EXPECT_EQ(std::vector<std::byte>(d->payload.begin(), d->payload.end()), payload);

  n = write_ack(out, 7);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::vector<std::byte>(out.begin(), out.begin() + 4), from_hex("00 04 00 07"));
  EXPECT_EQ(parse_ack(std::span<const std::byte>(out).first(*n))->block, 7);

  n = write_error(out, error_code_wire::file_not_found, "File not found");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4U + 14 + 1);
  auto e = parse_error(std::span<const std::byte>(out).first(*n));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, error_code_wire::file_not_found);
  EXPECT_EQ(e->message, "File not found");
}

TEST(TftpPacket, EarlyTerminateFromPi) {
  auto b = raw("\0\5\0\0Early terminate\0"s);
  auto e = parse_error(b);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, error_code_wire::not_defined);
  EXPECT_EQ(e->message, "Early terminate");
  for (std::size_t n = 0; n < b.size(); ++n)
    EXPECT_FALSE(parse_error(std::span<const std::byte>(b).first(n))) << n;
}

TEST(TftpPacket, ShortPacketsError) {
  for (std::size_t n = 0; n < 4; ++n) {
    auto b = from_hex("00 04 00 01");
    EXPECT_FALSE(parse_ack(std::span<const std::byte>(b).first(n)));
    auto d = from_hex("00 03 00 01");
    EXPECT_FALSE(parse_data(std::span<const std::byte>(d).first(n)));
  }
  EXPECT_EQ(parse_opcode(from_hex("00 07")).error(), make_error_code(errc::bad_opcode));
  EXPECT_EQ(parse_opcode(from_hex("00")).error(), make_error_code(errc::truncated));
  EXPECT_EQ(parse_ack(from_hex("00 03 00 01")).error(), make_error_code(errc::bad_opcode));
  EXPECT_EQ(parse_request(from_hex("00 03 00 01")).error(), make_error_code(errc::bad_opcode));
}

TEST(TftpPacket, WriteRequestAndOackRoundTrip) {
  std::array<std::byte, 128> out{};
  std::array<option_view, 2> opts{{{"blksize", "1428"}, {"windowsize", "16"}}};
  auto n = write_request(out, opcode::rrq, "pxelinux.0", transfer_mode::octet, opts);
  ASSERT_TRUE(n);
  auto r = parse_request(std::span<const std::byte>(out).first(*n));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->filename, "pxelinux.0");
  EXPECT_EQ(r->options.find("windowsize")->value, "16");

  n = write_oack(out, std::span<const option_view>(opts));
  ASSERT_TRUE(n);
  auto o = parse_oack(std::span<const std::byte>(out).first(*n));
  ASSERT_TRUE(o);
  ASSERT_EQ(o->options.size(), 2U);
  EXPECT_EQ(o->options[0].value, "1428");
}

TEST(TftpPacket, WritersReportBufferTooSmallAndBadStrings) {
  std::array<std::byte, 8> small{};
  EXPECT_EQ(write_request(small, opcode::rrq, "long-file-name", transfer_mode::octet).error(),
            make_error_code(errc::buffer_too_small));
  EXPECT_EQ(write_ack(std::span<std::byte>(small).first(3), 1).error(),
            make_error_code(errc::buffer_too_small));
  EXPECT_EQ(write_data(small, 1, raw("12345")).error(), make_error_code(errc::buffer_too_small));
  std::array<std::byte, 64> out{};
  EXPECT_EQ(write_request(out, opcode::data, "f", transfer_mode::octet).error(),
            make_error_code(errc::bad_opcode));
  EXPECT_EQ(write_request(out, opcode::rrq, std::string_view("a\0b", 3), transfer_mode::octet).error(),
            make_error_code(errc::bad_option_value));
  std::array<option_view, 1> empty_name{{{"", "1"}}};
  EXPECT_EQ(write_oack(out, std::span<const option_view>(empty_name)).error(),
            make_error_code(errc::bad_option_value));
  // ERROR messages with NUL are cut, so they still parse.
  auto n = write_error(out, error_code_wire::disk_full, std::string_view("ab\0cd", 5));
  ASSERT_TRUE(n);
  EXPECT_EQ(parse_error(std::span<const std::byte>(out).first(*n))->message, "ab");
}

}  // namespace
}  // namespace pinetboot::tftp
