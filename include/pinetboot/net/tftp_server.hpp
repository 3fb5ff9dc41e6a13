/// @file
/// @brief Asio adapter for the TFTP engines: a listening socket on port 69, one socket per
/// transfer (from a configurable port range; or, in single-port mode, every transfer on the
/// listening socket with batched I/O), many transfers on one io_context, caps on
/// transfers in total and per client, a request-rate limit and an idle timeout, so an RRQ
/// flood cannot exhaust memory or file descriptors.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <netinet/in.h>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/core/timer_wheel.hpp"
#include "pinetboot/tftp/file_source.hpp"
#include "pinetboot/tftp/path.hpp"
#include "pinetboot/tftp/roots.hpp"
#include "pinetboot/tftp/session.hpp"

namespace pinetboot::net {

namespace detail {
template <class Transfer>
class tftp_admission;  // src/net/tftp_admission.hpp
class tftp_transport;  // src/net/tftp_transport.hpp
class tftp_socket_transport;
class tftp_single_port_transport;
}  // namespace detail

struct tftp_server_options {
  core::ipv4_address listen_address{};  ///< 0.0.0.0 = all
  std::uint16_t port = 69;
  std::string interface;          ///< SO_BINDTODEVICE when not empty
  std::filesystem::path root;     ///< served tree (read)
  tftp::roots_policy roots{};     ///< per-client roots (by MAC, IP)
  tftp::path_options paths{};     ///< name resolution (prefix stripping, backslashes)
  tftp::session_limits limits{};  ///< options, RTO, retries, idle timeout, window adaptation
  std::uint16_t port_first = 0;   ///< transfer ports [first, last]; 0 = ephemeral
  std::uint16_t port_last = 0;
  std::size_t max_transfers = 4096;  ///< simultaneous transfers (all clients)
  std::size_t max_per_client = 64;   ///< simultaneous transfers per client address
  double requests_per_second = 0;    ///< token-bucket rate limit on requests (0 = off)
  double request_burst = 200;        ///< bucket size
  bool allow_write = false;          ///< accept WRQ (off by default)
  std::filesystem::path write_root;  ///< writable area (default: root)
  std::uint64_t max_write_size = 64ULL << 20;
  bool write_overwrite = false;  ///< WRQ may replace an existing file
  int socket_buffer = 0;         ///< SO_RCVBUF/SO_SNDBUF per transfer socket (0 = default)
  /// Every transfer answers from the listening port instead of a port of its own (dnsmasq's
  /// tftp-single-port): one port to open in a firewall, no descriptor per transfer, and the
  /// server receives and sends the datagrams of all its transfers in batches (recvmmsg /
  /// sendmmsg, up to 64 per system call) instead of two system calls per block. Transfers
  /// are told apart by the client's address and port. Clients see the server's TID stay 69,
  /// which RFC 1350 does not ask for but every client tested accepts (tests/integration).
  /// Set at start(); reconfigure() keeps it.
  bool single_port = false;
};

/// One finished transfer, for the log.
struct tftp_transfer_record {
  asio::ip::udp::endpoint client;
  std::string file;  ///< as requested
  bool write = false;
  std::uint64_t bytes = 0;
  std::uint64_t size = 0;  ///< file size (RRQ)
  core::duration elapsed{};
  tftp::session_stats stats{};
  std::uint16_t blksize = 512, windowsize = 1;
  std::error_code outcome;  ///< empty = complete
  bool normal = true;       ///< complete, or ended by the client ("Early terminate", tsize probe)
  bool not_found = false;   ///< the file does not exist (a normal probe for Pi bootloaders)
  std::string root;         ///< per-client directory used ("" = shared root)
};

struct tftp_server_stats {
  std::uint64_t requests = 0, started = 0, completed = 0, aborted_by_client = 0, failed = 0, not_found = 0;
  std::uint64_t refused_busy = 0, refused_rate = 0, wrong_tid = 0, bytes = 0, retransmits = 0;
  std::uint64_t duplicate_requests = 0;  ///< RRQ/WRQ repeated by a client whose transfer is live
};

class tftp_server {
 public:
  using log_function = std::function<void(tftp_transfer_record const&)>;

