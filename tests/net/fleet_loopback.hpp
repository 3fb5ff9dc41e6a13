// Test helper shared by fleet_test.cpp and fleet_alloc_test.cpp: a DHCP server engine behind a
// unicast responder (loopback cannot carry the broadcast replies a real server sends) and the
// real TFTP server, on 127.0.0.1, in a thread of their own; plus a file writer.
#pragma once

#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>

#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/sim/fleet.hpp"
#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/net/udp.hpp"

namespace pinetboot::net::test {

struct loopback_servers {
  std::filesystem::path root;
  asio::io_context io;
  dhcp::lease_store store{std::move(*dhcp::lease_store::open({}))};
  std::optional<dhcp::server_engine> engine;
  asio::ip::udp::socket dhcp_socket{io};
  asio::ip::udp::endpoint from;
  std::array<std::byte, 1500> rx{}, tx{};
  std::optional<tftp_server> tftp;
  std::thread thread;
  std::atomic<std::uint64_t> dhcp_requests{0};

  explicit loopback_servers(std::filesystem::path r) : root{std::move(r)} {
    dhcp::engine_config cfg;
    cfg.mode = dhcp::server_mode::full;
    dhcp::subnet_config s;
    s.network = core::ipv4_address{127, 0, 0, 0};
    s.prefix_length = 8;
    s.range_start = core::ipv4_address{127, 0, 1, 1};
    s.range_end = core::ipv4_address{127, 0, 1, 200};
    cfg.subnets.push_back(s);
    engine.emplace(cfg, store);
    if (open_udp(dhcp_socket, {.address = core::ipv4_address{127, 0, 0, 1}})) std::abort();
    tftp_server_options o;
    o.listen_address = core::ipv4_address{127, 0, 0, 1};
    o.port = 0;
    o.root = root;
    tftp.emplace(io, o);
    if (tftp->start()) std::abort();
    receive();
    thread = std::thread{[this] { io.run(); }};
  }
  ~loopback_servers() {
    asio::post(io, [this] {
      tftp->stop();
      dhcp_socket.close();
      io.stop();
    });
    thread.join();
  }
  std::uint16_t dhcp_port() const { return dhcp_socket.local_endpoint().port(); }
  void receive() {
    dhcp_socket.async_receive_from(asio::buffer(rx), from, [this](std::error_code ec, std::size_t n) {
      if (ec) return;
      ++dhcp_requests;
      dhcp::packet_context ctx{.local_address = core::ipv4_address{127, 0, 0, 1},
                               .source = core::ipv4_address{127, 0, 0, 1},
                               .now = 1'700'000'000};
      auto r = engine->handle(std::span{rx}.first(n), ctx, tx);
      if (r.size > 0) {
        (void)store.commit();
        std::error_code ignored;
        dhcp_socket.send_to(asio::buffer(tx.data(), r.size), from, 0, ignored);
      }
      receive();
    });
  }
};

inline void write_file(std::filesystem::path const& p, std::size_t size) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f{p, std::ios::binary};
  for (std::size_t i = 0; i < size; ++i) f.put(static_cast<char>(i * 7 + 3));
}

/// The fleet_config that points a fleet at `s`.
[[nodiscard]] inline fleet_config loopback_config(loopback_servers const& s) {
  fleet_config c;
  c.local_address = core::ipv4_address{127, 0, 0, 1};
  c.dhcp_client_port = 0;
  c.dhcp_destination = core::ipv4_address{127, 0, 0, 1};
  c.dhcp_server_port = s.dhcp_port();
  c.tftp_port = s.tftp->bound_port();
  c.tftp_rto = std::chrono::milliseconds{500};
  c.timeout = std::chrono::seconds{30};
  return c;
}

}  // namespace pinetboot::net::test
