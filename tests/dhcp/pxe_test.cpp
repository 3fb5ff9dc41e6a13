#include "pinetboot/dhcp/pxe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pinetboot/dhcp/builder.hpp"
#include "support/hex.hpp"

namespace pinetboot::dhcp {
namespace {

using core::ipv4_address;
using test::from_hex;
using test::load_hex;

std::vector<std::byte> bytes(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

TEST(DhcpPxe, VendorClassFullForm) {
  auto v = parse_vendor_class("PXEClient:Arch:00000:UNDI:002001");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, vendor_kind::pxe_client);
  EXPECT_EQ(v->arch, 0);
  EXPECT_EQ(v->undi_major, 2);
  EXPECT_EQ(v->undi_minor, 1);
  EXPECT_EQ(v->rest, "");
  v = parse_vendor_class("HTTPClient:Arch:00016:UNDI:003016");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, vendor_kind::http_client);
  EXPECT_EQ(v->arch, 16);
  EXPECT_EQ(v->undi_major, 3);
  EXPECT_EQ(v->undi_minor, 16);
}

TEST(DhcpPxe, VendorClassPrefixes) {
  auto v = parse_vendor_class("PXEClient");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->arch);
  EXPECT_FALSE(v->undi_major);
  v = parse_vendor_class("HTTPClient");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, vendor_kind::http_client);
  v = parse_vendor_class("PXEClient:Arch:00007");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->arch, 7);
  EXPECT_FALSE(v->undi_major);
  v = parse_vendor_class("PXEClient:Arch:00011:UNDI:003000:extra");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->arch, 11);
  EXPECT_EQ(v->rest, ":extra");
}

TEST(DhcpPxe, VendorClassErrors) {
  EXPECT_EQ(parse_vendor_class("udhcp 1.35.0").error(), errc::not_pxe);
  EXPECT_EQ(parse_vendor_class("").error(), errc::not_pxe);
  EXPECT_EQ(parse_vendor_class("pxeclient").error(), errc::not_pxe);
  EXPECT_EQ(parse_vendor_class("PXEClient:Arch:0000").error(), errc::bad_option_value);
  EXPECT_EQ(parse_vendor_class("PXEClient:Arch:0000x").error(), errc::bad_option_value);
  EXPECT_EQ(parse_vendor_class("PXEClient:Arch:99999").error(), errc::bad_option_value);
  EXPECT_EQ(parse_vendor_class("PXEClient:Arch:00000:UNDI:00200").error(), errc::bad_option_value);
  EXPECT_EQ(parse_vendor_class("PXEClient:Arch:00000:UNDI:256001").error(), errc::bad_option_value);
}

// Spec 12.2, published bytes.
constexpr char const* pi_menu_32 =
    "06 01 03 0a 04 00 50 58 45 09 14 00 00 11 52 61"
    "73 70 62 65 72 72 79 20 50 69 20 42 6f 6f 74 ff";
constexpr char const* pi_menu_35 =
    "06 01 03 0a 04 00 50 58 45 09 17 00 00 14 52 61"
    "73 70 62 65 72 72 79 20 50 69 20 42 6f 6f 74 20"
    "20 20 ff";

TEST(DhcpPxe, RaspberryPiBootMenuIsByteExact) {
  std::array<std::byte, 64> out{};
  auto n = write_pi_boot_menu(out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 32u);
  EXPECT_EQ(bytes(std::span{out}.first(*n)), from_hex(pi_menu_32));
  n = write_pi_boot_menu(out, pi_boot_menu_text_padded);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 35u);
  EXPECT_EQ(bytes(std::span{out}.first(*n)), from_hex(pi_menu_35));
}

TEST(DhcpPxe, RaspberryPiBootMenuBufferTooSmall) {
  for (std::size_t size = 0; size < 32; ++size) {
    std::vector<std::byte> out(size);
    EXPECT_EQ(write_pi_boot_menu(out).error(), errc::buffer_too_small) << size;
  }
  std::array<std::byte, 512> big{};
  EXPECT_EQ(write_pi_boot_menu(big, std::string(251, 'x')).error(), errc::bad_option_value);
}