  tftp_server(asio::io_context& io, tftp_server_options opts, log_function log = {});
  tftp_server(tftp_server const&) = delete;
  tftp_server& operator=(tftp_server const&) = delete;
  ~tftp_server();

  /// Opens the root and binds the listening socket. Errors: open/bind failures.
  [[nodiscard]] std::error_code start();
  /// Stops accepting requests and aborts live transfers (each gets an ERROR).
  void stop();
  /// Stops accepting requests; live transfers run to their end.
  void stop_accepting();

  [[nodiscard]] std::uint16_t bound_port() const;
  [[nodiscard]] std::size_t active_transfers() const noexcept { return transfers_.size(); }
  [[nodiscard]] tftp_server_stats const& stats() const noexcept { return stats_; }

  /// Applies new options to transfers started from now on (SIGHUP reload): root, per-client
  /// roots, limits, caps, write policy. Live transfers keep what they started with. The
  /// listening address, port and interface are not changed (that needs a restart).
  /// Errors: the new root or write root cannot be opened (the old options stay in force).
  [[nodiscard]] std::error_code reconfigure(tftp_server_options opts);

  /// Replaces the MAC lookup used for per-MAC roots (e.g. the DHCP side's leases).
  void set_mac_lookup(tftp::mac_lookup const* lookup) noexcept { opts_.roots.lookup = lookup; }

  class transfer;  // one live RRQ/WRQ (src/net/tftp_transfer.hpp)

 private:
  friend class transfer;
  // The transports (src/net/tftp_transport_*.cpp) run the listening socket's receive loop.
  friend class detail::tftp_socket_transport;
  friend class detail::tftp_single_port_transport;
  void on_request(std::span<const std::byte> data, asio::ip::udp::endpoint const& from);
  void finish(transfer* t, tftp_transfer_record const& rec);
  void refuse(asio::ip::udp::endpoint const& to, std::error_code why, std::string_view message = {});
  /// Sets transfer `t`'s one deadline (its engine's next_deadline()) to `at`, or none.
  void schedule(transfer& t, std::optional<core::time_point> at) noexcept;
  void arm_wakeup(core::time_point at);
  void on_wakeup();

  asio::io_context& io_;
  tftp_server_options opts_;
  log_function log_;
  asio::ip::udp::socket socket_;  ///< the listening socket (port 69)
  /// Socket per transfer or single port, chosen at start() (src/net/tftp_transport.hpp).
  std::unique_ptr<detail::tftp_transport> transport_;
  tftp::unique_fd root_fd_, write_fd_;
  tftp::file_cache cache_;
  /// Every live transfer's next deadline (retransmission, pacing, idle), behind one Asio
  /// timer (wakeup_, set to the earliest): moving a deadline on each ACK costs a few pointer
  /// writes and no system call, and one wakeup serves every transfer due by then. 1 ms slots,
  /// one turn of 4.1 s; later deadlines (idle timeouts) wait their turn in a slot.
  core::timer_wheel timers_{std::chrono::milliseconds{1}, 4096};
  asio::steady_timer wakeup_;
  std::optional<core::time_point> wakeup_at_;  ///< when wakeup_ fires; none = not set
  bool expiring_ = false;                      ///< on_wakeup() is firing transfers' timers
  std::map<transfer*, std::unique_ptr<transfer>> transfers_;
  /// Rate limit, caps, live transfers by client address and port (src/net/tftp_admission.hpp).
  std::unique_ptr<detail::tftp_admission<transfer>> admission_;
  /// What each client's latest read transfer measured (tftp::path_memory), for its next one.
  /// Bounded: cleared when it reaches kMaxLearned clients; forgotten after kLearnedFor.
  struct learned_path {
    tftp::path_memory path{};
    core::time_point at{};
  };
  std::unordered_map<std::uint32_t, learned_path> learned_;
  static constexpr std::size_t kMaxLearned = 4096;
  static constexpr std::chrono::seconds kLearnedFor{120};
  /// The limits for a new transfer to `client`: the configured ones, with what its latest
  /// transfer (if recent) measured.
  [[nodiscard]] tftp::session_limits limits_for(std::uint32_t client) const;
  tftp_server_stats stats_;
  bool accepting_ = false;
};

}  // namespace pinetboot::net
