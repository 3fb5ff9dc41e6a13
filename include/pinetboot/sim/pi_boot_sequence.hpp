/// @file
/// @brief The TFTP file sequence a Raspberry Pi fetches while it network-boots, per generation
/// (shared/spec/raspberry-pi-netboot.md 4.1-4.4), as data plus a small sans-I/O state machine.
///
/// Used by the fleet simulator (pinetboot-simulate), the server demo and boot-storm benchmarks, so
/// that all of them agree on which files a board asks for, in which order, with which options,
/// which ones are existence probes (ERROR 0 "Early terminate" after the first answer) and which
/// ones are normally missing.
///
/// Per-serial prefix (spec 4.2): a step marked `prefix_check` is requested as `<serial>/<file>`
/// (8 lower-case hex digits). If that file (or its alternative) exists, every later prefixable
/// file uses the prefix; if not, the prefix is cleared and everything comes from the root. A
/// required prefix-check step (Pi 5's config.txt) is then asked again from the root.
///
/// Nothing allocates; every function is noexcept.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "pinetboot/core/byte_writer.hpp"
#include "pinetboot/core/pi_serial.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"

namespace pinetboot::tftp {

/// Board families with distinct TFTP behaviour (spec 4.1).
enum class pi_board : std::uint8_t {
  pi3,  ///< Pi 2B v1.2 / 3B / 3B+: ROM fetches bootcode.bin, then bootcode.bin/start.elf
  pi4,  ///< Pi 4 / 400 / CM4: EEPROM bootloader, then start4.elf
  pi5,  ///< Pi 5 / 500 / CM5: EEPROM with embedded firmware
};

[[nodiscard]] constexpr std::string_view to_string(pi_board b) noexcept {
  switch (b) {
    case pi_board::pi3:
      return "pi3";
    case pi_board::pi4:
      return "pi4";
    case pi_board::pi5:
      return "pi5";
  }
  return "unknown";
}

/// How a step transfers its file.
enum class pi_step_kind : std::uint8_t {
  fetch,  ///< download the whole file
  probe,  ///< existence probe: read the first answer (OACK / DATA 1), send ERROR 0 "Early terminate"
};

/// What a missing file means for the boot.
enum class pi_file_role : std::uint8_t {
  required,          ///< missing -> the board does not boot
  optional,          ///< may be missing (e.g. overlays/overlay_map.dtb)
  normally_missing,  ///< expected "not found" (spec 4.4); found is fine too
  kernel,            ///< required; receiving it completely means the board booted
};

/// Which options the RRQ carries (spec 4.1 "Options in RRQ").
enum class pi_rrq_options : std::uint8_t {
  none,           ///< Pi 3 ROM: `RRQ "bootcode.bin" octet`, 21 bytes
  tsize,          ///< bootcode.bin / start.elf: `tsize 0`
  tsize_blksize,  ///< Pi 4/5: `tsize 0 blksize <pi_blksize(board)>`
};

/// One entry of a generation's sequence.
struct pi_boot_step {
  std::string_view file;         ///< path below the TFTP root (without prefix)
  std::string_view alternative;  ///< tried with the same prefix when `file` is not found ("" = none)
  pi_step_kind kind = pi_step_kind::fetch;
  pi_file_role role = pi_file_role::required;
  pi_rrq_options options = pi_rrq_options::tsize_blksize;
  bool prefix_check = false;  ///< decides whether the per-serial prefix is kept (spec 4.2)
  bool root_only = false;     ///< never prefixed (the ROM's bootcode.bin, bootsig.bin)
  /// The board runs DHCP again before this step: bootcode.bin is a new DHCP client (spec 3.1).
  bool redo_dhcp = false;
};

namespace detail::pi_seq {
using k = pi_step_kind;
using r = pi_file_role;
using o = pi_rrq_options;

// Spec 4.3 "Pi 2/3": the ROM asks bootcode.bin without options; bootcode.bin does DHCP again
// (spec 3.1), then it and start.elf ask with tsize only; kernel8.img falls back to kernel7.img.
inline constexpr std::array<pi_boot_step, 14> pi3_steps{{
    {"bootcode.bin", "", k::fetch, r::required, o::none, false, true},
    {"bootsig.bin", "", k::fetch, r::normally_missing, o::tsize, false, true},
    {"start.elf", "", k::probe, r::optional, o::tsize, true, false, true},
    {"autoboot.txt", "", k::fetch, r::normally_missing, o::tsize, false, false},
    {"config.txt", "", k::fetch, r::optional, o::tsize, false, false},
    {"recovery.elf", "", k::fetch, r::normally_missing, o::tsize, false, false},
    {"start.elf", "", k::fetch, r::required, o::tsize, false, false},
    {"fixup.dat", "", k::fetch, r::required, o::tsize, false, false},
    {"config.txt", "", k::fetch, r::optional, o::tsize, false, false},
    {"dt-blob.bin", "", k::fetch, r::normally_missing, o::tsize, false, false},
    {"bootcfg.txt", "", k::fetch, r::normally_missing, o::tsize, false, false},
    {"bcm2710-rpi-3-b.dtb", "", k::fetch, r::required, o::tsize, false, false},
    {"cmdline.txt", "", k::fetch, r::required, o::tsize, false, false},
    {"kernel8.img", "kernel7.img", k::fetch, r::kernel, o::tsize, false, false},
}};

// Spec 4.3 "Pi 4": <serial>/start4.elf probe (then <serial>/start.elf), self-update and recovery
// probes that are normally missing, then start4.elf's own requests.
inline constexpr std::array<pi_boot_step, 12> pi4_steps{{
    {"start4.elf", "start.elf", k::probe, r::optional, o::tsize_blksize, true, false},
    {"pieeprom.sig", "", k::fetch, r::normally_missing, o::tsize_blksize, false, false},
    {"config.txt", "", k::fetch, r::optional, o::tsize_blksize, false, false},
    {"recover4.elf", "", k::fetch, r::normally_missing, o::tsize_blksize, false, false},
    {"recovery.elf", "", k::fetch, r::normally_missing, o::tsize_blksize, false, false},
    {"start4.elf", "", k::fetch, r::required, o::tsize_blksize, false, false},
    {"fixup4.dat", "", k::fetch, r::required, o::tsize_blksize, false, false},
    {"config.txt", "", k::fetch, r::optional, o::tsize_blksize, false, false},
    {"bcm2711-rpi-4-b.dtb", "", k::fetch, r::required, o::tsize_blksize, false, false},
    {"overlays/overlay_map.dtb", "", k::fetch, r::optional, o::tsize_blksize, false, false},
    {"cmdline.txt", "", k::fetch, r::required, o::tsize_blksize, false, false},
    {"kernel8.img", "", k::fetch, r::kernel, o::tsize_blksize, false, false},
}};

// Spec 4.3 "Pi 5": config.txt decides the prefix; the 16 K-page kernel and its initramfs fall
// back to kernel8.img / initramfs8.
inline constexpr std::array<pi_boot_step, 8> pi5_steps{{
    {"config.txt", "", k::fetch, r::required, o::tsize_blksize, true, false},
    {"pieeprom.sig", "", k::fetch, r::normally_missing, o::tsize_blksize, false, false},
    {"bcm2712-rpi-5-b.dtb", "", k::fetch, r::required, o::tsize_blksize, false, false},
    {"overlays/overlay_map.dtb", "", k::fetch, r::optional, o::tsize_blksize, false, false},
    {"armstub8-2712.bin", "", k::fetch, r::normally_missing, o::tsize_blksize, false, false},
    {"cmdline.txt", "", k::fetch, r::required, o::tsize_blksize, false, false},
    {"initramfs_2712", "initramfs8", k::fetch, r::optional, o::tsize_blksize, false, false},
    {"kernel_2712.img", "kernel8.img", k::fetch, r::kernel, o::tsize_blksize, false, false},
}};
}  // namespace detail::pi_seq

/// The file sequence of `board` (spec 4.3), static storage.
[[nodiscard]] constexpr std::span<const pi_boot_step> pi_boot_steps(pi_board board) noexcept {
  switch (board) {
    case pi_board::pi3:
      return detail::pi_seq::pi3_steps;
    case pi_board::pi4:
      return detail::pi_seq::pi4_steps;
    case pi_board::pi5:
      return detail::pi_seq::pi5_steps;
  }
  return detail::pi_seq::pi4_steps;
}

/// The block size a board asks for with pi_rrq_options::tsize_blksize (spec 4.1): 1024 for the
/// Pi 4 bootloader, 1468 for the Pi 5; 512 (not asked) for the Pi 3.
[[nodiscard]] constexpr std::uint16_t pi_blksize(pi_board board) noexcept {
  switch (board) {
    case pi_board::pi3:
      return 512;
    case pi_board::pi4:
      return 1024;
    case pi_board::pi5:
      return 1468;
  }
  return 512;
}

/// The RRQ options of a step for `board`.
[[nodiscard]] constexpr client_options pi_client_options(pi_board board, pi_rrq_options o) noexcept {
  client_options c;
  if (o == pi_rrq_options::none) return c;
  c.tsize = true;
  if (o == pi_rrq_options::tsize_blksize) c.blksize = pi_blksize(board);
  return c;
}

/// The outcome of one requested file, as the transfer layer saw it.
enum class pi_file_result : std::uint8_t {
  received,   ///< fetch: complete file received
  found,      ///< probe: the server answered (OACK / DATA 1) and we aborted
  not_found,  ///< the server answered with an ERROR packet (any code: spec 4.1)
  failed,     ///< timeout, option refusal, local error
};

[[nodiscard]] constexpr std::string_view to_string(pi_file_result r) noexcept {
  switch (r) {
    case pi_file_result::received:
      return "received";
    case pi_file_result::found:
      return "found";
    case pi_file_result::not_found:
      return "not_found";
    case pi_file_result::failed:
      return "failed";
  }
  return "unknown";
}

/// The next file to request: a value type, so it stays valid whatever happens to the sequence.
struct pi_file_request {
  static constexpr std::size_t max_path = 64;  ///< longest step file + "xxxxxxxx/" fits
  std::array<char, max_path> path_buffer{};
  std::size_t path_size = 0;
  std::size_t step = 0;  ///< index into pi_boot_steps()
  bool alternative = false;
  bool prefixed = false;
  pi_step_kind kind = pi_step_kind::fetch;
  pi_file_role role = pi_file_role::required;
  client_options options{};
  /// Run DHCP again before requesting this file (then call pi_boot_sequence::dhcp_redone()).
  bool redo_dhcp = false;

