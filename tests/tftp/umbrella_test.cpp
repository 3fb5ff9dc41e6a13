// The umbrella header is self-contained and exposes the whole module.
#include "pinetboot/tftp.hpp"

#include <gtest/gtest.h>

#include "support/memory_source.hpp"

namespace pinetboot::tftp {
namespace {

TEST(TftpUmbrella, SessionsAcceptTestSourcesAndSinks) {
  static_assert(block_source<test::memory_source>);
  static_assert(block_sink<test::memory_sink>);
  std::array<std::byte, 32> rrq{};
  auto n = write_request(rrq, opcode::rrq, "f", transfer_mode::octet);
  ASSERT_TRUE(n);
  auto req = parse_request(std::span<const std::byte>(rrq).first(*n));
  ASSERT_TRUE(req);
  std::vector<std::byte> data(10, std::byte{1});
  test::memory_source src{data};
  read_session<test::memory_source> s{src, {}, *req};
  std::array<std::byte, 600> out{};
  auto m = s.poll_transmit(out, time_point{});
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, 14U);
}

}  // namespace
}  // namespace pinetboot::tftp
