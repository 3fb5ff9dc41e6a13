#include "pinetboot/dhcp/builder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pinetboot/dhcp/options.hpp"
#include "pinetboot/dhcp/pxe.hpp"
#include "support/hex.hpp"

namespace pinetboot::dhcp {
namespace {

using core::ipv4_address;
using test::from_hex;
using test::load_hex;

std::vector<std::byte> bytes(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

TEST(DhcpBuilder, PadsToBootpMinimumAndWritesHeader) {
  std::array<std::byte, 600> out{};
  out.fill(std::byte{0xaa});
  message_builder b{out};
  auto mac = *core::mac_address::parse("b8:27:eb:01:02:03");
  b.op(bootp_op::reply)
      .xid(0x01020304)
      .secs(7)
      .hops(1)
      .broadcast(true)
      .ciaddr(ipv4_address(1, 2, 3, 4))
      .yiaddr(ipv4_address(5, 6, 7, 8))
      .siaddr(ipv4_address(9, 10, 11, 12))
      .giaddr(ipv4_address(13, 14, 15, 16))
      .mac(mac)
      .sname("server")
      .file("boot/file");
  b.add_message_type(message_type::offer);
  auto n = b.finish();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 300u);
  auto m = message_view::parse(std::span{out}.first(*n));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op(), bootp_op::reply);
  EXPECT_EQ(m->xid(), 0x01020304u);
  EXPECT_EQ(m->secs(), 7);
  EXPECT_EQ(m->hops(), 1);
  EXPECT_EQ(m->flags(), 0x8000);
  EXPECT_EQ(m->ciaddr(), ipv4_address(1, 2, 3, 4));
  EXPECT_EQ(m->yiaddr(), ipv4_address(5, 6, 7, 8));
  EXPECT_EQ(m->siaddr(), ipv4_address(9, 10, 11, 12));
  EXPECT_EQ(m->giaddr(), ipv4_address(13, 14, 15, 16));
  EXPECT_EQ(*m->mac(), mac);
  EXPECT_EQ(m->sname(), "server");
  EXPECT_EQ(m->file(), "boot/file");
  EXPECT_EQ(*opt::message_type(*m), message_type::offer);
  // 53 01 02 ff at 240, then zeros to 300, nothing written beyond.
  EXPECT_EQ(bytes(std::span{out}.subspan(240, 4)), from_hex("35 01 02 ff"));
  for (std::size_t i = 244; i < 300; ++i) EXPECT_EQ(out[i], std::byte{0}) << i;
  EXPECT_EQ(out[300], std::byte{0xaa});
  b.broadcast(false);
}

TEST(DhcpBuilder, PaddingCanBeDisabled) {
  std::array<std::byte, 300> out{};
  message_builder b{out};
  b.pad_to(0).add_message_type(message_type::ack);
  EXPECT_EQ(*b.finish(), 244u);
}

TEST(DhcpBuilder, ReportsExactSizeNeeded) {
  // Build once into a big buffer, then into every smaller size: each must fail with the same
  // needed() and never write past its span.
  std::vector<std::byte> big(1024);
  auto build = [](std::span<std::byte> out) {
    message_builder b{out};
    b.xid(42).add_message_type(message_type::offer).add_string(option::vendor_class, "PXEClient");
    std::vector<std::byte> long_value(400, std::byte{0x41});
    b.add_raw(option::vendor_specific, long_value);
    auto r = b.finish();
    return std::pair{r, b.needed()};
  };
  auto [ok, need] = build(big);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, need);
  EXPECT_EQ(need, 240u + 3 + 11 + 257 + 147 + 1);
  for (std::size_t size = 0; size < need; ++size) {
    std::vector<std::byte> small(size);  // exact size: ASan catches overruns
    auto [r, n] = build(small);
    ASSERT_FALSE(r) << size;
    EXPECT_EQ(r.error(), errc::buffer_too_small);
    EXPECT_EQ(n, need) << size;
  }
  std::vector<std::byte> exact(need);
  EXPECT_TRUE(build(exact).first);
}

TEST(DhcpBuilder, SplitsLongOptionsPerRfc3396) {
  std::vector<std::byte> value(600);
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::byte>(i & 0xff);
  std::vector<std::byte> out(1024), scratch(600);
  message_builder b{out};
  b.add_raw(option::vendor_specific, value);
  auto n = b.finish();
  ASSERT_TRUE(n);
  auto m = message_view::parse(std::span{out}.first(*n));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->count(option::vendor_specific), 3u);
  std::vector<std::size_t> sizes;
  for (auto o : m->options()) sizes.push_back(o.data.size());
  EXPECT_THAT(sizes, ::testing::ElementsAre(255, 255, 90));
  auto v = m->concat(option::vendor_specific, scratch);
  ASSERT_TRUE(v);
  EXPECT_EQ(bytes(*v), value);
}