  /// The path to put in the RRQ, e.g. "9ffefdef/start4.elf".
  [[nodiscard]] std::string_view path() const noexcept { return {path_buffer.data(), path_size}; }
};

/// Writes `r` as the Pi firmware does (spec 12.6): `RRQ <path> octet [tsize 0 [blksize N]]`, tsize
/// before blksize (tftp::write_request puts blksize first; servers must not care, captures do).
/// Errors: buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_pi_rrq(std::span<std::byte> out,
                                                      pi_file_request const& r) noexcept {
  core::byte_writer w{out};
  w.u16(static_cast<std::uint16_t>(opcode::rrq));
  w.cstr(r.path());
  w.cstr("octet");
  if (r.options.tsize) {
    w.cstr("tsize");
    w.cstr("0");
  }
  if (r.options.blksize) {
    std::array<char, 6> digits{};
    std::size_t n = 0;
    for (std::uint16_t v = *r.options.blksize; v != 0 || n == 0; v = static_cast<std::uint16_t>(v / 10))
      digits[n++] = static_cast<char>('0' + v % 10);
    w.cstr("blksize");
    for (std::size_t i = n; i-- > 0;) w.u8(static_cast<std::uint8_t>(digits[i]));
    w.u8(0);
  }
  if (w.overflowed()) return errc::buffer_too_small;
  return w.needed();
}

