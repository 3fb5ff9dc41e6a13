/// @file
/// @brief The fleet's per-board boot records: a sans-I/O engine fed with what the server sees
/// (each DHCP pass, each TFTP file and its outcome, with a timestamp) that derives, per board,
/// where its boot is (dhcp, firmware, kernel, up, stuck, failed), why it failed, how long it
/// took and which image generation it booted.
///
/// No clock, no sockets, no files: the caller passes `now` with every event and calls
/// on_timer() to let "no progress for a while" become `stuck`. Bounded: every provisioned
/// board (set_provisioned()) plus at most `max_unknown` others; when an unknown board arrives
/// with the table full, the unknown board seen longest ago is evicted, never a provisioned one.
/// Storage is reserved by set_provisioned() and text fields are fixed-size, so events do not
/// allocate. A record costs sizeof(board_record) (< 1 KiB, checked at compile time).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/time.hpp"

namespace pinetboot::net {

/// Text of at most N-1 bytes held in place (longer input is cut); no allocation.
template <std::size_t N>
class bounded_string {
 public:
  static_assert(N > 1 && N <= 256);
  constexpr bounded_string() noexcept = default;
  constexpr bounded_string(std::string_view s) noexcept { assign(s); }  // NOLINT: implicit on purpose
  constexpr void assign(std::string_view s) noexcept {
    size_ = static_cast<std::uint8_t>(s.size() < N - 1 ? s.size() : N - 1);
    for (std::size_t i = 0; i < size_; ++i) data_[i] = s[i];
  }
  constexpr bounded_string& operator=(std::string_view s) noexcept {
    assign(s);
    return *this;
  }
  [[nodiscard]] constexpr std::string_view view() const noexcept { return {data_.data(), size_}; }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
  static constexpr std::size_t capacity = N - 1;

 private:
  std::array<char, N - 1> data_{};
  std::uint8_t size_ = 0;
};

/// Where a board's boot is. Stable names (to_string) are part of the /status schema.
enum class board_state : std::uint8_t {
  dhcp,      ///< its boot ROM / EEPROM asked for an address, no boot file served yet
  firmware,  ///< the firmware is fetching its files (bootcode.bin, start*.elf, DTBs, ...)
  kernel,    ///< its kernel was served; the OS has not asked for its lease yet
  up,        ///< the booted OS asked for its lease (the kernel's ip=dhcp or its DHCP client)
  stuck,     ///< no progress for stuck_after while in dhcp or firmware (see board_record::at)
  failed,    ///< a required file is missing or a transfer failed (see board_record::failure)
};
[[nodiscard]] std::string_view to_string(board_state s) noexcept;

/// Which DHCP client a message came from, as the server classified it.
enum class dhcp_phase : std::uint8_t {
  rom,       ///< a first-stage boot client: Pi 3 mask ROM, or a PXE ROM / UEFI (not a Pi)
  eeprom,    ///< the Pi 4/5 EEPROM bootloader (first stage too)
  bootcode,  ///< Pi 3 bootcode.bin (second stage, same boot)
  os,        ///< no PXE vendor class: the booted kernel (ip=dhcp) or the OS's DHCP client
};
[[nodiscard]] std::string_view to_string(dhcp_phase p) noexcept;

/// How a TFTP read ended.
enum class file_outcome : std::uint8_t {
  sent,             ///< complete
  not_found,        ///< the file is not in the board's tree
  ended_by_client,  ///< the client stopped early (probes, "Early terminate")
  failed,           ///< timed out, retransmissions exhausted, I/O error: see the `why` text
};
[[nodiscard]] std::string_view to_string(file_outcome o) noexcept;

/// A provisioned board, from the registry.
struct board_identity {
  core::mac_address mac;
  std::string_view name;    ///< host name (or folder)
  std::string_view serial;  ///< 8 hex digits, or empty
  std::string_view image;   ///< the image it is assigned (empty: not managed by generations)
  unsigned generation = 0;  ///< the generation it is assigned
};

/// One TFTP read as the server finished it.
struct file_event {
  std::string_view file;  ///< as requested (may carry a serial prefix)
  file_outcome outcome = file_outcome::sent;
  std::string_view why;  ///< for failed: the reason (e.g. "retransmissions exhausted")
  std::uint64_t bytes = 0;
  std::uint64_t retransmits = 0;
};

struct board_record {
  core::mac_address mac;
  bool provisioned = false;
  board_state state = board_state::dhcp;
  bool started = false;      ///< a boot was seen (a first-stage DHCP)
  bool booted_once = false;  ///< last_boot_* hold a finished boot
  bounded_string<64> name;
  bounded_string<12> serial;
  bounded_string<16> model;  ///< "pi3", "pi4", "pi5", "x86_bios", "uefi_x64", ...
  bounded_string<40> image;
  std::uint32_t generation = 0;         ///< assigned (registry)
  std::uint32_t tree_generation = 0;    ///< what its boot tree held when this boot started (marker)
  std::uint32_t booted_generation = 0;  ///< what the last boot that reached its kernel booted (0: unknown)
  bounded_string<96> at;                ///< the last file or phase it reached
  bounded_string<160> failure;          ///< the last failure (kept after a later good boot)
  core::ipv4_address address;           ///< the address the server last saw it with
  core::time_point first_seen{}, last_seen{};
  core::time_point boot_started{};                     ///< first DISCOVER of the current boot
  core::time_point last_progress{};                    ///< last event that moved the boot forward
  std::optional<std::chrono::milliseconds> to_kernel;  ///< current boot: first DISCOVER to its kernel
  std::optional<std::chrono::milliseconds> to_os;      ///< current boot: first DISCOVER to the OS's DHCP
  core::time_point last_boot_at{};                     ///< when the last finished boot's kernel was served
  std::chrono::milliseconds last_boot_duration{};      ///< its first DISCOVER to its kernel
  std::uint32_t boots = 0, files = 0, files_failed = 0;
  std::uint64_t bytes = 0, retransmits = 0;

