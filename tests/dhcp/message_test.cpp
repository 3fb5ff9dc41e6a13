#include "pinetboot/dhcp/message.hpp"

#include "pinetboot/dhcp/options.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "dhcp/roundtrip.hpp"
#include "support/hex.hpp"

namespace pinetboot::dhcp {
namespace {

using test::from_hex;
using test::load_hex;

std::vector<std::uint8_t> codes_of(message_view const& m) {
  std::vector<std::uint8_t> out;
  for (option_view o : m.options()) out.push_back(static_cast<std::uint8_t>(o.code));
  return out;
}

struct fixture {
  char const* file;
  std::size_t size;
  bootp_op op;
  std::uint32_t xid;
  std::uint16_t flags;
  char const* mac;
  message_type type;
  std::vector<std::uint8_t> codes;  // wire order, without pad/end
};

std::ostream& operator<<(std::ostream& os, fixture const& f) { return os << f.file; }

std::vector<fixture> const& fixtures() {
  static std::vector<fixture> const all{
      {"dhcp/dhclient-discover.hex",
       300,
       bootp_op::request,
       0x4455246a,
       0,
       "02:50:4e:42:00:01",
       message_type::discover,
       {53, 12, 55}},
      {"dhcp/dhclient-request.hex",
       300,
       bootp_op::request,
       0x4455246a,
       0,
       "02:50:4e:42:00:01",
       message_type::request,
       {53, 54, 50, 12, 55}},
      {"dhcp/udhcpc-discover.hex",
       300,
       bootp_op::request,
       0x5efa3110,
       0,
       "02:50:4e:42:00:02",
       message_type::discover,
       {53, 57, 55, 60, 61}},
      {"dhcp/udhcpc-request.hex",
       300,
       bootp_op::request,
       0x5efa3110,
       0,
       "02:50:4e:42:00:02",
       message_type::request,
       {53, 50, 54, 57, 55, 60, 61}},
      {"dhcp/dhcpcd-discover.hex",
       300,
       bootp_op::request,
       0x0b8c016b,
       0,
       "02:50:4e:42:00:03",
       message_type::discover,
       {53, 55, 57, 61, 80, 116, 145}},
      {"dhcp/dhcpcd-request.hex",
       300,
       bootp_op::request,
       0x0b8c016b,
       0,
       "02:50:4e:42:00:03",
       message_type::request,
       {50, 53, 54, 55, 57, 61, 145}},
      {"dhcp/rpi3b-rom-discover.hex",
       320,
       bootp_op::request,
       0x26f30339,
       0,
       "b8:27:eb:9d:c1:5a",
       message_type::discover,
       {53, 55, 93, 94, 97, 60}},
      {"dhcp/rpi3bplus-bootcode-discover.hex",
       322,
       bootp_op::request,
       0x26f30339,
       0,
       "b8:27:eb:64:24:7d",
       message_type::discover,
       {53, 55, 93, 94, 97, 60}},
      {"dhcp/rpi4-discover.hex",
       322,
       bootp_op::request,
       0xd383a6ac,
       0,
       "dc:a6:32:01:02:03",
       message_type::discover,
       {53, 55, 93, 94, 97, 60}},
      {"dhcp/dnsmasq-proxy-offer.hex",
       314,
       bootp_op::reply,
       0x26f30339,
       0x8000,
       "b8:27:eb:6c:4c:16",
       message_type::offer,
       {53, 54, 60, 97, 43}},
  };
  return all;
}

class DhcpFixture : public ::testing::TestWithParam<fixture> {
 protected:
  void SetUp() override { bytes_ = load_hex(GetParam().file); }
  std::vector<std::byte> bytes_;
};

TEST_P(DhcpFixture, ParsesHeaderAndOptionsInWireOrder) {
  auto const& f = GetParam();
  ASSERT_EQ(bytes_.size(), f.size);
  auto m = message_view::parse(bytes_);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->op(), f.op);
  EXPECT_EQ(m->htype(), 1);
  EXPECT_EQ(m->hlen(), 6);
  EXPECT_EQ(m->hops(), 0);
  EXPECT_EQ(m->xid(), f.xid);
  EXPECT_EQ(m->secs(), 0);
  EXPECT_EQ(m->flags(), f.flags);
  EXPECT_EQ(m->broadcast(), f.flags == 0x8000);
  EXPECT_TRUE(m->ciaddr().is_unspecified());
  EXPECT_TRUE(m->yiaddr().is_unspecified());
  EXPECT_TRUE(m->siaddr().is_unspecified());
  EXPECT_TRUE(m->giaddr().is_unspecified());
  ASSERT_TRUE(m->mac());
  EXPECT_EQ(m->mac()->to_string(), f.mac);
  EXPECT_EQ(m->hardware_address().size(), 6u);
  EXPECT_EQ(m->sname(), "");
  EXPECT_EQ(m->file(), "");
  EXPECT_EQ(m->overload(), 0);
  EXPECT_EQ(codes_of(*m), f.codes);
  auto t = opt::message_type(*m);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, f.type);
  EXPECT_EQ(m->bytes().size(), f.size);
}

