/// @file
/// @brief The client's /etc/fstab per fstab(5)/libmount: parser, formatter and the netboot
/// rewrite of a stock Raspberry Pi OS fstab (spec raspberry-pi-netboot.md 10.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/nfs/error.hpp"

namespace pinetboot::nfs {

/// One mount: the six fstab(5) fields, decoded (`\040` is a space here).
/// `mntops` empty means the optional fourth field was absent (then freq and passno are 0).
struct fstab_entry {
  std::string spec;     ///< fs_spec: device, `UUID=...`, `server:/path`, `tmpfs`, `proc`
  std::string file;     ///< fs_file: mount point
  std::string vfstype;  ///< fs_vfstype
  std::string mntops;   ///< fs_mntops, comma-separated
  int freq = 0;         ///< fs_freq (dump)
  int passno = 0;       ///< fs_passno (fsck order)
  friend bool operator==(fstab_entry const&, fstab_entry const&) = default;
};

/// One line of an fstab as it appears in the file.
struct fstab_line {
  std::string text;                  ///< the raw line without its '\n'
  std::optional<fstab_entry> entry;  ///< nullopt for comments and blank lines
  friend bool operator==(fstab_line const&, fstab_line const&) = default;
};

/// Parses one entry line (a trailing newline is fine). Fields are separated by blanks (space,
/// tab, CR); `\ooo` octal escapes
/// are decoded in every field as libmount does (value modulo 256); 3 to 6 fields; further tokens
/// must start a '#' comment; freq/passno are decimal with an optional '-'.
/// Errors: errc::invalid_syntax (comment/blank line, too few or too many fields, bad number),
/// errc::forbidden_character (a field decodes to NUL).
[[nodiscard]] result<fstab_entry> parse_fstab_entry(std::string_view line);

/// Splits `text` into lines and parses every entry; comments and blank lines are kept with
/// `entry == nullopt`. If `error_line` is given it receives the 1-based line of the first error.
/// Errors: those of parse_fstab_entry().
[[nodiscard]] result<std::vector<fstab_line>> parse_fstab(std::string_view text,
                                                          std::size_t* error_line = nullptr);

/// Appends `spec file vfstype mntops freq passno\n`, escaping space (`\040`), tab (`\011`),
/// newline (`\012`), backslash (`\134`), CR/VT/FF and '#' as octal. An entry with empty mntops and
/// freq = passno = 0 is written with three fields. On error `out` is unchanged.
/// Errors: errc::empty_field (empty spec, file or vfstype; empty mntops with freq/passno set),
/// errc::forbidden_character (NUL in a field).
[[nodiscard]] std::error_code append_fstab_entry(std::string& out, fstab_entry const& e);
/// The same line as a new string (with its trailing newline).
[[nodiscard]] result<std::string> format_fstab_entry(fstab_entry const& e);

/// Where the client mounts its boot folder: `/boot/firmware` on Raspberry Pi OS Bookworm and
/// later, `/boot` on earlier releases.
enum class boot_mountpoint : std::uint8_t { boot_firmware, boot };

/// A tmpfs for a volatile path: `tmpfs <path> tmpfs defaults,nosuid,nodev[,mode=<o>],size=<size> 0 0`.
struct tmpfs_mount {
  std::string path;                   ///< absolute mount point, e.g. /tmp or /var/log
  std::string size;                   ///< tmpfs size=: digits with optional k/m/g suffix, or digits%
  std::optional<std::uint16_t> mode;  ///< root directory mode (e.g. 0755 for /var/log); <= 07777
  friend bool operator==(tmpfs_mount const&, tmpfs_mount const&) = default;
};

/// What make_netboot_fstab() writes.
struct netboot_fstab_options {
  std::string server;       ///< NFS server: IPv4 address or host name
  /// The board's boot folder on the server, e.g. /tftpboot/dc-a6-32-01-36-c2; empty: no boot
  /// mount line (a shared root, whose boards mount their own boot folder from board-init).
  std::string boot_export;
  boot_mountpoint boot_at = boot_mountpoint::boot_firmware;
  /// Mount options of the boot folder. vers=3 as the official tutorial; mount.nfs (not the
  /// initramfs) mounts it, so proto=tcp is fine here (Debian 12's nfsd serves no UDP).
  std::string nfs_options = "defaults,vers=3,proto=tcp";
  std::vector<tmpfs_mount> tmpfs;  ///< optional volatile paths
};

/// Rewrites the image's fstab for an NFS root: keeps comments, `proc` and every other operator
/// line byte for byte; drops the SD card entries (PARTUUID=, UUID=, LABEL=, PARTLABEL=,
/// /dev/mmcblk*, /dev/disk/by-* mounted at /, /boot or /boot/firmware) and any line for a mount
/// point it writes itself; appends `<server>:<boot_export> <boot_at> nfs <nfs_options> 0 0`
/// and the tmpfs lines. Idempotent: running it on its own output returns the same text.
/// Errors: errc::invalid_host (server), the path errors of exports (boot_export, tmpfs paths),
/// errc::empty_field (nfs_options), errc::invalid_option_value (tmpfs size or mode),
/// errc::conflicting_options (two mounts at one path), and the errors of parse_fstab().
[[nodiscard]] result<std::string> make_netboot_fstab(std::string_view existing,
                                                     netboot_fstab_options const& opts);

}  // namespace pinetboot::nfs