/// Walks a board through its sequence. Call current() for the file to request, then on_result()
/// with what happened, until is_done(). booted() is true once the kernel was received.
class pi_boot_sequence {
 public:
  pi_boot_sequence(pi_board board, std::uint32_t serial) noexcept
      : board_{board}, steps_{pi_boot_steps(board)} {
    core::pi_serial{serial}.format_to(std::span{prefix_}.first<8>());
    prefix_[8] = '/';
  }

  [[nodiscard]] pi_board board() const noexcept { return board_; }
  [[nodiscard]] std::span<const pi_boot_step> steps() const noexcept { return steps_; }
  /// "9ffefdef/" while the prefix is in use (before and after a successful prefix check), else "".
  [[nodiscard]] std::string_view prefix() const noexcept {
    return use_prefix_ ? std::string_view{prefix_.data(), prefix_.size()} : std::string_view{};
  }
  /// True once a prefix check found the per-serial folder.
  [[nodiscard]] bool prefix_confirmed() const noexcept { return use_prefix_ && prefix_checked_; }

  /// The file to request next; nullopt when done.
  [[nodiscard]] std::optional<pi_file_request> current() const noexcept {
    if (is_done()) return std::nullopt;
    auto const& s = steps_[step_];
    pi_file_request r;
    r.step = step_;
    r.alternative = alternative_;
    r.kind = s.kind;
    r.role = s.role;
    r.options = pi_client_options(board_, s.options);
    r.prefixed = use_prefix_ && !s.root_only;
    r.redo_dhcp = s.redo_dhcp && !dhcp_redone_;
    std::string_view file = alternative_ ? s.alternative : s.file;
    std::size_t n = 0;
    if (r.prefixed)
      for (char c : prefix_) r.path_buffer[n++] = c;
    // Step names are static and short (checked by the unit tests); clip rather than overflow.
    for (char c : file) {
      if (n == r.path_buffer.size()) break;
      r.path_buffer[n++] = c;
    }
    r.path_size = n;
    return r;
  }