  /// Booted a generation other than the one it is assigned: a reboot would change it.
  [[nodiscard]] bool stale() const noexcept {
    return provisioned && !image.empty() && booted_generation != 0 && booted_generation != generation;
  }
};
static_assert(sizeof(board_record) <= 1024, "a board record must cost at most 1 KiB");

struct board_status_config {
  std::size_t max_unknown = 256;                 ///< boards not in the registry, at most
  std::chrono::milliseconds stuck_after{60000};  ///< no progress this long in dhcp/firmware: stuck
  /// A boot restarting: a first-stage DHCP this long after the last progress starts a new boot
  /// even while the record is still in `dhcp` (ROM retries within a boot do not).
  std::chrono::milliseconds new_boot_after{120000};
  std::vector<std::string> kernel_files{"kernel8.img",     "kernel7l.img", "kernel7.img", "kernel.img",
                                        "kernel_2712.img", "vmlinuz",      "linux"};
};

/// What on_dhcp() did.
struct dhcp_effect {
  board_record const* board = nullptr;  ///< nullptr: not tracked (an OS DHCP of a board never seen booting)
  bool new_boot = false;                ///< a boot started: the caller may refresh set_tree_generation()
};

class board_status {
 public:
  explicit board_status(board_status_config cfg = {});

  /// Replaces the provisioned set (start, reload). Records of boards that stay keep their
  /// history; a board no longer provisioned becomes unknown (and may be evicted). Reserves the
  /// storage for every event to come. Allocates.
  void set_provisioned(std::span<board_identity const> boards);
  void set_kernel_files(std::vector<std::string> files) { cfg_.kernel_files = std::move(files); }

  /// A DHCP message from `mac`, classified by the server; `model` names the hardware
  /// ("pi4"; empty keeps the last); `address` the one it asked for or got (0: none).
  dhcp_effect on_dhcp(core::mac_address mac, dhcp_phase phase, std::string_view model,
                      core::ipv4_address address, core::time_point now) noexcept;
  /// A finished TFTP read of board `mac`.
  board_record const* on_file(core::mac_address mac, file_event const& ev, core::time_point now) noexcept;
  /// The generation the board's boot tree holds now (its marker), read by the caller when a
  /// boot starts; the boot's kernel being served makes it the booted generation.
  void set_tree_generation(core::mac_address mac, unsigned generation) noexcept;
  /// A new stuck_after (configuration reload); the next on_timer() applies it.
  void set_stuck_after(std::chrono::milliseconds d) noexcept { cfg_.stuck_after = d; }
  /// Moves boards without progress for stuck_after to `stuck`. Returns how many changed.
  std::size_t on_timer(core::time_point now) noexcept;

  [[nodiscard]] board_record const* find(core::mac_address mac) const noexcept;
  /// Provisioned boards first (registry order), then the unknown ones.
  [[nodiscard]] std::span<board_record const> records() const noexcept { return records_; }
  [[nodiscard]] std::size_t provisioned_count() const noexcept { return provisioned_; }
  [[nodiscard]] std::size_t evicted() const noexcept { return evicted_; }
  [[nodiscard]] board_status_config const& config() const noexcept { return cfg_; }

 private:
  board_record* lookup(core::mac_address mac) noexcept;
  /// The record of `mac`, created (evicting the oldest unknown one if full) when missing.
  board_record* lookup_or_add(core::mac_address mac, core::time_point now) noexcept;
  [[nodiscard]] bool is_kernel(std::string_view base) const noexcept;

  board_status_config cfg_;
  std::vector<board_record> records_;  ///< [0, provisioned_) provisioned, then unknown
  std::vector<std::uint64_t> keys_;    ///< MACs of records_, same order (a compact scan)
  std::size_t provisioned_ = 0;
  std::size_t evicted_ = 0;
};

/// The file name without directories ("10000000/start4.elf" -> "start4.elf").
[[nodiscard]] std::string_view file_base(std::string_view file) noexcept;
/// Whether a missing `file` stops a boot: a device tree (not an overlay), cmdline.txt,
/// fixup*.dat. Probes and files that are normally missing (spec 4.4) are not.
[[nodiscard]] bool missing_is_fatal(std::string_view file) noexcept;

/// Renders the records as the /status JSON document (docs/status.md). `now`/`unix_now_ms`
/// translate steady times into wall-clock milliseconds. Allocates (off the packet path).
[[nodiscard]] std::string render_status_json(board_status const& s, core::time_point now,
                                             std::int64_t unix_now_ms);

}  // namespace pinetboot::net
