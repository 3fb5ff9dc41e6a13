/// @file
/// @brief The pure half of the layout manager: where client trees live (layout_config), what
/// is on disk (snapshot, gathered by scan()), and plan(), which turns the desired clients and a
/// snapshot into steps without touching the disk. apply.hpp carries the steps out.
///
/// Directory model (all paths below `prefix`, so tests run unprivileged in a temp dir):
/// @code
/// <tftp_root>/<folder>/                       boot tree of one client (firmware, kernel, cmdline.txt)
/// <nfs_root>/<folder>/                        root tree of one client (its fstab in etc/)
/// <tftp_root>/.pinetboot-staging/<folder>.<pid>   boot tree being built
/// <nfs_root>/.pinetboot-staging/<folder>.<pid>    root tree being built
/// <nfs_root>/.pinetboot-staging/<folder>.journal  publish in progress (see apply.hpp)
/// <registry>                                  one line per client (registry.hpp)
/// @endcode
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/core/folder_naming.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/identity.hpp"
#include "pinetboot/layout/registry.hpp"

namespace pinetboot::layout {

/// Name of the staging folder inside each root. Hidden, so a TFTP listing or glob skips it.
inline constexpr std::string_view staging_dir_name = ".pinetboot-staging";

/// Where things are. Every absolute path is taken relative to `prefix`.
struct layout_config {
  std::filesystem::path prefix = "/";
  std::filesystem::path tftp_root = "/srv/tftp";
  std::filesystem::path nfs_root = "/srv/nfs";
  std::filesystem::path registry = "/var/lib/pinetboot/clients.conf";
  /// The image store: `<image_root>/<name>/<generation>/{boot,root,manifest,info}`.
  std::filesystem::path image_root = "/srv/pinetboot/images";

  /// `p` below the prefix (`<prefix>/<p without its leading '/'>`).
  [[nodiscard]] std::filesystem::path under_prefix(std::filesystem::path const& p) const {
    return prefix / p.relative_path();
  }
  [[nodiscard]] std::filesystem::path tftp_dir() const { return under_prefix(tftp_root); }
  [[nodiscard]] std::filesystem::path nfs_dir() const { return under_prefix(nfs_root); }
  [[nodiscard]] std::filesystem::path registry_file() const { return under_prefix(registry); }
  [[nodiscard]] std::filesystem::path image_dir() const { return under_prefix(image_root); }
  [[nodiscard]] std::filesystem::path boot_dir(std::string_view folder) const { return tftp_dir() / folder; }
  [[nodiscard]] std::filesystem::path root_dir(std::string_view folder) const { return nfs_dir() / folder; }
  [[nodiscard]] std::filesystem::path boot_staging_dir() const { return tftp_dir() / staging_dir_name; }
  [[nodiscard]] std::filesystem::path root_staging_dir() const { return nfs_dir() / staging_dir_name; }
  /// The path the NFS client mounts (nfs_root/<folder> as the server exports it, without prefix).
  [[nodiscard]] std::filesystem::path exported_root(std::string_view folder) const {
    return nfs_root / folder;
  }
  [[nodiscard]] std::filesystem::path exported_boot(std::string_view folder) const {
    return tftp_root / folder;
  }
};

/// A publish that was started but not finished: both staging trees were complete when the
/// journal was written, so finishing it is always safe (roll forward).
struct publish_journal {
  std::string folder;
  std::filesystem::path boot_staging;  ///< absolute; may already be gone (renamed)
  std::filesystem::path root_staging;
  bool replace = false;  ///< an existing client may be renamed aside
  friend bool operator==(publish_journal const&, publish_journal const&) = default;
};

/// Which trees of one folder exist.
struct folder_state {
  bool boot = false;
  bool root = false;
  friend bool operator==(folder_state const&, folder_state const&) = default;
};

/// What is on disk, gathered by scan() (or built by hand in tests).
struct snapshot {
  std::vector<client_record> registered;        ///< the registry, in file order
  std::map<std::string, folder_state> folders;  ///< directories under the two roots (staging excluded)
  std::vector<publish_journal> journals;        ///< unfinished publishes
  std::vector<std::filesystem::path> stale;     ///< staging entries no journal refers to
};

/// Reads the registry and lists both roots and staging folders. Missing roots are empty.
/// Errors: errno codes, read_registry()'s.
[[nodiscard]] result<snapshot> scan(layout_config const& config);

/// Parses the text of a journal file. Errors: errc::bad_registry.
[[nodiscard]] result<publish_journal> parse_journal(std::string_view text);
/// The text of a journal file.
[[nodiscard]] std::string format_journal(publish_journal const& j);

/// What one step does. apply() runs them in order.
enum class step_kind : std::uint8_t {
  finish_publish,  ///< roll an unfinished publish (`journal`) forward
  remove_stale,    ///< delete a staging entry left by an interrupted run (`path`)
  stage,           ///< build `client`'s boot and root trees in staging folders from the golden trees
  publish,  ///< rename the staged trees into place (root first, then boot); `replace` renames an old client
            ///< aside
  reconfigure,     ///< rewrite `client`'s generated files in place (IP, host name or server changed)
  remove,          ///< take `client`'s trees out of view (rename into staging) and delete them
  write_registry,  ///< replace the registry with `registry`
};
[[nodiscard]] std::string_view to_string(step_kind k) noexcept;

/// One step of a plan.
struct step {
  step_kind kind = step_kind::stage;
  std::string folder;
  client_record client;                 ///< stage, publish, reconfigure, remove
  bool replace = false;                 ///< publish
  publish_journal journal;              ///< finish_publish
  std::filesystem::path path;           ///< remove_stale
  std::vector<client_record> registry;  ///< write_registry
  friend bool operator==(step const&, step const&) = default;
};

/// Options of plan().
struct plan_options {
  /// Names the folders of records with an empty folder.
  core::folder_naming scheme = core::folder_naming::serial;
  /// Folders to rebuild even though they exist (and to take over when unregistered): only the
  /// boards the command names. Every other desired client is left as it is on disk.
  std::set<std::string> force;
};

/// Reconciles disk with `desired`, the complete list of clients that should exist (registered
/// clients missing from it are removed). Pure: reads only its arguments.
///
/// - Unfinished publishes are rolled forward first, stale staging entries removed.
/// - A desired client whose folder is registered to an identical record with both trees
///   present needs nothing (so `add` twice plans nothing the second time); a changed IP, host
///   name or server gives `reconfigure`.
/// - A new client gives `stage` + `publish`. A folder that exists on disk but is not registered
///   is errc::client_exists unless its folder is in `force`; a folder in `force` is rebuilt
///   (`publish` with `replace`). `force` never touches a folder it does not name.
/// - A registered client with a tree missing is rebuilt (it is ours).
/// - The registry is rewritten last, only if it changes, so a crash before it leaves the old
///   registry and the next run plans the same work again.
///
/// Errors: errc::missing_identity / errc::invalid_hostname (a folder cannot be named),
/// errc::unsafe_path, errc::folder_collision (two desired clients share a folder),
/// errc::client_exists.
[[nodiscard]] result<std::vector<step>> plan(std::span<const client_record> desired, snapshot const& current,
                                             plan_options const& options);

/// One human-readable line for `--dry-run` (e.g. `stage abcd1234 (serial=abcd1234 ...)`).
[[nodiscard]] std::string describe(step const& s, layout_config const& config);

}  // namespace pinetboot::layout