  /// Records the outcome of current() and advances.
  void on_result(pi_file_result result) noexcept {
    if (is_done()) return;
    auto const& s = steps_[step_];
    bool found = result == pi_file_result::received || result == pi_file_result::found;
    if (result == pi_file_result::failed) {
      if (s.role == pi_file_role::required || s.role == pi_file_role::kernel) {
        failed_ = true;
        return;
      }
      next();  // a probe of an optional file timing out does not stop a real Pi either
      return;
    }
    if (found) {
      if (s.prefix_check) prefix_checked_ = true;
      if (s.role == pi_file_role::kernel && result == pi_file_result::received) booted_ = true;
      next();
      return;
    }
    // not found
    if (!alternative_ && !s.alternative.empty()) {
      alternative_ = true;
      return;
    }
    if (s.prefix_check && use_prefix_) {
      use_prefix_ = false;  // spec 4.2: "the prefix is cleared"
      prefix_checked_ = true;
      if (s.role == pi_file_role::required || s.role == pi_file_role::kernel) {
        alternative_ = false;  // ask again from the root
        return;
      }
      next();
      return;
    }
    if (s.role == pi_file_role::required || s.role == pi_file_role::kernel) {
      failed_ = true;
      return;
    }
    next();
  }

  /// The DHCP that current().redo_dhcp asked for has been done.
  void dhcp_redone() noexcept { dhcp_redone_ = true; }

  [[nodiscard]] bool is_done() const noexcept { return failed_ || step_ >= steps_.size(); }
  [[nodiscard]] bool booted() const noexcept { return booted_; }
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  void next() noexcept {
    ++step_;
    alternative_ = false;
  }

  pi_board board_;
  std::span<const pi_boot_step> steps_;
  std::array<char, 9> prefix_{};
  std::size_t step_ = 0;
  bool use_prefix_ = true;
  bool prefix_checked_ = false;
  bool alternative_ = false;
  bool booted_ = false;
  bool failed_ = false;
  bool dhcp_redone_ = false;  // at most one step per sequence has redo_dhcp
};

}  // namespace pinetboot::tftp
