#include "pinetboot/dhcp/options.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/hex.hpp"

namespace pinetboot::dhcp {
namespace {

using core::ipv4_address;
using test::from_hex;
using test::load_hex;

template <class Range>
auto collect(Range const& r) {
  std::vector<std::decay_t<decltype(*r.begin())>> out;
  for (auto v : r) out.push_back(v);
  return out;
}

std::vector<std::uint8_t> codes(parameter_list_view const& l) {
  std::vector<std::uint8_t> out;
  for (option c : l) out.push_back(static_cast<std::uint8_t>(c));
  return out;
}

// A message whose options field is `opts_hex` (End appended).
class built_message {
 public:
  explicit built_message(std::string_view opts_hex) : bytes_(240, std::byte{0}) {
    bytes_[0] = std::byte{1};
    bytes_[1] = std::byte{1};
    bytes_[2] = std::byte{6};
    auto cookie = from_hex("63 82 53 63");
    std::copy(cookie.begin(), cookie.end(), bytes_.begin() + 236);
    auto o = from_hex(opts_hex);
    bytes_.insert(bytes_.end(), o.begin(), o.end());
    bytes_.push_back(std::byte{0xff});
  }
  message_view view() const { return *message_view::parse(bytes_); }

 private:
  std::vector<std::byte> bytes_;
};

TEST(DhcpOptions, RealClientValues) {
  auto dhclient = load_hex("dhcp/dhclient-request.hex");
  auto m = *message_view::parse(dhclient);
  EXPECT_EQ(*opt::hostname(m), "pnb-cap-client");
  EXPECT_EQ(*opt::server_id(m), ipv4_address(10, 231, 0, 1));
  EXPECT_EQ(*opt::requested_address(m), ipv4_address(10, 231, 0, 75));
  EXPECT_EQ(codes(*opt::parameter_list(m)),
            (std::vector<std::uint8_t>{1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42}));
  EXPECT_EQ(opt::vendor_class(m).error(), errc::option_absent);
  EXPECT_EQ(opt::max_message_size(m).error(), errc::option_absent);

  auto udhcpc = load_hex("dhcp/udhcpc-request.hex");
  m = *message_view::parse(udhcpc);
  EXPECT_EQ(*opt::max_message_size(m), 576);
  EXPECT_EQ(codes(*opt::parameter_list(m)), (std::vector<std::uint8_t>{1, 3, 6, 12, 15, 28, 42}));
  EXPECT_EQ(*opt::vendor_class(m), "udhcp 1.35.0");
  auto cid = opt::client_id(m);
  ASSERT_TRUE(cid);
  EXPECT_EQ(cid->type, 1);
  EXPECT_EQ(std::vector<std::byte>(cid->id.begin(), cid->id.end()), from_hex("02 50 4e 42 00 02"));
  EXPECT_EQ(*opt::requested_address(m), ipv4_address(10, 231, 0, 76));

  auto dhcpcd = load_hex("dhcp/dhcpcd-discover.hex");
  m = *message_view::parse(dhcpcd);
  EXPECT_EQ(*opt::max_message_size(m), 1472);
  cid = opt::client_id(m);
  ASSERT_TRUE(cid);
  EXPECT_EQ(cid->type, 255);
  EXPECT_EQ(cid->id.size(), 18u);
  EXPECT_EQ(codes(*opt::parameter_list(m)),
            (std::vector<std::uint8_t>{1, 121, 3, 6, 12, 15, 26, 28, 33, 51, 54, 58, 59, 119}));
  EXPECT_TRUE(m.find(option::rapid_commit));
}

TEST(DhcpOptions, RaspberryPiValues) {
  // Spec 3.1 variant A and 3.2: the Pi 3B ROM and Pi 4 request lists, in wire order.
  auto rom = load_hex("dhcp/rpi3b-rom-discover.hex");
  auto r = *message_view::parse(rom);
  EXPECT_EQ(codes(*opt::parameter_list(r)),
            (std::vector<std::uint8_t>{43, 60, 67, 128, 129, 130, 131, 132, 133, 134, 135, 66}));
  EXPECT_EQ(*opt::vendor_class(r), "PXEClient:Arch:00000:UNDI:002001");
  EXPECT_EQ(opt::client_guid(r)->id[7], std::byte{0x44});
  EXPECT_EQ(opt::max_message_size(r).error(), errc::option_absent);
  EXPECT_EQ(opt::client_id(r).error(), errc::option_absent);
  EXPECT_EQ(opt::hostname(r).error(), errc::option_absent);
  auto pi4 = load_hex("dhcp/rpi4-discover.hex");
  r = *message_view::parse(pi4);
  EXPECT_EQ(codes(*opt::parameter_list(r)),
            (std::vector<std::uint8_t>{1, 3, 43, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135}));
  EXPECT_EQ(*opt::client_ndi(r), (ndi_info{1, 2, 1}));
  EXPECT_EQ(opt::client_guid(r)->id[0], std::byte{0x43});

  auto b = load_hex("dhcp/rpi3bplus-bootcode-discover.hex");
  auto m = *message_view::parse(b);
  EXPECT_EQ(codes(*opt::parameter_list(m)),
            (std::vector<std::uint8_t>{43, 60, 67, 128, 129, 130, 131, 132, 133, 134, 135, 66, 1, 3}));
  EXPECT_THAT(collect(*opt::client_arch(m)), ::testing::ElementsAre(0));
  EXPECT_EQ(*opt::client_ndi(m), (ndi_info{1, 2, 1}));
  auto g = opt::client_guid(m);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->type, 0);
  EXPECT_EQ(g->id[0], std::byte{0x7d});
  EXPECT_EQ(g->id[15], std::byte{0x55});
  EXPECT_EQ(*opt::vendor_class(m), "PXEClient:Arch:00000:UNDI:002001");

