// tftp_server on loopback, driven by raw client sockets: a lockstep download, a packet from a
// foreign TID in the middle of it (ERROR 5 to the stranger, the transfer goes on), and a clean
// stop. Run alone (Asio waits on the transfer's socket) and with enough other transfers live
// that the new one goes into the server's own epoll set; and both again in single-port mode
// (every transfer on the listening socket, batched receives and sends).
#include "pinetboot/net/tftp_server.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "pinetboot/net/udp.hpp"
#include "pinetboot/tftp/packet.hpp"

namespace pinetboot::net {
namespace {

using namespace std::chrono_literals;

class TftpServerLoopback : public ::testing::TestWithParam<std::tuple<int, bool>> {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("pnb-tftp-server-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_);
    for (std::size_t i = 0; i < 5000; ++i) file_.push_back(static_cast<char>('a' + i % 23));
    std::ofstream{root_ / "f", std::ios::binary} << file_;
    std::ofstream{root_ / "big", std::ios::binary} << std::string(1 << 20, 'x');
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  asio::ip::udp::socket client() {
    asio::ip::udp::socket s{io_};
    EXPECT_FALSE(open_udp(s, {.address = core::ipv4_address{127, 0, 0, 1}}));
    return s;
  }
  /// Runs the server's handlers until `s` receives a datagram (bounded: 2 s).
  result<datagram_info> await(asio::ip::udp::socket& s, std::span<std::byte> buf) {
    result<datagram_info> got{std::make_error_code(std::errc::operation_would_block)};
    for (int i = 0; i < 2000; ++i) {
      io_.poll();
      got = receive_from(s, buf);
      if (got) return got;
      std::this_thread::sleep_for(1ms);
    }
    return got;
  }
  std::vector<std::byte> rrq(char const* name) {
    std::vector<std::byte> b(64);
    auto n = tftp::write_request(b, tftp::opcode::rrq, name, tftp::transfer_mode::octet, tftp::client_options{});
    b.resize(n.value_or(0));
    return b;
  }

  [[nodiscard]] static int live_before() { return std::get<0>(GetParam()); }
  [[nodiscard]] static bool single_port() { return std::get<1>(GetParam()); }

  asio::io_context io_;
  std::filesystem::path root_;
  std::string file_;
};

TEST_P(TftpServerLoopback, ForeignTidGetsError5AndTheTransferGoesOn) {
  tftp_server_options o;
  o.listen_address = core::ipv4_address{127, 0, 0, 1};
  o.port = 0;
  o.root = root_;
  o.single_port = single_port();
  tftp_server server{io_, o};
  ASSERT_FALSE(server.start());
  asio::ip::udp::endpoint srv{asio::ip::make_address_v4("127.0.0.1"), server.bound_port()};
  std::array<std::byte, 1024> buf{};

  // Other transfers, left waiting for their first ACK.
  std::vector<std::unique_ptr<asio::ip::udp::socket>> idle;
  for (int i = 0; i < live_before(); ++i) {
    idle.push_back(std::make_unique<asio::ip::udp::socket>(client()));
    ASSERT_FALSE(send_to(*idle.back(), rrq("big"), srv));
    ASSERT_TRUE(await(*idle.back(), buf)) << "idle transfer " << i;
  }
  ASSERT_EQ(server.active_transfers(), static_cast<std::size_t>(live_before()));

  auto c = client();
  ASSERT_FALSE(send_to(c, rrq("f"), srv));
  std::string got;
  asio::ip::udp::endpoint tid;
  for (std::uint16_t block = 1;; ++block) {
    auto d = await(c, buf);
    ASSERT_TRUE(d) << "block " << block;
    auto data = tftp::parse_data(std::span<const std::byte>{buf}.first(d->size));
    ASSERT_TRUE(data) << "block " << block;
    ASSERT_EQ(data->block, block);
    if (block == 1) tid = d->from;
    EXPECT_EQ(d->from, tid);
    if (single_port()) EXPECT_EQ(d->from, srv) << "single-port: every transfer answers from the listening port";
    else EXPECT_NE(d->from, srv) << "a transfer answers from a port of its own";
    got.append(reinterpret_cast<char const*>(data->payload.data()), data->payload.size());
    std::array<std::byte, 4> ack{};
    ASSERT_TRUE(tftp::write_ack(ack, block));
    if (block == 2) {  // a stranger talks to the transfer's port
      auto x = client();
      ASSERT_FALSE(send_to(x, ack, tid));
      auto e = await(x, buf);
      ASSERT_TRUE(e);
      auto err = tftp::parse_error(std::span<const std::byte>{buf}.first(e->size));
      ASSERT_TRUE(err);
      EXPECT_EQ(err->code, tftp::error_code_wire::unknown_tid);
      EXPECT_EQ(e->from, tid);
    }
    ASSERT_FALSE(send_to(c, ack, tid));
    if (data->payload.size() < 512) break;
  }
  EXPECT_EQ(got, file_);
  for (int i = 0; i < 200 && server.active_transfers() > static_cast<std::size_t>(live_before()); ++i) {
    io_.poll();
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(server.active_transfers(), static_cast<std::size_t>(live_before()));
  EXPECT_EQ(server.stats().wrong_tid, 1U);
  EXPECT_EQ(server.stats().completed, 1U);

  // Stopping aborts the rest, and nothing is left to keep io_context::run() busy.
  server.stop();
  io_.run_for(3s);
  EXPECT_TRUE(io_.stopped());
  EXPECT_EQ(server.active_transfers(), 0U);
}

INSTANTIATE_TEST_SUITE_P(LiveBefore, TftpServerLoopback,
                         ::testing::Combine(::testing::Values(0, 9), ::testing::Bool()), [](auto const& p) {
                           return std::string{std::get<0>(p.param) == 0 ? "Alone" : "UnderLoad"} +
                                  (std::get<1>(p.param) ? "SinglePort" : "");
                         });

/// Single-port mode keeps the listening socket while transfers are live after
/// stop_accepting() (a transfer port would have stayed open too), refuses new requests, and
/// closes it with the last transfer so that io_context::run() returns.
TEST(TftpServerSinglePort, StopAcceptingLetsLiveTransfersFinish) {
  auto root = std::filesystem::temp_directory_path() / ("pnb-tftp-single-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root);
  std::string content(3000, 'q');
  std::ofstream{root / "f", std::ios::binary} << content;
  asio::io_context io;
  tftp_server_options o;
  o.listen_address = core::ipv4_address{127, 0, 0, 1};
  o.port = 0;
  o.root = root;
  o.single_port = true;
  tftp_server server{io, o};
  ASSERT_FALSE(server.start());
  asio::ip::udp::endpoint srv{asio::ip::make_address_v4("127.0.0.1"), server.bound_port()};
  auto open = [&] {
    asio::ip::udp::socket s{io};
    EXPECT_FALSE(open_udp(s, {.address = core::ipv4_address{127, 0, 0, 1}}));
    return s;
  };
  auto await = [&](asio::ip::udp::socket& s, std::span<std::byte> buf) {
    result<datagram_info> got{std::make_error_code(std::errc::operation_would_block)};
    for (int i = 0; i < 2000 && !got; ++i) {
      io.poll();
      got = receive_from(s, buf);
      if (!got) std::this_thread::sleep_for(1ms);
    }
    return got;
  };
  std::array<std::byte, 1024> buf{};
  std::vector<std::byte> req(64);
  req.resize(tftp::write_request(req, tftp::opcode::rrq, "f", tftp::transfer_mode::octet, tftp::client_options{}).value_or(0));
  auto c = open();
  ASSERT_FALSE(send_to(c, req, srv));
  auto d = await(c, buf);
  ASSERT_TRUE(d);
  server.stop_accepting();
  // A new client is not served now.
  auto late = open();
  ASSERT_FALSE(send_to(late, req, srv));
  std::string got;
  for (std::uint16_t block = 1;; ++block) {
    auto data = tftp::parse_data(std::span<const std::byte>{buf}.first(d->size));
    ASSERT_TRUE(data) << block;
    ASSERT_EQ(data->block, block);
    got.append(reinterpret_cast<char const*>(data->payload.data()), data->payload.size());
    std::array<std::byte, 4> ack{};
    ASSERT_TRUE(tftp::write_ack(ack, block));
    ASSERT_FALSE(send_to(c, ack, srv));
    if (data->payload.size() < 512) break;
    d = await(c, buf);
    ASSERT_TRUE(d) << "block " << block + 1 << " after stop_accepting()";
  }
  EXPECT_EQ(got, content);
  io.run_for(3s);
  EXPECT_TRUE(io.stopped()) << "the socket closes with the last transfer";
  EXPECT_EQ(server.stats().completed, 1U);
  EXPECT_EQ(server.stats().started, 1U);
  EXPECT_FALSE(receive_from(late, buf)) << "no answer to a request after stop_accepting()";
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace pinetboot::net
