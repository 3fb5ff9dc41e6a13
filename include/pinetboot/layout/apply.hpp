/// @file
/// @brief The disk half of the layout manager: apply() carries out the steps of plan().
///
/// Crash safety. A client appears atomically:
///  1. `stage` copies the golden trees into `<root>/.pinetboot-staging/<folder>.<pid>` (one per
///     root, same file system as the target, so rename is atomic) and runs the customize hook
///     (fstab, cmdline.txt). An interrupted stage leaves only staging entries, which the next
///     scan() reports as stale and the next plan removes.
///  2. `publish` writes `<nfs_root>/.pinetboot-staging/<folder>.journal` (atomically), then
///     renames the ROOT tree into place and then the BOOT tree. Root
///     goes first because the boot tree is what makes a board boot (the firmware probes its
///     prefix folder): a visible boot tree always has its root behind it. A crash between the
///     two renames leaves root published, boot staged and the journal: scan() reports the
///     journal and the next plan begins with `finish_publish`, which redoes the remaining
///     renames (roll forward; both trees were complete when the journal was written).
///  3. With `replace` (--force) each old tree is first renamed aside to
///     `.pinetboot-staging/<folder>.old.<pid>`, the new one renamed in, and the old one deleted
///     after both renames; a crash leaves the `.old` entry as stale staging, removed next run.
///  4. The registry is written last (write_registry) and only then are the journals deleted. A
///     journal thus also marks a published but not yet registered folder as ours: plan() turns
///     it into `reconfigure` + registry write instead of refusing an "existing" folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string_view>
#include <system_error>

#include "pinetboot/layout/copy.hpp"
#include "pinetboot/layout/plan.hpp"

namespace pinetboot::layout {

/// Progress of a running apply(): bytes of file data copied so far out of the total of all
/// `stage` steps (counted before the first copy).
struct progress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::string_view folder;  ///< the client being staged
};

/// How apply() works.
struct apply_options {
  std::filesystem::path golden_boot;  ///< source of every `stage` boot tree
  std::filesystem::path golden_root;  ///< source of every `stage` root tree
  bool link_boot = false;             ///< hard-link boot files to golden_boot instead of copying
  bool preserve_owner = true;         ///< see copy_options
  /// Writes the client's generated files (fstab, cmdline.txt) into freshly staged trees or,
  /// for `reconfigure`, into the published ones. May be empty.
  std::function<std::error_code(client_record const&, std::filesystem::path const& boot_dir,
                                std::filesystem::path const& root_dir)>
      customize;
  /// Called during copies; return false to cancel (apply() returns errc::cancelled).
  std::function<bool(progress const&)> on_progress;
  /// Called before each step (logging).
  std::function<void(step const&)> on_step;
};

/// Runs `steps` in order and stops at the first failure. A failed `stage` removes its staging
/// folders. Errors: errno codes, copy_tree()'s, errc::client_exists (a folder appeared that
/// the plan thought free, and `replace` is false), errc::cancelled, the customize hook's.
[[nodiscard]] std::error_code apply(std::span<const step> steps, layout_config const& config,
                                    apply_options const& options);

/// Redoes the renames of an unfinished publish (what step finish_publish runs) and, if
/// `drop_journal`, deletes its journal. Idempotent. Errors: errno codes, errc::client_exists.
[[nodiscard]] std::error_code finish_publish(publish_journal const& journal, layout_config const& config,
                                             bool drop_journal = true);

}  // namespace pinetboot::layout