TEST_P(DhcpFixture, EveryTruncationErrorsOrIsAConsistentPrefix) {
  auto full = message_view::parse(bytes_);
  ASSERT_TRUE(full);
  std::vector<std::byte> sa(bytes_.size()), sb(bytes_.size());
  std::size_t ok = 0;
  for (std::size_t n = 0; n < bytes_.size(); ++n) {
    // A copy of exactly n bytes so ASan flags any read past the prefix.
    std::vector<std::byte> prefix(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(n));
    auto m = message_view::parse(prefix);
    if (n < layout::options) {
      ASSERT_FALSE(m) << n;
      EXPECT_EQ(m.error(), errc::truncated) << n;
      continue;
    }
    if (m) {
      // Only possible once the End option is inside the prefix: then nothing is lost.
      ++ok;
      EXPECT_TRUE(test::equal_views(*m, *full, sa, sb)) << n;
    } else {
      EXPECT_THAT(m.error(),
                  ::testing::AnyOf(::testing::Eq(errc::missing_end), ::testing::Eq(errc::bad_option_length)))
          << n;
    }
  }
  // Trailing zero padding after End makes those prefixes valid; the rest must all fail.
  std::size_t end_at = 0;
  for (std::size_t i = bytes_.size(); i-- > layout::options;) {
    if (bytes_[i] == std::byte{0xff}) {
      end_at = i;
      break;
    }
  }
  EXPECT_EQ(ok, bytes_.size() - end_at - 1);
}

TEST_P(DhcpFixture, EverySingleByteMutationStaysInBounds) {
  std::vector<std::byte> sa(bytes_.size()), sb(bytes_.size()), out(bytes_.size() * 2 + 64);
  std::size_t parsed = 0;
  auto copy = bytes_;
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    // Every value at every offset goes through parse and option iteration (ASan/UBSan
    // watch); a few values per offset also go through every decoder and the rebuild.
    for (unsigned v = 0; v < 256; ++v) {
      copy[i] = static_cast<std::byte>(v);
      auto m = message_view::parse(copy);
      if (!m) continue;
      ++parsed;
      std::size_t total = 0;
      for (option_view o : m->options()) total += o.data.size();
      ASSERT_LE(total, copy.size());
      if (v != 0x00 && v != 0x01 && v != 0x34 && v != 0x7f && v != 0xfe && v != 0xff) continue;
      (void)test::exercise_accessors(*m);
      auto n = test::rebuild(*m, out, sa);
      ASSERT_TRUE(n) << i;
      auto again = message_view::parse(std::span{out}.first(*n));
      ASSERT_TRUE(again) << i;
      EXPECT_TRUE(test::equal_views(*m, *again, sa, sb)) << i << " " << v;
    }
    copy[i] = bytes_[i];
  }
  EXPECT_GT(parsed, bytes_.size() * 128);
}

