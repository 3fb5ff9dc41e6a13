#include "pinetboot/net/udp.hpp"

#include <array>
#include <chrono>
#include <thread>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

namespace pinetboot::net {
namespace {

TEST(NetUdp, ReceiveReportsLocalAddressAndInterface) {
  asio::io_context io;
  asio::ip::udp::socket server{io}, client{io};
  ASSERT_FALSE(open_udp(server, {.address = core::ipv4_address{127, 0, 0, 1}, .pktinfo = true}));
  ASSERT_FALSE(open_udp(client, {.address = core::ipv4_address{127, 0, 0, 1}}));
  auto port = server.local_endpoint().port();

  std::array<std::byte, 3> msg{std::byte{1}, std::byte{2}, std::byte{3}};
  ASSERT_FALSE(send_to(client, msg, {asio::ip::make_address_v4("127.0.0.1"), port}));

  std::array<std::byte, 16> buf{};
  result<datagram_info> got{std::make_error_code(std::errc::operation_would_block)};
  for (int i = 0; i < 200 && !got; ++i) {
    got = receive_from(server, buf);
    if (!got) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->size, 3U);
  EXPECT_FALSE(got->truncated);
  EXPECT_EQ(got->local, (core::ipv4_address{127, 0, 0, 1}));
  EXPECT_EQ(got->from.port(), client.local_endpoint().port());
  auto lo = interface_index("lo");
  ASSERT_TRUE(lo);
  EXPECT_EQ(got->ifindex, *lo);
  EXPECT_EQ(interface_address("lo").value_or(core::ipv4_address{}), (core::ipv4_address{127, 0, 0, 1}));
}

TEST(NetUdp, EmptySocketWouldBlockAndTruncationIsReported) {
  asio::io_context io;
  asio::ip::udp::socket server{io}, client{io};
  ASSERT_FALSE(open_udp(server, {.address = core::ipv4_address{127, 0, 0, 1}, .pktinfo = true}));
  ASSERT_FALSE(open_udp(client, {.address = core::ipv4_address{127, 0, 0, 1}}));
  std::array<std::byte, 4> small{};
  auto none = receive_from(server, small);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), std::errc::operation_would_block);

  std::array<std::byte, 10> big{};
  ASSERT_FALSE(send_to(client, big, server.local_endpoint()));
  result<datagram_info> got{std::make_error_code(std::errc::operation_would_block)};
  for (int i = 0; i < 200 && !got; ++i) {
    got = receive_from(server, small);
    if (!got) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->truncated);
}

TEST(NetUdp, BindErrorsAreReported) {
  asio::io_context io;
  asio::ip::udp::socket a{io}, b{io};
  ASSERT_FALSE(open_udp(a, {.address = core::ipv4_address{127, 0, 0, 1}}));
  auto ec = open_udp(b, {.address = core::ipv4_address{127, 0, 0, 1}, .port = a.local_endpoint().port()});
  EXPECT_EQ(ec, std::errc::address_in_use);
  asio::ip::udp::socket c{io};
  EXPECT_TRUE(open_udp(c, {.device = "no-such-device0"}));
  EXPECT_FALSE(interface_index("no-such-device0"));
}

}  // namespace
}  // namespace pinetboot::net