TEST(DhcpPxe, ParsesPiMenu) {
  auto v = from_hex(pi_menu_35);
  auto p = parse_pxe_options(v);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->discovery_control, 3);
  ASSERT_TRUE(p->menu_prompt);
  EXPECT_EQ(p->menu_prompt->timeout, 0);
  EXPECT_EQ(p->menu_prompt->prompt, "PXE");
  ASSERT_TRUE(p->boot_menu);
  std::vector<std::string> entries;
  for (auto e : *p->boot_menu) {
    EXPECT_EQ(e.type, 0);
    entries.emplace_back(e.description);
  }
  EXPECT_THAT(entries, ::testing::ElementsAre("Raspberry Pi Boot   "));
  EXPECT_TRUE(p->menu_contains(pi_boot_menu_text));
  EXPECT_FALSE(p->menu_contains("Linux"));
  EXPECT_FALSE(p->boot_servers);
  EXPECT_FALSE(p->boot_item);
}

TEST(DhcpPxe, WriterRoundTripsEverySubOption) {
  std::array<ipv4_address, 2> servers_a{ipv4_address(10, 0, 0, 1), ipv4_address(10, 0, 0, 2)};
  std::array<ipv4_address, 1> servers_b{ipv4_address(10, 0, 0, 3)};
  std::array<boot_server_spec, 2> servers{{{0x8000, servers_a}, {7, servers_b}}};
  std::array<menu_entry, 2> menu{{{0x8000, "Linux"}, {0, "Local boot"}}};
  std::array<std::byte, 256> out{};
  pxe_options_writer w{out};
  w.discovery_control(7)
      .boot_servers(servers)
      .boot_menu(menu)
      .menu_prompt(10, "Press F8")
      .boot_item(0x8000, 0);
  std::array<std::byte, 2> raw{std::byte{1}, std::byte{2}};
  w.raw(200, raw);
  auto n = w.finish();
  ASSERT_TRUE(n);
  auto p = parse_pxe_options(std::span{out}.first(*n));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->discovery_control, 7);
  ASSERT_TRUE(p->boot_servers);
  std::vector<std::pair<std::uint16_t, std::size_t>> got;
  for (auto s : *p->boot_servers) got.emplace_back(s.type, s.addresses.size());
  EXPECT_THAT(got, ::testing::ElementsAre(std::pair<std::uint16_t, std::size_t>{0x8000, 2},
                                          std::pair<std::uint16_t, std::size_t>{7, 1}));
  EXPECT_EQ((*(*p->boot_servers).begin()).addresses[1], ipv4_address(10, 0, 0, 2));
  std::vector<std::string> descs;
  for (auto e : *p->boot_menu) descs.emplace_back(e.description);
  EXPECT_THAT(descs, ::testing::ElementsAre("Linux", "Local boot"));
  EXPECT_EQ(p->menu_prompt->timeout, 10);
  EXPECT_EQ(p->menu_prompt->prompt, "Press F8");
  EXPECT_EQ(*p->boot_item, (boot_item_value{0x8000, 0}));
  EXPECT_TRUE(p->all.find(200));
  EXPECT_EQ(out[*n - 1], std::byte{0xff});
}

TEST(DhcpPxe, WriterRejectsOversizedSubOption) {
  std::array<std::byte, 1024> out{};
  std::array<menu_entry, 2> menu{{{0, std::string_view{"x"}}, {0, std::string_view{}}}};
  std::string long_text(200, 'a');
  menu[1].description = long_text;
  pxe_options_writer w{out};
  w.boot_menu(menu);  // 3 + 1 + 3 + 200 = 207: fine
  EXPECT_TRUE(w.finish());
  std::array<menu_entry, 2> too_long{{{0, long_text}, {0, long_text}}};
  pxe_options_writer w2{out};
  w2.boot_menu(too_long);  // 406 > 255
  EXPECT_EQ(w2.finish().error(), errc::bad_option_value);
  pxe_options_writer w3{out};
  EXPECT_EQ(w3.raw(255, {}).finish().error(), errc::bad_option_value);
}

