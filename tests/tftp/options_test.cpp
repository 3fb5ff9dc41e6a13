#include "pinetboot/tftp/options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/hex.hpp"

namespace pinetboot::tftp {
namespace {

using namespace std::string_literals;

struct req_holder {
  std::vector<std::byte> bytes;
  request_view view;
};

req_holder make(opcode op, std::vector<std::pair<std::string, std::string>> const& opts,
                transfer_mode mode = transfer_mode::octet) {
  std::string s;
  s += '\0';
  s += static_cast<char>(op);
  s += std::string("file") + '\0' + std::string(mode_name(mode)) + '\0';
  for (auto const& [n, v] : opts) s += n + '\0' + v + '\0';
  req_holder h{test::bytes_of(s), {}};
  auto r = parse_request(h.bytes);
  EXPECT_TRUE(r) << r.error().message();
  if (r) h.view = *r;
  return h;
}

std::vector<std::pair<std::string, std::string>> oack_of(negotiated_options const& n) {
  std::array<std::byte, 256> out{};
  auto len = write_oack(out, n);
  EXPECT_TRUE(len);
  auto o = parse_oack(std::span<const std::byte>(out).first(*len));
  EXPECT_TRUE(o);
  std::vector<std::pair<std::string, std::string>> v;
  for (auto const& opt : o->options) v.emplace_back(std::string(opt.name), std::string(opt.value));
  return v;
}

using kv = std::vector<std::pair<std::string, std::string>>;

TEST(TftpOptions, Pi4TsizeAndBlksize) {
  auto h = make(opcode::rrq, {{"tsize", "0"}, {"blksize", "1024"}});
  auto n = negotiate(h.view, {}, 2'228'224);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->blksize, 1024);
  EXPECT_EQ(n->windowsize, 1);
  EXPECT_EQ(oack_of(*n), (kv{{"blksize", "1024"}, {"tsize", "2228224"}}));
}

TEST(TftpOptions, NoOptionsNoOack) {
  auto h = make(opcode::rrq, {});
  auto n = negotiate(h.view, {}, 100);
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->any());
  EXPECT_EQ(n->blksize, 512);
}

TEST(TftpOptions, UnknownOptionsIgnoredAndNeverAcked) {
  auto h = make(opcode::rrq, {{"multicast", ""}, {"rollover", "0"}, {"utimeout", "500"}});
  auto n = negotiate(h.view, {}, 100);
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->any());
}

TEST(TftpOptions, BlksizeClampedAndRangeChecked) {
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"blksize", "65464"}}).view, {}, 1)->blksize, 1468);
  negotiation_limits big;
  big.max_blksize = 65464;
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"blksize", "65464"}}).view, big, 1)->blksize, 65464);
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"blksize", "99999"}}).view, big, 1)->blksize, 65464);
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"blksize", "8"}}).view, {}, 1)->blksize, 8);
  auto small = negotiate(make(opcode::rrq, {{"blksize", "7"}}).view, {}, 1);
  EXPECT_FALSE(small->has(option_flag::blksize));
  EXPECT_EQ(small->blksize, 512);
  negotiation_limits strict;
  strict.strict = true;
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"blksize", "7"}}).view, strict, 1).error(),
            make_error_code(errc::bad_option_value));
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"blksize", "12x"}}).view, strict, 1).error(),
            make_error_code(errc::bad_option_value));
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"blksize", "-512"}}).view, strict, 1).error(),
            make_error_code(errc::bad_option_value));
}

TEST(TftpOptions, TimeoutRange) {
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"timeout", "5"}}).view, {}, 1)->timeout_s, 5);
  EXPECT_EQ(oack_of(*negotiate(make(opcode::rrq, {{"timeout", "255"}}).view, {}, 1)),
            (kv{{"timeout", "255"}}));
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"timeout", "0"}}).view, {}, 1)->any());
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"timeout", "256"}}).view, {}, 1)->any());
}