TEST_P(DhcpFixture, RebuildRoundTrips) {
  auto m = message_view::parse(bytes_);
  ASSERT_TRUE(m);
  std::vector<std::byte> out(600), sa(600), sb(600);
  auto n = test::rebuild(*m, out, sa);
  ASSERT_TRUE(n);
  EXPECT_GE(*n, layout::bootp_min_size);
  auto again = message_view::parse(std::span{out}.first(*n));
  ASSERT_TRUE(again);
  EXPECT_TRUE(test::equal_views(*m, *again, sa, sb));
  EXPECT_EQ(codes_of(*again), GetParam().codes);
  // Unpadded fixtures with only short options come back byte for byte.
  if (bytes_.back() == std::byte{0xff} && *n == bytes_.size()) {
    EXPECT_TRUE(std::equal(bytes_.begin(), bytes_.end(), out.begin()));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DhcpFixture, ::testing::ValuesIn(fixtures()), [](auto const& p) {
  std::string s = p.param.file + 5;  // drop "dhcp/"
  s = s.substr(0, s.size() - 4);
  for (auto& c : s)
    if (c == '-') c = '_';
  return s;
});

// A minimal header: op 1, Ethernet, cookie; `opts` follow at offset 240.
std::vector<std::byte> message_with(std::string_view opts_hex, std::size_t sname_off = 0,
                                    std::string_view sname_hex = {}, std::size_t file_off = 0,
                                    std::string_view file_hex = {}) {
  std::vector<std::byte> b(layout::options, std::byte{0});
  b[0] = std::byte{1};
  b[1] = std::byte{1};
  b[2] = std::byte{6};
  b[236] = std::byte{0x63};
  b[237] = std::byte{0x82};
  b[238] = std::byte{0x53};
  b[239] = std::byte{0x63};
  auto put = [&](std::size_t at, std::string_view hex) {
    auto v = from_hex(hex);
    std::copy(v.begin(), v.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
  };
  if (!sname_hex.empty()) put(layout::sname + sname_off, sname_hex);
  if (!file_hex.empty()) put(layout::file + file_off, file_hex);
  auto o = from_hex(opts_hex);
  b.insert(b.end(), o.begin(), o.end());
  return b;
}

TEST(DhcpMessage, HeaderErrors) {
  auto ok = message_with("35 01 01 ff");
  EXPECT_TRUE(message_view::parse(ok));
  auto bad = ok;
  bad[0] = std::byte{3};
  EXPECT_EQ(message_view::parse(bad).error(), errc::bad_op);
  bad = ok;
  bad[2] = std::byte{17};
  EXPECT_EQ(message_view::parse(bad).error(), errc::bad_hlen);
  bad[2] = std::byte{16};
  EXPECT_TRUE(message_view::parse(bad));
  bad = ok;
  bad[239] = std::byte{0x64};
  EXPECT_EQ(message_view::parse(bad).error(), errc::bad_magic_cookie);
  EXPECT_EQ(message_view::parse(std::span<const std::byte>{}).error(), errc::truncated);
}

TEST(DhcpMessage, OptionFramingErrors) {
  EXPECT_EQ(message_view::parse(message_with("35 01 01")).error(), errc::missing_end);
  EXPECT_EQ(message_view::parse(message_with("")).error(), errc::missing_end);
  EXPECT_EQ(message_view::parse(message_with("35 02 01 ff")).error(), errc::missing_end);  // eats End
  EXPECT_EQ(message_view::parse(message_with("35 05 01 ff")).error(), errc::bad_option_length);
  EXPECT_EQ(message_view::parse(message_with("35")).error(), errc::bad_option_length);
  // Pad anywhere, zero-length options, junk after End are fine.
  auto buf = message_with("00 00 35 01 05 00 50 00 ff 12 34");
  auto m = message_view::parse(buf);
  ASSERT_TRUE(m);
  EXPECT_THAT(codes_of(*m), ::testing::ElementsAre(53, 80));
  EXPECT_EQ(m->find(option::rapid_commit)->data.size(), 0u);
  EXPECT_FALSE(m->find(option::hostname));
}

TEST(DhcpMessage, SnameAndFileStopAtNul) {
  auto b = message_with("ff", 0, "73 72 76 00 78 78", 0, "70 78 65 6c 69 6e 75 78 2e 30");
  auto m = message_view::parse(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sname(), "srv");
  EXPECT_EQ(m->file(), "pxelinux.0");
  // A full field without NUL is returned whole.
  std::fill(b.begin() + layout::sname, b.begin() + layout::file, std::byte{'a'});
  m = message_view::parse(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sname(), std::string(64, 'a'));
}

TEST(DhcpMessage, OverloadReadsFileThenSnameInRfcOrder) {
  // Options field: 53, 52=3 (file+sname), 12 "a"; file: 12 "b", 60 "c"; sname: 12 "d".
  auto b = message_with("35 01 01 34 01 03 0c 01 61 ff", 0, "0c 01 64 ff", 0, "0c 01 62 00 3c 01 63 ff");
  auto m = message_view::parse(b);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->overload(), 3);
  EXPECT_EQ(m->sname(), "");
  EXPECT_EQ(m->file(), "");
  EXPECT_THAT(codes_of(*m), ::testing::ElementsAre(53, 52, 12, 12, 60, 12));
  std::array<std::byte, 8> scratch{};
  auto host = m->concat(option::hostname, scratch);
  ASSERT_TRUE(host);
  EXPECT_EQ(core::as_chars(*host), "abd");
  EXPECT_EQ(host->data(), scratch.data());
  EXPECT_EQ(m->count(option::hostname), 3u);
  EXPECT_EQ(m->concat_size(option::hostname), 3u);
  // The vendor class lives in `file` and is found there.
  EXPECT_EQ(*opt::vendor_class(*m), "c");
}

TEST(DhcpMessage, OverloadOnlyFile) {
  auto b = message_with("34 01 01 ff", 0, "61 62 63 00", 0, "42 01 78 ff");
  auto m = message_view::parse(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sname(), "abc");
  EXPECT_EQ(m->file(), "");
  EXPECT_THAT(codes_of(*m), ::testing::ElementsAre(52, 66));
}

TEST(DhcpMessage, OverloadOnlySname) {
  auto b = message_with("34 01 02 ff", 0, "42 03 61 62 63 ff", 0, "62 6f 6f 74 00");
  auto m = message_view::parse(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sname(), "");
  EXPECT_EQ(m->file(), "boot");
  EXPECT_EQ(*opt::tftp_server(*m), "abc");
  // Without option 52 the same bytes in sname are just a name, not options.
  auto plain = message_with("ff", 0, "42 03 61 62 63 ff");
  m = message_view::parse(plain);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->find(option::tftp_server));
  EXPECT_EQ(m->sname().size(), 6u);
}

