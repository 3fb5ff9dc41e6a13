// pinetboot-server's fleet view: what the server sees (DHCP passes, TFTP files) turned into
// board_status events, the registry and boot-tree markers read for identities and
// generations, and the documents served on the HTTP listener (status.md): /status (JSON),
// / (the live page), the per-board metrics.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/layout/registry.hpp"
#include "pinetboot/net/board_status.hpp"
#include "pinetboot/net/dhcp_server.hpp"
#include "pinetboot/net/tftp_server.hpp"

namespace pinetboot::server {

class status_feed {
 public:
  explicit status_feed(net::board_status_config cfg = {}) : status_{std::move(cfg)} {}

  /// (Re)reads the registry's boards (start, SIGHUP). `tftp_root` holds their boot trees
  /// (<root>/<folder>/.pinetboot-board). A registry that cannot be read leaves the set as it was.
  void load(std::filesystem::path const& registry, std::filesystem::path const& tftp_root,
            std::vector<std::string> kernel_files);

  void on_dhcp(net::dhcp_log_event const& ev);
  /// A finished TFTP transfer of the board `mac` (the server's IP -> MAC lookup).
  void on_tftp(net::tftp_transfer_record const& r, std::optional<core::mac_address> mac);
  void on_timer() { status_.on_timer(core::steady_clock::now()); }
  void set_stuck_after(std::chrono::milliseconds d) noexcept { status_.set_stuck_after(d); }

  [[nodiscard]] net::board_status const& status() const noexcept { return status_; }
  /// The /status document, now.
  [[nodiscard]] std::string render_json() const;
  /// Prometheus text: boards by state; per provisioned board its last boot's time and duration.
  [[nodiscard]] std::string render_metrics() const;

 private:
  void read_marker(core::mac_address mac);

  net::board_status status_;
  std::filesystem::path tftp_root_;
  std::vector<layout::client_record> records_;  ///< the registry, as last read
};

/// The live status page (HTML, CSS and script inline: no assets from anywhere else).
[[nodiscard]] std::string_view status_page_html() noexcept;

}  // namespace pinetboot::server