  auto offer = load_hex("dhcp/dnsmasq-proxy-offer.hex");
  m = *message_view::parse(offer);
  EXPECT_EQ(*opt::server_id(m), ipv4_address(192, 168, 1, 117));
  EXPECT_EQ(*opt::vendor_class(m), "PXEClient");
  EXPECT_EQ(opt::vendor_specific(m)->size(), 32u);
}

TEST(DhcpOptions, ScalarsAndAddresses) {
  built_message b{
      "01 04 ff ff ff 00  03 08 0a 00 00 01 0a 00 00 02  06 04 08 08 08 08  0f 07 65 78 61 6d 70 6c 65"
      "1c 04 0a 00 00 ff  33 04 00 00 a8 c0  3a 04 00 00 54 60  3b 04 00 00 93 a8  42 05 31 2e 32 2e 33"
      "43 0a 70 78 65 6c 69 6e 75 78 2e 30  76 04 0a 01 02 03"};
  auto m = b.view();
  EXPECT_EQ(*opt::subnet_mask(m), ipv4_address(255, 255, 255, 0));
  EXPECT_THAT(collect(*opt::routers(m)),
              ::testing::ElementsAre(ipv4_address(10, 0, 0, 1), ipv4_address(10, 0, 0, 2)));
  EXPECT_EQ(opt::routers(m)->size(), 2u);
  EXPECT_EQ((*opt::routers(m))[1], ipv4_address(10, 0, 0, 2));
  EXPECT_THAT(collect(*opt::domain_servers(m)), ::testing::ElementsAre(ipv4_address(8, 8, 8, 8)));
  EXPECT_EQ(*opt::domain_name(m), "example");
  EXPECT_EQ(*opt::broadcast_address(m), ipv4_address(10, 0, 0, 255));
  EXPECT_EQ(*opt::lease_time(m), 43200u);
  EXPECT_EQ(*opt::renewal_time(m), 21600u);
  EXPECT_EQ(*opt::rebinding_time(m), 37800u);
  EXPECT_EQ(*opt::tftp_server(m), "1.2.3");
  EXPECT_EQ(*opt::bootfile(m), "pxelinux.0");
  EXPECT_EQ(*opt::link_selection(m), ipv4_address(10, 1, 2, 3));
}

TEST(DhcpOptions, WrongLengthsAreRejected) {
  built_message b{
      "01 03 ff ff ff  03 06 0a 00 00 01 0a 00  06 00  0c 00  1c 05 00 00 00 00 00  32 02 01 02  33 03 00 00 "
      "01"
      "35 01 09  36 00  37 00  39 02 02 3f  3a 05 00 00 00 00 00  3b 00  3c 00  3d 01 01  42 00  43 00  4d 00"
      "52 03 01 05 00  5d 03 00 00 00  5e 02 01 02  61 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
      "76 00  af 02 01 05"};
  auto m = b.view();
  EXPECT_EQ(opt::subnet_mask(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::routers(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::domain_servers(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::hostname(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::broadcast_address(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::requested_address(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::lease_time(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::message_type(m).error(), errc::bad_option_value);  // 9 is not 1..8
  EXPECT_EQ(opt::server_id(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::parameter_list(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::max_message_size(m).error(), errc::bad_option_value);  // 575 < 576
  EXPECT_EQ(opt::renewal_time(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::rebinding_time(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::vendor_class(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::client_id(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::tftp_server(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::bootfile(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::user_class(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::relay_agent(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::client_arch(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::client_ndi(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::client_guid(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::link_selection(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::ipxe_encap(m).error(), errc::bad_option_value);
  EXPECT_EQ(opt::domain_name(m).error(), errc::option_absent);
}

TEST(DhcpOptions, RelayAgentSubOptions) {
  // circuit id "eth0", remote id 6 bytes, link selection 10.9.8.0.
  built_message b{"52 14 01 04 65 74 68 30 02 06 00 11 22 33 44 55 05 04 0a 09 08 00"};
  auto ra = opt::relay_agent(b.view());
  ASSERT_TRUE(ra);
  std::vector<std::uint8_t> got;
  for (auto s : *ra) got.push_back(s.code);
  EXPECT_THAT(got,
              ::testing::ElementsAre(relay_sub::circuit_id, relay_sub::remote_id, relay_sub::link_selection));
  EXPECT_EQ(core::as_chars(ra->find(relay_sub::circuit_id)->data), "eth0");
  EXPECT_EQ(*decode_ipv4(ra->find(relay_sub::link_selection)->data), ipv4_address(10, 9, 8, 0));
  // Codes 0 and 255 are ordinary sub-option codes in option 82 (no pad/end framing).
  built_message z{"52 04 00 00 ff 00"};
  ra = opt::relay_agent(z.view());
  ASSERT_TRUE(ra);
  EXPECT_EQ(collect(*ra).size(), 2u);
}

TEST(DhcpOptions, IpxeEncapsulatedSubOptions) {
  // 175: 0x15 (https) = 1, pad, 0xeb (bus id) 7 bytes, end, trailing junk ignored.
  built_message b{"af 0e 15 01 01 00 eb 07 01 10 ec 10 0e 00 00 ff"};
  auto e = opt::ipxe_encap(b.view());
  ASSERT_TRUE(e);
  auto subs = collect(*e);
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].code, 0x15);
  EXPECT_EQ(subs[1].code, 0xeb);
  EXPECT_EQ(subs[1].data.size(), 7u);
}

TEST(DhcpOptions, ClientArchListAndNdi) {
  built_message b{"5d 04 00 07 00 10  5e 03 01 03 10"};
  auto m = b.view();
  EXPECT_THAT(collect(*opt::client_arch(m)), ::testing::ElementsAre(7, 16));
  EXPECT_EQ(*opt::client_ndi(m), (ndi_info{1, 3, 16}));
}

TEST(DhcpOptions, TextDecoderStripsOneTrailingNul) {
  EXPECT_EQ(*decode_text(from_hex("61 62 00")), "ab");
  EXPECT_EQ(*decode_text(from_hex("00")), "");
  EXPECT_FALSE(decode_text({}));
  EXPECT_EQ(*decode_u8(from_hex("07")), 7);
  EXPECT_EQ(*decode_u16(from_hex("01 02")), 0x0102);
  EXPECT_FALSE(decode_u16(from_hex("01")));
  EXPECT_EQ(*decode_u32(from_hex("01 02 03 04")), 0x01020304u);
  EXPECT_FALSE(decode_ipv4_list(from_hex("01 02 03 04 05")));
}

}  // namespace
}  // namespace pinetboot::dhcp
