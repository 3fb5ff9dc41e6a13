/// @file
/// @brief Asio adapter for the DHCP policy engine: sockets on ports 67 and 4011, batches of
/// datagrams with one lease commit (group commit) before their replies leave, reply delays.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include "pinetboot/core/time.hpp"
#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/net/udp.hpp"

namespace pinetboot::net {

struct dhcp_server_options {
  std::string interface;                 ///< bind to this device (SO_BINDTODEVICE); empty = all
  core::ipv4_address listen_address{};   ///< 0.0.0.0 receives broadcasts; tests may use 127.0.0.1
  std::uint16_t port = 67;
  std::uint16_t pxe_port = 4011;         ///< 0 = no boot-server socket
  std::uint16_t client_port = 68;        ///< where replies to clients go (tests change it)
  std::uint16_t relay_port = 67;         ///< where replies to relays go
  std::size_t batch = 256;               ///< replies held for one lease commit, at most
  /// Group commit under load: after a commit, replies that need the next one (ACKs, RELEASE,
  /// DECLINE) wait up to this long for more to share its fsync, unless the batch fills. An
  /// exchange after a quiet spell commits at once, so this only adds latency under load,
  /// where it caps the fsyncs at one per window. 0 = commit after every receive burst.
  std::chrono::microseconds commit_window{1000};
};

/// One line of the exchange log.
struct dhcp_log_event {
  dhcp::reply const* reply = nullptr;    ///< what the engine decided (valid during the call)
  asio::ip::udp::endpoint from;
  std::uint16_t local_port = 67;
  std::error_code error;                 ///< commit or send failure (the reply was not sent)
};

struct dhcp_server_stats {
  std::uint64_t received = 0, replied = 0, ignored = 0, commits = 0, commit_failures = 0, send_failures = 0;
  std::uint64_t largest_commit = 0;  ///< most replies that waited for one commit
  std::array<std::uint64_t, 19> by_request_type{};  ///< index: DHCP message type (1..18)
};

class dhcp_server {
 public:
  using log_function = std::function<void(dhcp_log_event const&)>;

  dhcp_server(asio::io_context& io, dhcp::server_engine& engine, dhcp::lease_store& leases,
              dhcp_server_options opts, log_function log = {});
  dhcp_server(dhcp_server const&) = delete;
  dhcp_server& operator=(dhcp_server const&) = delete;
  ~dhcp_server();

  /// Binds the sockets and starts receiving. Errors: bind/setsockopt failures.
  [[nodiscard]] std::error_code start();
  /// Stops receiving; pending delayed replies are dropped. Leases are committed.
  void stop();

  [[nodiscard]] dhcp_server_stats const& stats() const noexcept { return stats_; }
  /// Local port actually bound (useful with port 0 in tests).
  [[nodiscard]] std::uint16_t bound_port() const;

 private:
  struct listener;
  struct pending;
  void wait(listener& l);
  void drain(listener& l);
  /// Commits the leases and sends (or, on failure, withholds) every reply waiting for it.
  void commit_and_flush();
  void dispatch(pending& p);
  void send(pending const& p);

  asio::io_context& io_;
  dhcp::server_engine& engine_;
  dhcp::lease_store& leases_;
  dhcp_server_options opts_;
  log_function log_;
  std::vector<std::unique_ptr<listener>> listeners_;
  std::vector<pending> batch_;  ///< [0, waiting_) hold replies waiting for the next commit
  std::size_t waiting_ = 0;
  asio::steady_timer commit_timer_;
  bool commit_armed_ = false;
  core::time_point last_commit_{};
  std::vector<std::byte> rx_;
  dhcp_server_stats stats_;
  bool stopped_ = false;
};

/// Unix seconds now (the engine's clock).
[[nodiscard]] std::int64_t unix_now() noexcept;

}  // namespace pinetboot::net
