/// @file
/// @brief A fleet of simulated Raspberry Pi boards network-booting at once over real sockets:
/// the I/O behind `pinetboot-simulate` (and reusable by boot-storm benchmarks).
///
/// Each board runs `dhcp::pi_client` (its generation's DHCP behaviour) over one shared UDP socket
/// bound to the client port (68) on the interface, replies demultiplexed by chaddr (every Pi 3
/// uses the same xid), then walks `tftp::pi_boot_sequence` with `tftp::client_reader`, one new UDP
/// socket (new source port) per RRQ, bound to the interface's address.
///
/// Documented deviation: all simulated boards share the interface's MAC address, so a server
/// unicasting to yiaddr/chaddr would not reach them. By default the simulator sets the BOOTP
/// broadcast flag in its DHCP requests (fleet_config::broadcast_flag) so replies are broadcast.
///
/// One thread, one io_context, no thread per board; fixed buffers per board, no allocation per
/// datagram on the simulator side.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/sim/pi_client.hpp"
#include "pinetboot/dhcp/pxe.hpp"
#include "pinetboot/sim/pi_boot_sequence.hpp"

namespace pinetboot::net {

/// Which generations the fleet contains.
enum class fleet_mix : std::uint8_t {
  pi3,
  pi4,
  pi5,
  mix,  ///< round robin pi4, pi3, pi5
};

/// Parses "pi3", "pi4", "pi5" or "mix". Errors: errc::invalid_syntax (core).
[[nodiscard]] result<fleet_mix> parse_fleet_mix(std::string_view s) noexcept;

struct fleet_config {
  std::string interface;  ///< SO_BINDTODEVICE for every socket; also gives the local address
  std::size_t count = 1;
  fleet_mix generation = fleet_mix::pi4;
  /// Base MAC; board i gets base + i (low 24 bits). nullopt = per generation the Raspberry Pi
  /// OUI (b8:27:eb Pi 3, dc:a6:32 Pi 4, 2c:cf:67 Pi 5) with low bits 0 + i.
  std::optional<core::mac_address> mac_base;
  std::uint32_t serial_base = 0x10000000;  ///< board i has serial serial_base + i
  /// TFTP server for every board; nullopt = what DHCP said (pi_client_outcome::tftp_server).
  std::optional<core::ipv4_address> tftp_server;
  std::size_t concurrency = 0;                ///< boards booting at once; 0 = all
  std::chrono::milliseconds timeout{120000};  ///< whole run; unfinished boards fail
  bool broadcast_flag = true;                 ///< set the BOOTP broadcast flag (see the file comment)
  /// Local address for the TFTP sockets; nullopt = the interface's first IPv4 address.
  std::optional<core::ipv4_address> local_address;
  /// Each board sends its TFTP requests from the address DHCP gave it (falling back to the
  /// local address before it has one), as a real board does, so a server can tie each board's
  /// transfers to its MAC. The addresses must be usable locally: on Linux, e.g. a local route
  /// for the DHCP pool (`ip route add local 10.77.0.128/25 dev lo`, tests/integration).
  bool tftp_from_lease = false;
  std::uint16_t dhcp_client_port = 68;
  std::uint16_t dhcp_server_port = 67;
  core::ipv4_address dhcp_destination{0xffffffffU};
  std::uint16_t tftp_port = 69;
  std::uint64_t seed = 1;  ///< Pi 4/5 xids
  /// DHCP retry/give-up; 0 = the generation's default (pi_client_config).
  std::chrono::milliseconds dhcp_retry{0}, dhcp_give_up{0};
  /// RRQ/ACK retransmission timeout (spec 4.1: a Pi 4 re-sends an unanswered RRQ every 2 s).
  std::chrono::milliseconds tftp_rto{2000};
  unsigned tftp_max_retransmits = 5;
  /// Slow, jittery clients: each received TFTP datagram is handled (and so ACKed) after a
  /// delay drawn uniformly from [ack_delay_min, ack_delay_max] (seeded by `seed`); datagrams
  /// arriving meanwhile wait in the socket. Both 0 = at once.
  std::chrono::microseconds ack_delay_min{0}, ack_delay_max{0};
};

/// One board of the fleet, before it runs (pure: from fleet_config and the index).
struct board_plan {
  std::size_t index = 0;
  dhcp::pi_generation dhcp_generation = dhcp::pi_generation::pi4;
  tftp::pi_board board = tftp::pi_board::pi4;
  core::mac_address mac;
  std::uint32_t serial = 0;
};

/// The boards `config` describes, in start order. Pi 3 boards are 3Bs: the ROM's DHCP
/// (pi3_rom), then, after bootcode.bin and bootsig.bin, bootcode.bin's own (pi3_bootcode).
/// Allocates the vector (setup, not the packet path).
[[nodiscard]] std::vector<board_plan> plan_fleet(fleet_config const& config);

/// One requested file.
struct file_record {
  std::array<char, tftp::pi_file_request::max_path> path_buffer{};
  std::size_t path_size = 0;
  tftp::pi_step_kind kind = tftp::pi_step_kind::fetch;
  tftp::pi_file_role role = tftp::pi_file_role::required;
  tftp::pi_file_result result = tftp::pi_file_result::failed;
  std::uint64_t bytes = 0;        ///< payload received
  std::uint64_t tsize = 0;        ///< from the OACK (0 if none)
  std::uint16_t blksize = 512;    ///< negotiated
  double ms = 0;                  ///< RRQ to completion
  std::uint64_t timeouts = 0;     ///< client retransmission timer expiries
  std::uint64_t retransmits = 0;  ///< RRQs/ACKs sent again
  std::uint64_t blocks = 0;       ///< DATA blocks accepted
  std::uint64_t duplicate_blocks = 0;  ///< DATA blocks received again (the server resent them)
  std::error_code error;          ///< why it ended, when not received/found