TEST(DhcpPxe, ParseRejectsMalformedSubOptions) {
  EXPECT_EQ(parse_pxe_options(from_hex("06 02 03 03 ff")).error(), errc::bad_option_value);
  EXPECT_EQ(parse_pxe_options(from_hex("06 05 03")).error(), errc::bad_option_value);
  EXPECT_EQ(parse_pxe_options(from_hex("09 04 00 00 05 41")).error(), errc::bad_option_value);
  EXPECT_EQ(parse_pxe_options(from_hex("08 07 00 00 02 0a 00 00 01")).error(), errc::bad_option_value);
  EXPECT_EQ(parse_pxe_options(from_hex("0a 00")).error(), errc::bad_option_value);
  EXPECT_EQ(parse_pxe_options(from_hex("47 03 00 00 00")).error(), errc::bad_option_value);
  // Raw menu text without sub-option framing (seen in ISC configs, spec 3.7) is not PXE form.
  EXPECT_FALSE(parse_pxe_options(core::as_bytes("Raspberry Pi Boot")));
  // Empty and End-only values are fine and carry nothing.
  auto p = parse_pxe_options({});
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->boot_menu);
  EXPECT_TRUE(parse_pxe_options(from_hex("ff 01 02")));
}

guid_view guid_of(std::vector<std::byte> const& v) { return *decode_client_guid(v); }

TEST(DhcpPxe, PiGuidConstant) {
  auto v = from_hex("00 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44");
  auto g = decode_pi_guid(guid_of(v));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->form, pi_guid_form::constant);
  EXPECT_FALSE(g->serial);
}

TEST(DhcpPxe, PiGuidSerialRepeated) {
  // Spec 3.8: 16 4c 6c b6 x4 <-> serial b66c4c16.
  auto v = from_hex("00 16 4c 6c b6 16 4c 6c b6 16 4c 6c b6 16 4c 6c b6");
  auto g = decode_pi_guid(guid_of(v));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->form, pi_guid_form::serial_repeated);
  ASSERT_TRUE(g->serial);
  EXPECT_EQ(g->serial->value(), 0xb66c4c16u);
  auto hex = g->serial->hex();
  EXPECT_EQ(std::string_view(hex.data(), hex.size()), "b66c4c16");
  auto v2 = from_hex("00 44 56 ef a2 44 56 ef a2 44 56 ef a2 44 56 ef a2");
  hex = decode_pi_guid(guid_of(v2))->serial->hex();
  EXPECT_EQ(std::string_view(hex.data(), hex.size()), "a2ef5644");
}

TEST(DhcpPxe, PiGuidFourccBothByteOrders) {
  // Spec 12.5: first 13 bytes published, the serial is ours.
  auto fwd = from_hex("00 52 50 69 34 40 31 c0 00 01 94 25 0e 78 56 34 12");
  auto g = decode_pi_guid(guid_of(fwd));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->form, pi_guid_form::fourcc);
  EXPECT_EQ(std::string_view(g->fourcc.data(), 4), "RPi4");
  EXPECT_FALSE(g->reversed);
  EXPECT_EQ(g->revision, 0x00c03140u);
  EXPECT_THAT(g->mac_low, ::testing::ElementsAre(0x01, 0x94, 0x25, 0x0e));
  EXPECT_EQ(g->serial, core::pi_serial{0x12345678u});

  auto rev = from_hex("00 34 69 50 52 41 31 a0 00 01 f8 de b9 60 00 00 00");
  g = decode_pi_guid(guid_of(rev));
  ASSERT_TRUE(g);
  EXPECT_EQ(std::string_view(g->fourcc.data(), 4), "RPi4");
  EXPECT_TRUE(g->reversed);
  EXPECT_EQ(g->revision, 0x00a03141u);
  EXPECT_THAT(g->mac_low, ::testing::ElementsAre(0x01, 0xf8, 0xde, 0xb9));

  auto pi5 = from_hex("00 35 69 50 52 70 41 d0 00 2c cf 67 00 ef cd ab 89");
  g = decode_pi_guid(guid_of(pi5));
  ASSERT_TRUE(g);
  EXPECT_EQ(std::string_view(g->fourcc.data(), 4), "RPi5");
  auto hex = g->serial->hex();
  EXPECT_EQ(std::string_view(hex.data(), hex.size()), "89abcdef");
}

