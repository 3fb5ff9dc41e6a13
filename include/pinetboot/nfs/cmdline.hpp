/// @file
/// @brief cmdline.txt for an NFS root, derived from the image's original cmdline.txt
/// (spec raspberry-pi-netboot.md 1.9 and 10.1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/nfs/error.hpp"

namespace pinetboot::nfs {

enum class nfs_version : std::uint8_t { v3, v4_1 };
/// Transport for nfsroot=. `automatic`: nothing with an initramfs (klibc nfsmount rejects
/// proto=), `proto=tcp` without one (Debian 12's nfsd serves no UDP; NFSv4 needs TCP).
enum class nfs_proto : std::uint8_t { automatic, tcp, udp };

struct cmdline_options {
  core::ipv4_address server;  ///< the kernel does not resolve names in nfsroot=
  std::string root_path;      ///< the board's root on the server, e.g. /nfs/dc-a6-32-01-36-c2
  /// Raspberry Pi OS Bookworm and later boot through an initramfs (auto_initramfs=1), whose
  /// nfsmount accepts only vers=2|3 and no proto= (spec 10.1). Set false only if it is disabled.
  bool initramfs = true;
  nfs_version version = nfs_version::v3;
  nfs_proto proto = nfs_proto::automatic;
  std::string ip = "dhcp";  ///< kernel ip= (the firmware cannot hand its lease to Linux)
  bool read_only = false;   ///< `ro` instead of `rw` (a shared root)
  /// When set, every init= of the original is dropped and `init=<init>` written.
  std::string init;
  /// Tokens written after ours (e.g. `pinetboot.state=...`); a token of the original with the
  /// same key (text before '=') is dropped, so rewriting is idempotent. No whitespace or quotes.
  std::vector<std::string> extra;
};

/// Rewrites the image's cmdline.txt for an NFS root. Keeps every token in order (console=,
/// quiet, splash, cfg80211.ieee80211_regdom=, ...) except root=, rootfstype=, rootflags=,
/// fsck.repair=, fsck.mode=, nfsroot=, ip=, rw, ro, rootwait and an init= pointing at the SD
/// resize scripts (.../raspberrypi-sys-mods/firstboot, .../init_resize.sh); in place of the
/// first dropped token (or at the end) it puts
/// `root=/dev/nfs nfsroot=<server>:<path>,vers=3 rw ip=dhcp rootwait`.
/// The result is one line with a trailing newline; rewriting it again returns it unchanged.
/// Double-quoted tokens (`dyndbg="a b"`) are kept whole.
/// Errors: errc::nfs_version_needs_no_initramfs (v4.1 or an explicit proto with initramfs),
/// errc::conflicting_options (v4.1 over UDP), the path errors of exports for root_path,
/// errc::forbidden_character (whitespace, ',', '"', '\\', '%' or non-ASCII in root_path;
/// whitespace or quotes in ip), errc::empty_field (ip), errc::invalid_syntax (unterminated quote
/// in the original), errc::forbidden_character (NUL, or a newline inside quotes, in the original),
/// errc::too_long (more than 2047 characters: arm64 COMMAND_LINE_SIZE).
[[nodiscard]] result<std::string> make_netboot_cmdline(std::string_view original,
                                                       cmdline_options const& opts);

}  // namespace pinetboot::nfs