TEST(DhcpBuilder, IpListSplitsOnWholeAddresses) {
  std::vector<ipv4_address> list;
  for (std::uint32_t i = 0; i < 70; ++i) list.emplace_back(0x0a000000u + i);
  std::vector<std::byte> out(1024), scratch(280);
  message_builder b{out};
  b.add_ip_list(option::router, list)
      .add_ip(option::server_id, ipv4_address(10, 0, 0, 1))
      .add_u16(option::max_message_size, 1500)
      .add_u32(option::lease_time, 3600)
      .add_u8(option::overload, 0);
  auto m = message_view::parse(std::span{out}.first(*b.finish()));
  // An overload value of 0 is invalid: the builder writes what it is told, parse() rejects it.
  EXPECT_FALSE(m);
  message_builder c{out};
  c.add_ip_list(option::router, list)
      .add_ip(option::server_id, ipv4_address(10, 0, 0, 1))
      .add_u16(option::max_message_size, 1500)
      .add_u32(option::lease_time, 3600);
  m = message_view::parse(std::span{out}.first(*c.finish()));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->count(option::router), 2u);
  EXPECT_EQ(m->find(option::router)->data.size(), 252u);
  auto v = m->concat(option::router, scratch);
  ASSERT_TRUE(v);
  auto ips = *decode_ipv4_list(*v);
  ASSERT_EQ(ips.size(), 70u);
  EXPECT_EQ(ips[69], ipv4_address(0x0a000045u));
  EXPECT_EQ(*opt::server_id(*m), ipv4_address(10, 0, 0, 1));
  EXPECT_EQ(*opt::max_message_size(*m), 1500);
  EXPECT_EQ(*opt::lease_time(*m), 3600u);
}

TEST(DhcpBuilder, RejectsInvalidArguments) {
  std::array<std::byte, 512> out{};
  EXPECT_EQ(message_builder{out}.add_raw(option::pad, {}).finish().error(), errc::bad_option_value);
  EXPECT_EQ(message_builder{out}.add_raw(option::end, {}).finish().error(), errc::bad_option_value);
  EXPECT_EQ(message_builder{out}.add_ip_list(option::router, {}).finish().error(), errc::bad_option_value);
  EXPECT_EQ(message_builder{out}.sname(std::string(65, 'x')).finish().error(), errc::bad_option_value);
  EXPECT_EQ(message_builder{out}.file(std::string(129, 'x')).finish().error(), errc::bad_option_value);
  EXPECT_EQ(message_builder{out}.hlen(17).finish().error(), errc::bad_hlen);
  std::array<std::byte, 17> hw{};
  EXPECT_EQ(message_builder{out}.chaddr(hw).finish().error(), errc::bad_hlen);
  // Full-width names are allowed (the field then has no NUL) and read back whole.
  message_builder b{out};
  auto n = b.sname(std::string(64, 's')).file(std::string(128, 'f')).finish();
  ASSERT_TRUE(n);
  auto m = message_view::parse(std::span{out}.first(*n));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->sname(), std::string(64, 's'));
  EXPECT_EQ(m->file(), std::string(128, 'f'));
}

TEST(DhcpBuilder, StartReplyCopiesRequestIdentity) {
  auto req_bytes = load_hex("dhcp/rpi4-discover.hex");
  req_bytes[10] = std::byte{0x80};  // broadcast flag
  req_bytes[24] = std::byte{10};    // giaddr 10.0.0.1
  req_bytes[27] = std::byte{1};
  req_bytes[3] = std::byte{2};  // hops: not copied
  req_bytes[8] = std::byte{5};  // secs: not copied
  auto req = *message_view::parse(req_bytes);
  std::array<std::byte, 576> out{};
  auto b = start_reply(out, req, message_type::offer);
  b.siaddr(ipv4_address(192, 168, 1, 3));
  auto n = b.finish();
  ASSERT_TRUE(n);
  auto m = *message_view::parse(std::span{out}.first(*n));
  EXPECT_EQ(m.op(), bootp_op::reply);
  EXPECT_EQ(m.xid(), 0xd383a6acu);
  EXPECT_EQ(m.flags(), 0x8000);
  EXPECT_EQ(m.giaddr(), ipv4_address(10, 0, 0, 1));
  EXPECT_EQ(m.hops(), 0);
  EXPECT_EQ(m.secs(), 0);
  EXPECT_EQ(m.htype(), 1);
  EXPECT_EQ(m.hlen(), 6);
  EXPECT_EQ(m.mac()->to_string(), "dc:a6:32:01:02:03");
  EXPECT_EQ(bytes(m.chaddr()), bytes(req.chaddr()));
  EXPECT_EQ(m.options().begin()->code, option::message_type);
  EXPECT_EQ(*opt::message_type(m), message_type::offer);
}

// The proxyDHCP OFFER of spec 12.3 rebuilt with the builder comes out byte for byte.
TEST(DhcpBuilder, ReproducesDnsmasqProxyOffer) {
  auto expected = load_hex("dhcp/dnsmasq-proxy-offer.hex");
  std::vector<std::byte> req_bytes = load_hex("dhcp/rpi3bplus-bootcode-discover.hex");
  // Make the request come from the offer's client.
  auto mac = from_hex("b8 27 eb 6c 4c 16");
  std::copy(mac.begin(), mac.end(), req_bytes.begin() + 28);
  auto req = *message_view::parse(req_bytes);
  std::array<std::byte, 64> menu{};
  auto menu_len = write_pi_boot_menu(menu);
  ASSERT_TRUE(menu_len);
  std::array<std::byte, 576> out{};
  auto b = start_reply(out, req, message_type::offer);
  b.broadcast(true)
      .add_ip(option::server_id, ipv4_address(192, 168, 1, 117))
      .add_string(option::vendor_class, "PXEClient")
      .add_raw(option::client_guid, from_hex("00 16 4c 6c b6 16 4c 6c b6 16 4c 6c b6 16 4c 6c b6"))
      .add_raw(option::vendor_specific, std::span{menu}.first(*menu_len));
  auto n = b.pad_to(0).finish();
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, expected.size());
  EXPECT_EQ(bytes(std::span{out}.first(*n)), expected);
}

}  // namespace
}  // namespace pinetboot::dhcp