TEST(DhcpMessage, OverloadErrors) {
  // File field without End.
  EXPECT_EQ(message_view::parse(message_with("34 01 01 ff", 0, {}, 0, "0c 01 62")).error(),
            errc::missing_end);
  // Option in file running past the field.
  auto b = message_with("34 01 01 ff");
  b[layout::file + 126] = std::byte{12};
  b[layout::file + 127] = std::byte{5};
  EXPECT_EQ(message_view::parse(b).error(), errc::bad_option_length);
  EXPECT_EQ(message_view::parse(message_with("34 01 04 ff")).error(), errc::bad_overload);
  EXPECT_EQ(message_view::parse(message_with("34 01 00 ff")).error(), errc::bad_overload);
  EXPECT_EQ(message_view::parse(message_with("34 02 01 00 ff")).error(), errc::bad_overload);
  EXPECT_EQ(message_view::parse(message_with("34 01 01 34 01 01 ff", 0, {}, 0, "ff")).error(),
            errc::bad_overload);
  // 52 inside the overloaded field itself.
  EXPECT_EQ(message_view::parse(message_with("34 01 01 ff", 0, {}, 0, "34 01 02 ff")).error(),
            errc::bad_overload);
}

TEST(DhcpMessage, Rfc3396ConcatenatesSplitOptions) {
  // Option 43 split in three pieces with other options in between.
  auto buf = message_with("2b 02 01 02 35 01 01 2b 01 03 0c 01 68 2b 03 04 05 06 ff");
  auto m = message_view::parse(buf);
  ASSERT_TRUE(m);
  std::array<std::byte, 6> scratch{};
  auto v = m->concat(option::vendor_specific, scratch);
  ASSERT_TRUE(v);
  EXPECT_EQ(std::vector<std::byte>(v->begin(), v->end()), from_hex("01 02 03 04 05 06"));
  EXPECT_EQ(m->concat_size(option::vendor_specific), 6u);
  std::array<std::byte, 5> small{};
  EXPECT_EQ(m->concat(option::vendor_specific, small).error(), errc::buffer_too_small);
  // Single occurrence: a view into the message, scratch unused even if empty.
  auto h = m->concat(option::hostname, {});
  ASSERT_TRUE(h);
  EXPECT_EQ(core::as_chars(*h), "h");
  EXPECT_GE(h->data(), m->bytes().data());
  EXPECT_LT(h->data(), m->bytes().data() + m->bytes().size());
  EXPECT_EQ(m->concat(option::client_guid, scratch).error(), errc::option_absent);
  // find() returns the first piece only.
  EXPECT_EQ(m->find(option::vendor_specific)->data.size(), 2u);
}

}  // namespace
}  // namespace pinetboot::dhcp
