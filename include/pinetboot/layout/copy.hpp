/// @file
/// @brief `cp -a` in C++: copies a golden tree preserving owners, modes, nanosecond timestamps,
/// symlinks (as links, never followed), hard links, FIFOs, device nodes, sparse files and
/// extended attributes; reflinks where the file system can.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/error.hpp"

namespace pinetboot::layout {

/// How copy_tree() copies.
struct copy_options {
  /// chown every entry to the source's owner. As non-root, the group is still kept when the
  /// caller is a member of it; failures to chown are ignored (cp -a does the same).
  bool preserve_owner = true;
  /// Hard-link regular files to the source instead of copying them (`--link-boot`, for the
  /// read-only firmware); falls back to a copy across file systems.
  bool link_files = false;
  /// Try FICLONE (reflink) before copying data.
  bool reflink = true;
  /// Called after each chunk of file data with the bytes just copied; return false to cancel
  /// (copy_tree() then returns errc::cancelled and leaves a partial destination).
  std::function<bool(std::uint64_t)> on_bytes;
};

/// What copy_tree() did.
struct copy_stats {
  std::uint64_t files = 0;  ///< regular files copied or linked
  std::uint64_t directories = 0;
  std::uint64_t symlinks = 0;
  std::uint64_t hard_links = 0;  ///< extra names recreated as hard links
  std::uint64_t specials = 0;    ///< FIFOs and device nodes
  std::uint64_t skipped = 0;     ///< device nodes and sockets that could not be created (not root)
  std::uint64_t bytes = 0;       ///< file data bytes copied (holes excluded)
  std::uint64_t reflinked = 0;   ///< files whose data was shared by FICLONE instead of copied
};

/// Copies the directory `src` (its contents and its own attributes) to `dst`, which must not
/// exist; its parent must. Symbolic links are never followed, neither in the source nor in the
/// destination (every entry is created with O_EXCL/O_NOFOLLOW below a directory fd), so nothing
/// is read or written outside the two trees. Mount points inside `src` are crossed.
/// Errors: errno codes (EEXIST when `dst` exists), errc::cancelled.
[[nodiscard]] result<copy_stats> copy_tree(std::filesystem::path const& src, std::filesystem::path const& dst,
                                           copy_options const& options);

/// Sum of the sizes of the regular files under `dir`, each inode counted once (the `total` of a
/// progress bar). Errors: errno codes.
[[nodiscard]] result<std::uint64_t> tree_bytes(std::filesystem::path const& dir);

/// Removes `path` recursively without following symlinks (std::filesystem::remove_all, made
/// writable first so a tree copied from read-only directories can be removed as non-root).
/// A missing path is not an error. Errors: errno codes.
[[nodiscard]] std::error_code remove_tree(std::filesystem::path const& path);

}  // namespace pinetboot::layout
