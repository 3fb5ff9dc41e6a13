// pinetboot-server configuration: one TOML file (see pinetboot.toml beside this file).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/net/dhcp_server.hpp"
#include "pinetboot/net/tftp_server.hpp"

namespace pinetboot::server {

/// A configuration problem, with the line it was found on (0 = not tied to a line).
class config_error : public std::runtime_error {
 public:
  config_error(std::string const& what, int line) : std::runtime_error{what}, line_{line} {}
  [[nodiscard]] int line() const noexcept { return line_; }

 private:
  int line_;
};

enum class dhcp_mode { off, proxy, full };

struct server_config {
  // [server]
  std::string interface;             ///< all sockets bound to it when set
  core::ipv4_address address;        ///< our address (option 54, TFTP); default: the interface's
  std::string user = "nobody";       ///< privileges dropped to it after binding (when root)
  bool json_logs = false;
  std::string metrics_listen;        ///< "ADDR:PORT" for Prometheus; empty = off
  std::chrono::seconds shutdown_grace{10};
  /// The per-board view: a board without progress this long in DHCP or firmware is `stuck`;
  /// boards not in the registry kept at most (the oldest evicted first).
  std::chrono::seconds stuck_after{60};
  std::size_t unknown_boards = 256;
  std::vector<std::string> boot_complete_files{"kernel8.img", "kernel7l.img", "kernel7.img", "kernel.img",
                                               "kernel_2712.img", "vmlinuz", "linux"};
  // [dhcp]
  dhcp_mode dhcp = dhcp_mode::proxy;
  dhcp::engine_config engine;
  net::dhcp_server_options dhcp_net;
  std::filesystem::path lease_file;
  // [tftp]
  bool tftp_enabled = true;
  net::tftp_server_options tftp;
  // [provision]
  std::filesystem::path registry;    ///< clients added by pinetboot-provision (read on start and reload)
  std::size_t provisioned_clients = 0;
  /// Problems that do not stop the configuration from loading but likely stop it from working
  /// here (a run user or TFTP root that does not exist on this machine), with their lines.
  struct warning {
    int line = 0;
    std::string text;
  };
  std::vector<warning> warnings;
};

/// Reads and validates a configuration file. Throws config_error (with a line number where
/// possible) on syntax errors, unknown keys, wrong types and invalid values.
server_config load_config(std::filesystem::path const& file);

/// A human summary of what the configuration will do (for --check-config).
std::string describe(server_config const& c);

}  // namespace pinetboot::server