TEST(DhcpPxe, PiGuidCustomPrefixAndRejects) {
  auto v = from_hex("00 de ad be ef 41 31 a0 00 01 02 03 04 01 00 00 00");
  EXPECT_EQ(decode_pi_guid(guid_of(v)).error(), errc::not_raspberry_pi);
  std::array<guid_prefix, 1> prefixes{{{0xde, 0xad, 0xbe, 0xef}}};
  auto g = decode_pi_guid(guid_of(v), prefixes);
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->custom);
  EXPECT_EQ(g->revision, 0x00a03141u);
  // A random UUID (SMBIOS of a PC) and a non-zero type are not Pis.
  auto pc = from_hex("00 4c 4c 45 44 00 10 38 80 52 b3 c0 4f 4e 35 32 31");
  EXPECT_EQ(decode_pi_guid(guid_of(pc)).error(), errc::not_raspberry_pi);
  auto typed = from_hex("01 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44");
  EXPECT_EQ(decode_pi_guid(guid_of(typed)).error(), errc::not_raspberry_pi);
}

struct class_case {
  char const* file;
  client_class kind;
  pi_generation pi;
  char const* serial;  // nullptr: unknown
};
std::ostream& operator<<(std::ostream& os, class_case const& c) { return os << c.file; }

class DhcpClassify : public ::testing::TestWithParam<class_case> {};

