/// @file
/// @brief The manifest of an image generation: one line per entry of its boot and root trees
/// (type, mode, owner, size, SHA-256, path, link target), what `verify` compares a board's
/// trees with and what lets a new generation share the files it did not change.
///
/// Text format (one entry per line, sorted by path, '#' lines are comments):
/// @code
/// # pinetboot manifest 1
/// d 0755 0 0 0 - root/etc
/// f 0644 0 0 12 5891b5b5...e1 root/etc/hostname
/// l 0777 0 0 0 - root/bin/sh busybox
/// @endcode
/// Types: f file, d directory, l symlink (the target follows the path), p FIFO, c/b device
/// (size holds the device number), s socket. Paths and targets are relative, escaped with
/// `%XX` for '%', space, control bytes and DEL, so a name with a space or newline is one field.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/error.hpp"

namespace pinetboot::layout {

/// One entry of a manifest.
struct manifest_entry {
  char type = 'f';          ///< f d l p c b s
  unsigned mode = 0;        ///< permission bits (07777)
  unsigned uid = 0, gid = 0;
  std::uint64_t size = 0;   ///< bytes for files, the device number for c/b, else 0
  std::string sha256;       ///< 64 lower-case hex digits for files, empty otherwise
  std::string path;         ///< relative, '/'-separated, e.g. `root/etc/hostname`
  std::string target;       ///< symlink target
  friend bool operator==(manifest_entry const&, manifest_entry const&) = default;
};

/// Lower-case hex SHA-256 of `data`.
[[nodiscard]] std::string sha256_hex(std::string_view data);
/// Lower-case hex SHA-256 of the file `file` (read without following a final symlink).
/// Errors: errno codes.
[[nodiscard]] result<std::string> sha256_file(std::filesystem::path const& file);

/// Parses manifest text. Errors: errc::bad_manifest (no partial result).
[[nodiscard]] result<std::vector<manifest_entry>> parse_manifest(std::string_view text);
/// The text of a manifest (header line, then the entries in the order given).
[[nodiscard]] std::string format_manifest(std::vector<manifest_entry> const& entries);

/// Lists `dir` recursively without following symlinks, as entries whose paths start with
/// `label` + '/' (the directory itself is the entry `label`), sorted by path. Files are hashed
/// once per inode. `on_bytes` (may be empty) is told the bytes hashed. Errors: errno codes.
[[nodiscard]] result<std::vector<manifest_entry>> scan_manifest(std::filesystem::path const& dir,
                                                                std::string_view label,
                                                                std::function<void(std::uint64_t)> on_bytes = {});

/// One difference between a manifest and a tree.
struct manifest_change {
  enum class kind : std::uint8_t { missing, added, changed };
  kind what = kind::changed;
  std::string path;    ///< as in the manifest
  std::string detail;  ///< e.g. "content", "mode 0644 -> 0600", "type f -> l"
  friend bool operator==(manifest_change const&, manifest_change const&) = default;
};

/// Compares `expected` (the entries under `label`) with `actual` (scanned the same way),
/// skipping every path for which `ignore` returns true (generated or per-board files; a
/// directory ignored means everything below it too). Result sorted by path.
[[nodiscard]] std::vector<manifest_change> compare_manifests(
    std::vector<manifest_entry> const& expected, std::vector<manifest_entry> const& actual,
    std::function<bool(std::string_view)> const& ignore = {});

/// "missing root/lib/modules/x.ko", "changed boot/start4.elf (content)", ...
[[nodiscard]] std::string describe(manifest_change const& c);

}  // namespace pinetboot::layout
