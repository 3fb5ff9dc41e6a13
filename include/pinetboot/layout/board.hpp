/// @file
/// @brief Boards provisioned from an image generation (generation.hpp): building a board's
/// trees from a generation and moving it from one generation to another atomically.
///
/// @code
/// <tftp_root>/<folder>/                 boot tree: the generation's files hard-linked, plus the
///                                       board's own cmdline.txt (and config.txt if it edited
///                                       it) and .pinetboot-board (what the board runs)
/// <nfs_root>/<folder>/root.g<N>.<K>/    copy model: the board's writable root (K grows with
///                                       every tree the board gets, never reused)
/// <nfs_root>/<folder>/state/            shared model: the per-board state tree (persistent
///                                       paths and identity files bound over the shared root)
/// @endcode
///
/// The boot tree is the commit point: it names the root the board mounts (cmdline.txt) and
/// its marker names the generation. A move stages the new root beside the old one (nothing
/// refers to it yet), stages the new boot tree, then swaps the two boot trees with one
/// renameat2(RENAME_EXCHANGE): a board boots either the old generation or the new one, never
/// a mix, whenever the tool is killed. Then the caller's registry write runs and what the
/// board no longer uses is deleted; repair() finishes an interrupted move from the marker.
/// A board's first trees appear through the publish journal of apply.hpp (finish_publish).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/generation.hpp"
#include "pinetboot/layout/registry.hpp"

namespace pinetboot::layout {

/// File name of the marker in a board's boot tree.
inline constexpr std::string_view board_marker_name = ".pinetboot-board";

/// What a board's live boot tree runs.
struct board_marker {
  std::string image;
  unsigned generation = 0;
  root_model model = root_model::copy;
  std::string tree;  ///< its root (copy) or state tree (shared): a folder name in the board dir
  friend bool operator==(board_marker const&, board_marker const&) = default;
};
[[nodiscard]] result<board_marker> parse_board_marker(std::string_view text);
[[nodiscard]] std::string format_board_marker(board_marker const& m);

/// The board's folder under the NFS root (holds its root or state tree).
[[nodiscard]] std::filesystem::path board_dir(layout_config const& c, std::string_view folder);
/// The marker of the live boot tree; nullopt when the board has no boot tree or no marker.
/// Errors: parse errors of a marker that exists.
[[nodiscard]] result<std::optional<board_marker>> read_board_marker(layout_config const& c,
                                                                    std::string_view folder);

/// The paths (relative, no leading '/') that are the board's own in its root: the image's
/// persistent paths, the identity files and the ssh host keys.
[[nodiscard]] std::vector<std::string> board_owned_paths(image_settings const& s);

/// What switch_board() calls back.
struct board_hooks {
  /// Writes the board's generated files into the staged trees: cmdline.txt in `boot`, and in
  /// `tree` (its root for copy, its state tree for shared) identity and fstab. Called with the
  /// marker being built; must keep what already exists of the board's identity.
  std::function<std::error_code(client_record const&, board_marker const&, std::filesystem::path const& boot,
                                std::filesystem::path const& tree)>
      customize;
  /// Runs right after the boot trees are swapped (the registry write).
  std::function<std::error_code()> switched;
  /// Warnings for the operator (files a copy board changed outside its own paths, ...).
  std::function<void(std::string const&)> note;
  /// Test hook: called with the name of each point reached ("staged-root", "staged-boot",
  /// "switched"); the tests kill the process there.
  std::function<void(std::string_view)> at;
};

/// Puts board `r` on generation `r.generation` of `r.image` with root model `r.model`: a new
/// board gets both trees; a board already on a generation keeps its own paths (copy: the
/// persistent paths and identity carried into the new root, the files it changed elsewhere
/// reported through `note`; shared: its state tree as it is; switching models carries them
/// across). Errors: errc::no_such_generation, copy errors, the hooks' errors, errno codes.
[[nodiscard]] std::error_code switch_board(layout_config const& c, client_record const& r, board_hooks const& hooks);

/// Deletes what the board dir holds besides the tree its marker names (trees of older
/// generations, interrupted stages). Errors: errno codes.
[[nodiscard]] std::error_code clean_board(layout_config const& c, std::string_view folder, board_marker const& m);

/// One difference between what the registry says of an image board and what is on disk.
struct board_drift {
  std::string folder;
  std::string what;
};

/// Compares an image board's trees with its generation's manifest: the boot tree (generated
/// files excepted) and, for copy boards, the root outside the board's own paths; for shared
/// boards that the state tree exists. Errors: reading the manifest.
[[nodiscard]] result<std::vector<std::string>> verify_board(layout_config const& c, client_record const& r);

}  // namespace pinetboot::layout
