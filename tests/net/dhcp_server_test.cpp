// The DHCP server adapter on loopback: replies come back through a relay address (loopback
// carries no broadcasts), ACKs leave only after their leases are durable, and a burst of
// REQUESTs shares few commits (group commit with a commit window).
#include "pinetboot/net/dhcp_server.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <asio/post.hpp>

#include "pinetboot/dhcp/builder.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/options.hpp"

namespace pinetboot::net {
namespace {

namespace fs = std::filesystem;
using core::ipv4_address;
constexpr ipv4_address kLoopback{127, 0, 0, 1};

std::vector<std::byte> request(dhcp::message_type type, std::uint8_t client, std::optional<ipv4_address> ip = {}) {
  std::vector<std::byte> buf(600);
  dhcp::message_builder b{buf};
  b.op(dhcp::bootp_op::request).xid(0x5000 + client).mac(core::mac_address{{2, 0, 0, 0, 1, client}}).giaddr(kLoopback);
  b.add_message_type(type);
  if (ip) {
    b.add_ip(dhcp::option::requested_address, *ip);
    b.add_ip(dhcp::option::server_id, kLoopback);
  }
  auto n = b.finish();
  EXPECT_TRUE(n);
  buf.resize(n ? *n : 0);
  return buf;
}

class DhcpServerLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pnb-dhcpsrv-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (open_udp(client_, {.address = kLoopback})) FAIL() << "client socket";
  }
  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] {
        server_->stop();
        io_.stop();
      });
      thread_.join();
    }
    fs::remove_all(dir_);
  }

  void start(std::chrono::microseconds window) {
    auto s = dhcp::lease_store::open({.path = dir_ / "leases", .sync = true});
    ASSERT_TRUE(s) << s.error().message();
    store_.emplace(std::move(*s));
    dhcp::engine_config cfg;
    cfg.mode = dhcp::server_mode::full;
    cfg.server_address = kLoopback;
    dhcp::subnet_config net;
    net.network = ipv4_address{127, 0, 0, 0};
    net.prefix_length = 8;
    net.range_start = ipv4_address{127, 0, 3, 1};
    net.range_end = ipv4_address{127, 0, 3, 250};
    cfg.subnets.push_back(net);
    engine_.emplace(cfg, *store_);
    dhcp_server_options o{.listen_address = kLoopback, .port = 0, .pxe_port = 0,
                          .relay_port = client_.local_endpoint().port(), .commit_window = window};
    server_.emplace(io_, *engine_, *store_, o);
    ASSERT_FALSE(server_->start());
    to_ = asio::ip::udp::endpoint{asio::ip::address_v4::loopback(), server_->bound_port()};
    thread_ = std::thread{[this] { io_.run(); }};
  }

  void send(std::vector<std::byte> const& m) { client_.send_to(asio::buffer(m), to_); }

  /// Waits (bounded) for one reply; its yiaddr and message type.
  std::optional<std::pair<ipv4_address, dhcp::message_type>> receive() {
    client_.non_blocking(false);
    timeval tv{5, 0};
    ::setsockopt(client_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::array<std::byte, 1500> buf{};
    std::error_code ec;
    auto n = client_.receive(asio::buffer(buf), 0, ec);
    if (ec) return std::nullopt;
    auto m = dhcp::message_view::parse(std::span{buf}.first(n));
    if (!m) return std::nullopt;
    auto t = dhcp::opt::message_type(*m);
    if (!t) return std::nullopt;
    return std::pair{m->yiaddr(), *t};
  }

  fs::path dir_;
  asio::io_context io_;
  asio::ip::udp::socket client_{io_};
  asio::ip::udp::endpoint to_;
  std::optional<dhcp::lease_store> store_;
  std::optional<dhcp::server_engine> engine_;
  std::optional<dhcp_server> server_;
  std::thread thread_;
};

TEST_F(DhcpServerLoopback, BurstOfRequestsSharesCommitsAndEveryAckIsDurable) {
  start(std::chrono::milliseconds{200});
  constexpr std::uint8_t kClients = 40;
  std::vector<ipv4_address> offered(kClients);
  for (std::uint8_t c = 0; c < kClients; ++c) {
    send(request(dhcp::message_type::discover, c));
    auto r = receive();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->second, dhcp::message_type::offer);
    offered[c] = r->first;
  }
  // All REQUESTs at once: the first commits at once, the rest wait for the window.
  for (std::uint8_t c = 0; c < kClients; ++c) send(request(dhcp::message_type::request, c, offered[c]));
  std::set<std::uint32_t> acked;
  for (std::uint8_t c = 0; c < kClients; ++c) {
    auto r = receive();
    ASSERT_TRUE(r) << "ACK " << int{c} << " missing";
    ASSERT_EQ(r->second, dhcp::message_type::ack);
    acked.insert(r->first.to_uint());
    // Durable before it left: a fresh reader of the journal already sees the bound lease.
    fs::copy_file(dir_ / "leases", dir_ / "leases.copy", fs::copy_options::overwrite_existing);
    auto replay = dhcp::lease_store::open({.path = dir_ / "leases.copy"});
    ASSERT_TRUE(replay);
    auto const* l = replay->find_by_ip(r->first);
    ASSERT_NE(l, nullptr) << r->first.to_string();
    EXPECT_EQ(l->state, dhcp::lease_state::bound);
  }
  EXPECT_EQ(acked.size(), kClients);
  std::uint64_t commits = 0, largest = 0;
  asio::post(io_, [&] {
    commits = server_->stats().commits;
    largest = server_->stats().largest_commit;
  });
  for (int i = 0; i < 100 && commits == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds{10});
  // 40 ACKs: with a 200 ms window they share a handful of commits, not one each.
  EXPECT_LE(commits, 10U);
  EXPECT_GE(largest, 4U);
}

TEST_F(DhcpServerLoopback, AfterAQuietSpellAnAckCommitsAtOnceThenTheWindowHolds) {
  start(std::chrono::seconds{2});
  std::vector<ipv4_address> offered;
  for (std::uint8_t c = 1; c <= 2; ++c) {
    send(request(dhcp::message_type::discover, c));
    auto offer = receive();  // OFFERs never wait for a commit
    ASSERT_TRUE(offer);
    ASSERT_EQ(offer->second, dhcp::message_type::offer);
    offered.push_back(offer->first);
  }
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  send(request(dhcp::message_type::request, 1, offered[0]));
  auto first = receive();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->second, dhcp::message_type::ack);
  EXPECT_LT(clock::now() - t0, std::chrono::seconds{1});  // not held for the 2 s window
  auto t1 = clock::now();
  send(request(dhcp::message_type::request, 2, offered[1]));
  auto second = receive();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->second, dhcp::message_type::ack);
  EXPECT_GE(clock::now() - t1, std::chrono::milliseconds{1500});  // waited for the window
}

}  // namespace
}  // namespace pinetboot::net
