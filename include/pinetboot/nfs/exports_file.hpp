/// @file
/// @brief Idempotent update of /etc/exports: pinetboot's lines live in one managed block between
/// marker comments; everything else in the file is the operator's and is kept byte for byte.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/nfs/error.hpp"
#include "pinetboot/nfs/exports.hpp"

namespace pinetboot::nfs {

inline constexpr std::string_view managed_block_begin = "# BEGIN pinetboot managed block -- do not edit";
inline constexpr std::string_view managed_block_end = "# END pinetboot managed block";

/// Returns `existing` with the managed block replaced by one line per entry (in the given order).
/// Pure. Operator lines before and after the block are byte-identical; an absent block is created
/// at the end (a newline is added to a last line that lacks one); an empty `entries` leaves an
/// empty block. Re-running with the same entries returns an identical string.
/// A line is taken as a marker if, after leading blanks, it starts with the marker text (so a
/// hand-edited marker is still found); markers are rewritten canonically.
/// Errors: errc::broken_managed_block (two BEGIN or END markers, END before BEGIN, one without
/// the other), errc::duplicate_export (the same path and host twice in `entries`), and every error
/// of append_exports_line().
[[nodiscard]] result<std::string> update_managed_block(std::string_view existing,
                                                       std::span<export_entry const> entries,
                                                       export_policy const& policy = {},
                                                       std::vector<std::string>* warnings = nullptr);

/// The entries currently inside the managed block of `existing` (empty if there is no block).
/// Errors: errc::broken_managed_block and the errors of parse_exports().
[[nodiscard]] result<std::vector<export_entry>> read_managed_block(std::string_view existing);

/// Replaces `path` with `content` atomically: writes `<dir>/.<name>.pinetboot-XXXXXX` in the same
/// directory, fsyncs it, gives it the old file's mode (0644 if there was none), renames it over
/// `path` and fsyncs the directory. If `backup` and `path` existed, its previous content is first
/// saved the same way to `<path>.pinetboot.bak`. A symlink at `path` is followed (its target is
/// replaced). Not for the packet path: this blocks on the disk. Errors: std::errc values from the
/// failing system call; the temporary file is removed on failure.
[[nodiscard]] std::error_code write_file_atomically(std::filesystem::path const& path,
                                                    std::string_view content, bool backup = true);

}  // namespace pinetboot::nfs
