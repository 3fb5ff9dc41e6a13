/// @file
/// @brief Golden trees from a Raspberry Pi OS disk image (`.img` or `.img.xz`) without mounting
/// or loop devices: the MBR is parsed here (mbr.hpp), partition 1 (FAT) is extracted with
/// mtools (`mcopy -s -p -m -i img@@OFFSET`), partition 2 (ext4) with e2fsprogs
/// (`debugfs -R "rdump / DEST" "img?offset=OFFSET"`), and `.xz` is decompressed with `xz -dc`
/// into a scratch file first. Tools run via posix_spawnp with an argv (no shell).
///
/// debugfs rdump alone writes hard links as separate files, skips FIFOs and device nodes, drops
/// xattrs and chmods before it chowns (which clears set-uid bits: sudo would break). So a second
/// pass runs `debugfs -f` batches (`ls -p` per directory, `stat` per device node, `ea_list` and
/// `ea_get -f` per file) and repairs the dumped tree: hard links relinked, FIFOs and (as root)
/// device nodes created, owners then modes reapplied, xattrs (security.capability included) set,
/// directory times restored. Remaining limits: timestamps have 1 s resolution (rdump uses
/// utime), names containing '"' or a newline are left as rdump wrote them (debugfs cannot quote
/// them), and FAT (mcopy) has no owners or links and 2 s timestamps.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/mbr.hpp"

namespace pinetboot::layout {

/// Runs `argv[0]` (looked up in PATH) with `argv`, stdin from /dev/null, stdout to `stdout_file`
/// when not empty (else inherited), stderr to `stderr_file` when not empty. Errors:
/// errc::tool_failed (non-zero exit or signal), errno codes (ENOENT: tool not installed).
[[nodiscard]] std::error_code run_tool(std::vector<std::string> const& argv,
                                       std::filesystem::path const& stdout_file = {},
                                       std::filesystem::path const& stderr_file = {});

/// Reads and parses sector 0 of `image`. Errors: errno codes, parse_mbr()'s.
[[nodiscard]] result<mbr> read_mbr(std::filesystem::path const& image);

/// True for names ending in `.xz`.
[[nodiscard]] bool is_xz(std::filesystem::path const& image);

/// Extracts partition 1 of `image` into `boot_dest` and partition 2 into `root_dest` (both
/// created, must not exist). An `.xz` image is decompressed into `scratch_dir/image.raw`
/// first and deleted afterwards. `log` (may be empty) receives one line per tool run.
/// Errors: errno codes, read_mbr()'s, errc::no_such_partition, errc::bad_partition (partition
/// extends past the end of the image), errc::tool_failed.
[[nodiscard]] std::error_code extract_image(std::filesystem::path const& image,
                                            std::filesystem::path const& boot_dest,
                                            std::filesystem::path const& root_dest,
                                            std::filesystem::path const& scratch_dir,
                                            std::function<void(std::string_view)> const& log = {});

}  // namespace pinetboot::layout