TEST(TftpOptions, TsizeRules) {
  // RRQ: the real size, whatever the client sent; refused for netascii; curl-safe for size 0.
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"tsize", "0"}}).view, {}, 123)->tsize, 123U);
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"tsize", "0"}}, transfer_mode::netascii).view, {}, 123)->any());
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"tsize", "0"}}).view, {}, 0)->any());
  negotiation_limits zero_ok;
  zero_ok.ack_zero_tsize = true;
  EXPECT_EQ(oack_of(*negotiate(make(opcode::rrq, {{"tsize", "0"}}).view, zero_ok, 0)), (kv{{"tsize", "0"}}));
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"tsize", "0"}}).view, {}, std::nullopt)->any());
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"tsize", "enable"}}).view, {}, 5)->any());  // atftp man page
  // WRQ: the announced size, bounded by the write limit.
  negotiation_limits lim;
  lim.max_write_size = 1000;
  EXPECT_EQ(negotiate(make(opcode::wrq, {{"tsize", "1000"}}).view, lim, std::nullopt)->tsize, 1000U);
  EXPECT_EQ(negotiate(make(opcode::wrq, {{"tsize", "1001"}}).view, lim, std::nullopt).error(),
            make_error_code(errc::disk_full));
}

TEST(TftpOptions, WindowsizeClamped) {
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"windowsize", "16"}}).view, {}, 1)->windowsize, 16);
  EXPECT_EQ(negotiate(make(opcode::rrq, {{"windowsize", "65535"}}).view, {}, 1)->windowsize, 64);
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"windowsize", "0"}}).view, {}, 1)->any());
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"windowsize", "65536"}}).view, {}, 1)->any());
  negotiation_limits off;
  off.allow_windowsize = false;
  EXPECT_FALSE(negotiate(make(opcode::rrq, {{"windowsize", "8"}}).view, off, 1)->any());
}

TEST(TftpOptions, DisabledOptionsMeanPlainRfc1350) {
  negotiation_limits off;
  off.enable_options = false;
  auto n = negotiate(make(opcode::rrq, {{"blksize", "1024"}, {"tsize", "0"}}).view, off, 10);
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->any());
  EXPECT_EQ(n->blksize, 512);
}

TEST(TftpOptions, ParseDecimal) {
  EXPECT_EQ(*parse_decimal("0"), 0U);
  EXPECT_EQ(*parse_decimal("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_decimal("18446744073709551616"));
  EXPECT_FALSE(parse_decimal(""));
  EXPECT_FALSE(parse_decimal(" 1"));
  EXPECT_FALSE(parse_decimal("+1"));
}

TEST(TftpOptions, ClientRequestAndOackValidation) {
  client_options want;
  want.blksize = 1428;
  want.tsize = true;
  want.windowsize = 16;
  want.timeout_s = 3;
  std::array<std::byte, 128> out{};
  auto n = write_request(out, opcode::rrq, "vmlinuz", transfer_mode::octet, want);
  ASSERT_TRUE(n);
  auto r = parse_request(std::span<const std::byte>(out).first(*n));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->options.find("tsize")->value, "0");
  EXPECT_EQ(r->options.find("blksize")->value, "1428");
  auto server = negotiate(*r, {}, 4096);
  ASSERT_TRUE(server);
  auto len = write_oack(out, *server);
  auto oack = parse_oack(std::span<const std::byte>(out).first(*len));
  auto v = validate_oack(*oack, want);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->blksize, 1428);
  EXPECT_EQ(v->windowsize, 16);
  EXPECT_EQ(v->tsize, 4096U);
  EXPECT_EQ(v->timeout_s, 3);
  n = write_request(out, opcode::wrq, "up", transfer_mode::octet, want, 777);
  EXPECT_EQ(parse_request(std::span<const std::byte>(out).first(*n))->options.find("tsize")->value, "777");

  auto check = [&](std::string const& text) {
    auto b = test::bytes_of("\0\6"s + text);
    auto o = parse_oack(b);
    EXPECT_TRUE(o);
    return validate_oack(*o, want);
  };
  EXPECT_EQ(check("blksize\0"
                  "2048\0"s)
                .error(),
            make_error_code(errc::option_refused));
  EXPECT_EQ(check("windowsize\0"
                  "32\0"s)
                .error(),
            make_error_code(errc::option_refused));
  EXPECT_EQ(check("timeout\0"
                  "5\0"s)
                .error(),
            make_error_code(errc::option_refused));
  EXPECT_EQ(check("multicast\0"
                  "1\0"s)
                .error(),
            make_error_code(errc::option_refused));
  EXPECT_TRUE(
      check("blksize\0"
            "512\0"s));
  client_options none;
  auto b = test::bytes_of(
      "\0\6tsize\0"
      "5\0"s);
  EXPECT_EQ(validate_oack(*parse_oack(b), none).error(), make_error_code(errc::option_refused));
}

}  // namespace
}  // namespace pinetboot::tftp