  [[nodiscard]] std::string_view path() const noexcept { return {path_buffer.data(), path_size}; }
};

/// Everything one board did.
struct board_result {
  board_plan plan;
  dhcp::pi_client_state dhcp_state = dhcp::pi_client_state::idle;
  core::ipv4_address address, tftp_server;
  std::optional<double> offer_ms, ack_ms;  ///< since the first DISCOVER (Pi 3: bound on the OFFER)
  /// Pi 3: 2 once bootcode.bin ran its own DHCP (spec 3.1); stage2_ack_ms: when it was bound.
  int dhcp_stages = 1;
  std::optional<double> stage2_ack_ms;
  std::uint32_t discovers = 0, requests = 0;  ///< all stages
  std::vector<file_record> files;
  bool booted = false;
  std::optional<double> boot_ms;  ///< first DISCOVER to the kernel's last block
  std::string error;              ///< why it did not boot (empty when booted)
};

/// Fleet-wide numbers.
struct fleet_summary {
  std::size_t boards = 0, booted = 0, failed = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;  ///< time to boot over booted boards
  std::uint64_t dhcp_retransmits = 0;         ///< DISCOVERs/REQUESTs beyond the first
  std::uint64_t tftp_timeouts = 0, tftp_retransmits = 0;
  std::uint64_t tftp_blocks = 0, tftp_duplicate_blocks = 0;  ///< DATA accepted / received again
  std::uint64_t files_received = 0, probes = 0, not_found = 0, files_failed = 0;
  std::uint64_t bytes = 0;
  double wall_ms = 0;
};

struct fleet_report {
  std::vector<board_result> boards;
  fleet_summary summary;
};

/// Nearest-rank percentile (p in [0, 100]) of `sorted` (ascending); 0 for an empty input.
[[nodiscard]] double percentile(std::span<const double> sorted, double p) noexcept;

/// Fills report.summary from report.boards (wall_ms is left as is).
void summarize(fleet_report& report);

/// The report as one JSON object: {"summary": {...}, "boards": [{..., "files": [...]}]}.
[[nodiscard]] std::string to_json(fleet_report const& report);
/// A text summary (always) and, when `verbose`, one line per board first.
[[nodiscard]] std::string to_text(fleet_report const& report, bool verbose);

/// Boots the fleet: blocks until every board booted or failed, or config.timeout passed.
/// Errors (setup only): the interface has no address, the DHCP socket cannot be bound (port 68
/// needs root; address in use), no such device.
[[nodiscard]] result<fleet_report> run_fleet(fleet_config const& config);

}  // namespace pinetboot::net