TEST_P(DhcpClassify, Fixture) {
  auto b = load_hex(GetParam().file);
  auto m = message_view::parse(b);
  ASSERT_TRUE(m);
  auto c = classify(*m);
  EXPECT_EQ(to_string(c.kind), to_string(GetParam().kind));
  EXPECT_EQ(to_string(c.pi), to_string(GetParam().pi));
  if (GetParam().serial != nullptr) {
    ASSERT_TRUE(c.guid && c.guid->serial);
    auto hex = c.guid->serial->hex();
    EXPECT_EQ(std::string_view(hex.data(), hex.size()), GetParam().serial);
  } else if (c.guid) {
    EXPECT_FALSE(c.guid->serial);
  }
  if (GetParam().kind == client_class::raspberry_pi) {
    EXPECT_EQ(c.arch, 0);
    EXPECT_TRUE(c.pi_oui);
    EXPECT_FALSE(c.ipxe);
    EXPECT_FALSE(c.http);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, DhcpClassify,
    ::testing::Values(
        class_case{"dhcp/dhclient-discover.hex", client_class::not_pxe, pi_generation::unknown, nullptr},
        class_case{"dhcp/dhclient-request.hex", client_class::not_pxe, pi_generation::unknown, nullptr},
        class_case{"dhcp/udhcpc-discover.hex", client_class::not_pxe, pi_generation::unknown, nullptr},
        class_case{"dhcp/udhcpc-request.hex", client_class::not_pxe, pi_generation::unknown, nullptr},
        class_case{"dhcp/dhcpcd-discover.hex", client_class::not_pxe, pi_generation::unknown, nullptr},
        class_case{"dhcp/dhcpcd-request.hex", client_class::not_pxe, pi_generation::unknown, nullptr},
        class_case{"dhcp/rpi3b-rom-discover.hex", client_class::raspberry_pi, pi_generation::pi3_rom,
                   nullptr},
        class_case{"dhcp/rpi3bplus-bootcode-discover.hex", client_class::raspberry_pi,
                   pi_generation::pi3_bootcode, "5564247d"},
        class_case{"dhcp/rpi4-discover.hex", client_class::raspberry_pi, pi_generation::pi4, "6aee7243"}),
    [](auto const& p) {
      std::string s = p.param.file + 5;
      s = s.substr(0, s.size() - 4);
      for (auto& ch : s)
        if (ch == '-') ch = '_';
      return s;
    });

// Builds a DISCOVER from a Pi-like template with the given tweaks.
struct discover_spec {
  char const* mac = "b8:27:eb:01:02:03";
  std::string_view vendor_class = "PXEClient:Arch:00000:UNDI:002001";
  std::vector<std::byte> arch = from_hex("00 00");
  std::vector<std::byte> guid = from_hex("00 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44");
  std::string_view user_class;
  bool ipxe_encap = false;
};

classification classify_spec(discover_spec const& s, classifier_config const& cfg = {}) {
  std::array<std::byte, 600> out{};
  message_builder b{out};
  b.op(bootp_op::request).mac(*core::mac_address::parse(s.mac)).add_message_type(message_type::discover);
  if (!s.arch.empty()) b.add_raw(option::client_arch, s.arch);
  if (!s.guid.empty()) b.add_raw(option::client_guid, s.guid);
  if (!s.vendor_class.empty()) b.add_string(option::vendor_class, s.vendor_class);
  if (!s.user_class.empty()) b.add_string(option::user_class, s.user_class);
  if (s.ipxe_encap) b.add_raw(option::ipxe_encap, from_hex("15 01 01"));
  auto n = b.finish();
  EXPECT_TRUE(n);
  auto m = message_view::parse(std::span{out}.first(*n));
  EXPECT_TRUE(m);
  return classify(*m, cfg);
}

TEST(DhcpClassifyRules, ArchZeroNeedsPiEvidence) {
  // A Pi OUI alone (no GUID) is enough by default...
  discover_spec s;
  s.guid.clear();
  EXPECT_EQ(classify_spec(s).kind, client_class::raspberry_pi);
  EXPECT_EQ(classify_spec(s).pi, pi_generation::unknown);
  // ...but arch 0 with neither a Pi OUI nor a Pi GUID is an x86 BIOS PC.
  s.mac = "52:54:00:12:34:56";
  EXPECT_EQ(classify_spec(s).kind, client_class::x86_bios);
  // A Pi GUID alone is enough.
  s.guid = from_hex("00 52 50 69 34 40 31 c0 00 01 94 25 0e 01 02 03 04");
  auto c = classify_spec(s);
  EXPECT_EQ(c.kind, client_class::raspberry_pi);
  EXPECT_EQ(c.pi, pi_generation::pi4);
  EXPECT_FALSE(c.pi_oui);
  // Both matchers can be switched off.
  classifier_config cfg;
  cfg.match_guid = false;
  EXPECT_EQ(classify_spec(s, cfg).kind, client_class::x86_bios);
}

TEST(DhcpClassifyRules, PiGenerations) {
  discover_spec s;
  EXPECT_EQ(classify_spec(s).pi, pi_generation::pi3_rom);
  s.mac = "2c:cf:67:00:00:01";
  s.guid = from_hex("00 35 69 50 52 70 41 d0 00 2c cf 67 00 ef cd ab 89");
  EXPECT_EQ(classify_spec(s).pi, pi_generation::pi5);
  s.guid = from_hex("00 52 50 69 35 70 41 d0 00 2c cf 67 00 ef cd ab 89");
  EXPECT_EQ(classify_spec(s).pi, pi_generation::pi5);
  s.guid = from_hex("00 34 69 50 52 41 31 a0 00 01 f8 de b9 60 00 00 00");
  EXPECT_EQ(classify_spec(s).pi, pi_generation::pi4);
  // Custom DHCP_OPTION97 prefix: generation from the revision's board type (0x17 = Pi 5).
  s.guid = from_hex("00 de ad be ef 70 41 d0 00 2c cf 67 00 ef cd ab 89");
  std::array<guid_prefix, 1> prefixes{{{0xde, 0xad, 0xbe, 0xef}}};
  classifier_config cfg;
  cfg.extra_guid_prefixes = prefixes;
  EXPECT_EQ(classify_spec(s, cfg).pi, pi_generation::pi5);
  EXPECT_EQ(classify_spec(s).pi, pi_generation::unknown);  // OUI still says Pi
  // Configurable OUI list.
  s.mac = "02:00:00:00:00:01";
  std::array<oui, 1> ouis{{{0x02, 0x00, 0x00}}};
  cfg.pi_ouis = ouis;
  EXPECT_EQ(classify_spec(s, cfg).kind, client_class::raspberry_pi);
  EXPECT_EQ(classify_spec(s).kind, client_class::x86_bios);
}

TEST(DhcpClassifyRules, Architectures) {
  discover_spec s;
  s.mac = "52:54:00:12:34:56";
  s.guid.clear();
  auto with = [&](char const* arch_hex, std::string_view vc) {
    s.arch = from_hex(arch_hex);
    s.vendor_class = vc;
    return classify_spec(s);
  };
  EXPECT_EQ(with("00 06", "PXEClient:Arch:00006:UNDI:003016").kind, client_class::uefi_ia32);
  EXPECT_EQ(with("00 07", "PXEClient:Arch:00007:UNDI:003016").kind, client_class::uefi_x64);
  EXPECT_EQ(with("00 09", "PXEClient:Arch:00009:UNDI:003016").kind, client_class::uefi_x64);
  EXPECT_EQ(with("00 0a", "PXEClient:Arch:00010:UNDI:003016").kind, client_class::uefi_arm32);
  EXPECT_EQ(with("00 0b", "PXEClient:Arch:00011:UNDI:003000").kind, client_class::uefi_arm64);
  auto http = with("00 10", "HTTPClient:Arch:00016:UNDI:003001");
  EXPECT_EQ(http.kind, client_class::uefi_http);
  EXPECT_EQ(http.arch, 16);
  EXPECT_TRUE(http.http);
  EXPECT_EQ(with("00 13", "HTTPClient").kind, client_class::uefi_http);
  EXPECT_EQ(with("00 02", "PXEClient").kind, client_class::unknown_pxe);
  // No option 93: the vendor class arch is used.
  auto vc_only = with("", "PXEClient:Arch:00007:UNDI:003016");
  EXPECT_EQ(vc_only.kind, client_class::uefi_x64);
  EXPECT_EQ(vc_only.arch, 7);
  EXPECT_EQ(with("", "PXEClient").kind, client_class::unknown_pxe);
  // Malformed digits after a PXEClient prefix still count as PXE.
  EXPECT_EQ(with("00 07", "PXEClient:Arch:7").kind, client_class::uefi_x64);
  // A Pi running UEFI (pftf) as second stage is ARM64 UEFI, not the Pi ROM (spec 9.2).
  s.mac = "dc:a6:32:00:00:01";
  EXPECT_EQ(with("00 0b", "PXEClient:Arch:00011:UNDI:003000").kind, client_class::uefi_arm64);
  // No vendor class at all: not PXE, whatever option 93 says.
  EXPECT_EQ(with("00 07", "").kind, client_class::not_pxe);
}

TEST(DhcpClassifyRules, Ipxe) {
  discover_spec s;
  s.mac = "52:54:00:12:34:56";
  s.guid.clear();
  s.user_class = "iPXE";
  auto c = classify_spec(s);
  EXPECT_EQ(c.kind, client_class::ipxe);
  EXPECT_TRUE(c.ipxe);
  EXPECT_EQ(c.arch, 0);
  s.user_class = "\x04iPXE";  // RFC 3004 framing
  EXPECT_EQ(classify_spec(s).kind, client_class::ipxe);
  s.user_class =
      "\x03"
      "abc";
  EXPECT_EQ(classify_spec(s).kind, client_class::x86_bios);
  s.user_class = {};
  s.ipxe_encap = true;
  EXPECT_EQ(classify_spec(s).kind, client_class::ipxe);
}

}  // namespace
}  // namespace pinetboot::dhcp
