/// @file
/// @brief The image store: every image is a list of immutable generations, each a boot tree,
/// a root tree, a manifest (manifest.hpp) and an info file.
///
/// @code
/// <image_root>/<name>/image.conf              per-image settings (persistent and volatile paths)
/// <image_root>/<name>/<N>/boot/               firmware, kernel, DTBs, overlays, cmdline.txt
/// <image_root>/<name>/<N>/root/               the OS root (exported read-only to shared boards)
/// <image_root>/<name>/<N>/manifest            every entry of boot/ and root/ with its SHA-256
/// <image_root>/<name>/<N>/info                source, creation time, parent, how data is shared
/// <image_root>/<name>/.staging/<N>.<pid>/     a generation being built (0700)
/// @endcode
///
/// A generation appears by one rename of its complete staging folder, so a crash leaves either
/// no generation or a whole one; whatever is left in `.staging` belongs to a run that died (all
/// writers hold the registry lock) and begin_generation() removes it. A generation is never
/// written after it appears: a new one is a copy (reflinks where the file system has them),
/// and files identical to the parent's are then replaced by hard links to them, so a
/// generation costs what changed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/manifest.hpp"
#include "pinetboot/layout/plan.hpp"

namespace pinetboot::layout {

/// Per-image settings (`image.conf`): what a shared-root board keeps per board and what is
/// a tmpfs. Absolute paths without "..", no ',' or whitespace.
struct image_settings {
  /// Not /var/lib as a whole: its dpkg database belongs to the generation, not to the board.
  std::vector<std::string> persist = {"/home", "/var/log"};
  std::vector<std::string> volatile_paths = {"/tmp", "/var/tmp", "/var/spool", "/var/lib/dhcpcd",
                                             "/var/lib/systemd"};
  friend bool operator==(image_settings const&, image_settings const&) = default;
};
/// Parses image.conf (`persist=/home,/var/log` and `volatile=...` lines). Errors: errc::bad_manifest.
[[nodiscard]] result<image_settings> parse_image_settings(std::string_view text);
[[nodiscard]] std::string format_image_settings(image_settings const& s);
/// Checks one persistent or volatile path. Errors: errc::unsafe_path.
[[nodiscard]] std::error_code check_state_path(std::string_view p) noexcept;

/// What `info` records of a generation.
struct generation_info {
  unsigned number = 0;
  unsigned parent = 0;    ///< the generation it was made from (0: imported)
  std::string source;     ///< "import tree BOOT ROOT", "import image X.img.xz", "exec CMD ..."
  std::string created;    ///< UTC, ISO 8601
  std::string sharing;    ///< how unchanged data is shared with the parent: reflink, hardlink, none
  friend bool operator==(generation_info const&, generation_info const&) = default;
};
[[nodiscard]] result<generation_info> parse_generation_info(std::string_view text);
[[nodiscard]] std::string format_generation_info(generation_info const& g);

/// Paths of the store.
[[nodiscard]] std::filesystem::path image_path(layout_config const& c, std::string_view image);
[[nodiscard]] std::filesystem::path generation_path(layout_config const& c, std::string_view image, unsigned n);
/// The path a shared board mounts (as the server exports it, without the prefix).
[[nodiscard]] std::filesystem::path exported_generation_root(layout_config const& c, std::string_view image,
                                                             unsigned n);

/// Names of the images in the store, sorted. A missing store is empty. Errors: errno codes.
[[nodiscard]] result<std::vector<std::string>> list_images(layout_config const& c);
/// The generations of `image`, ascending. Errors: errc::no_such_image, errno codes.
[[nodiscard]] result<std::vector<unsigned>> list_generations(layout_config const& c, std::string_view image);
/// Errors: errc::no_such_image, errc::no_such_generation (empty image), errno codes.
[[nodiscard]] result<unsigned> latest_generation(layout_config const& c, std::string_view image);
[[nodiscard]] result<generation_info> read_generation_info(layout_config const& c, std::string_view image,
                                                           unsigned n);
[[nodiscard]] result<std::vector<manifest_entry>> read_generation_manifest(layout_config const& c,
                                                                           std::string_view image, unsigned n);
/// A missing image.conf gives the defaults. Errors: errc::no_such_image, parse errors.
[[nodiscard]] result<image_settings> read_image_settings(layout_config const& c, std::string_view image);
[[nodiscard]] std::error_code write_image_settings(layout_config const& c, std::string_view image,
                                                   image_settings const& s);

/// A generation being built in `dir` (boot/ and root/ are for the caller to fill).
struct generation_draft {
  std::string image;
  unsigned number = 0;
  unsigned parent = 0;
  std::filesystem::path dir;
};

/// Creates the image folder if needed, removes what dead runs left in its staging folder and
/// makes an empty staging folder for generation latest+1. Errors: errc::bad_image_name, errno.
[[nodiscard]] result<generation_draft> begin_generation(layout_config const& c, std::string_view image);

/// Removes what runs that died left in the image's staging folder (the caller holds the
/// registry lock) and returns how many entries. Errors: errc::bad_image_name, errno codes.
[[nodiscard]] result<std::size_t> remove_stale_drafts(layout_config const& c, std::string_view image);

/// Fills `draft.dir/boot` and `draft.dir/root` with copies of the parent generation (reflinks
/// where the file system has them; draft.parent is set). Returns whether data was reflinked.
[[nodiscard]] result<bool> copy_parent_generation(layout_config const& c, generation_draft& draft,
                                                  unsigned parent);

/// What commit_generation() reports.
struct commit_stats {
  std::uint64_t files = 0;         ///< regular files in the generation
  std::uint64_t bytes = 0;         ///< their bytes
  std::uint64_t shared_files = 0;  ///< files hard-linked to the parent's identical ones
  std::uint64_t shared_bytes = 0;
  std::string sharing;             ///< as generation_info::sharing
};

/// Makes the draft's root ready for boards (pinetboot's board-init script, mount points and
/// identity placeholders for shared roots), scans the manifest, shares identical files with
/// the parent by hard links (when `reflinked` is false), writes manifest and info and renames
/// the draft into place. `on_bytes` is told the bytes hashed. Errors: errno codes.
[[nodiscard]] result<commit_stats> commit_generation(layout_config const& c, generation_draft const& draft,
                                                     generation_info info, bool reflinked,
                                                     std::function<void(std::uint64_t)> on_bytes = {});

/// Removes a draft (after a failure). Errors: errno codes.
[[nodiscard]] std::error_code abort_generation(generation_draft const& draft);

/// Removes generation `n` of `image` (renamed into staging first, so it disappears at once).
/// The caller checks that no board uses it. Errors: errc::no_such_generation, errno codes.
[[nodiscard]] std::error_code remove_generation(layout_config const& c, std::string_view image, unsigned n);

/// Bytes on disk each generation adds (allocated blocks of the inodes it does not share with
/// an older generation), ascending by generation. Errors: as list_generations().
[[nodiscard]] result<std::vector<std::pair<unsigned, std::uint64_t>>> generation_bytes(layout_config const& c,
                                                                                       std::string_view image);

/// Where in a generation's root pinetboot's board-init script lives.
inline constexpr std::string_view board_init_path = "usr/lib/pinetboot/board-init";
/// The identity files of a board (relative to its root); ssh host keys are found by glob.
inline constexpr std::string_view identity_files[] = {"etc/hostname", "etc/hosts", "etc/machine-id"};
/// The board-init script (POSIX sh): mounts a shared-root board's per-board state tree and its
/// tmpfs paths from the kernel command line, then executes /sbin/init.
[[nodiscard]] std::string_view board_init_script() noexcept;

}  // namespace pinetboot::layout
