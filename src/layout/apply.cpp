#include "pinetboot/layout/apply.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <utility>

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

std::string pid_suffix() { return "." + std::to_string(::getpid()); }

bool exists_nofollow(std::filesystem::path const& p) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(p, ec));
}

std::error_code ensure_dir(std::filesystem::path const& p) {
  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  return ec;
}

// Staging folders are 0700: nobody (a TFTP or NFS daemon included) may read a half-built tree.
std::error_code ensure_staging_dir(std::filesystem::path const& p) {
  if (auto ec = ensure_dir(p)) return ec;
  if (::chmod(p.c_str(), 0700) != 0) return last_errno();
  return {};
}

std::filesystem::path journal_path(layout_config const& config, std::string_view folder) {
  return config.root_staging_dir() / (std::string{folder} + ".journal");
}

struct staged {
  std::filesystem::path boot, root;
};

}  // namespace

std::error_code finish_publish(publish_journal const& journal, layout_config const& config,
                               bool drop_journal) {
  std::vector<std::filesystem::path> aside;
  // Root first, then boot: see the file comment in apply.hpp.
  std::pair<std::filesystem::path, std::filesystem::path> const moves[] = {
      {journal.root_staging, config.root_dir(journal.folder)},
      {journal.boot_staging, config.boot_dir(journal.folder)},
  };
  for (auto const& [from, to] : moves) {
    if (!exists_nofollow(from)) continue;  // already renamed before the crash
    if (exists_nofollow(to)) {
      if (!journal.replace) return errc::client_exists;
      auto old = from.parent_path() / (journal.folder + ".old" + pid_suffix());
      if (::rename(to.c_str(), old.c_str()) != 0) return last_errno();
      aside.push_back(old);
    }
    if (::rename(from.c_str(), to.c_str()) != 0) return last_errno();
  }
  for (auto const& old : aside)
    if (auto ec = remove_tree(old)) return ec;
  if (!drop_journal) return {};
  auto j = journal_path(config, journal.folder);
  if (::unlink(j.c_str()) != 0 && errno != ENOENT) return last_errno();
  return {};
}

std::error_code apply(std::span<const step> steps, layout_config const& config,
                      apply_options const& options) {
  progress prog;
  for (auto const& s : steps) {
    if (s.kind != step_kind::stage) continue;
    auto boot = tree_bytes(options.golden_boot);
    if (!boot) return boot.error();
    auto root = tree_bytes(options.golden_root);
    if (!root) return root.error();
    prog.bytes_total += *boot + *root;
  }
  std::map<std::string, staged> staged_by_folder;
  // Journals are deleted only after every step, the registry write included, has succeeded:
  // until then a journal is what marks a published but unregistered folder as ours.
  std::vector<std::string> journals_done;

  for (auto const& s : steps) {
    if (options.on_step) options.on_step(s);
    switch (s.kind) {
      case step_kind::finish_publish:
        if (auto ec = finish_publish(s.journal, config, false)) return ec;
        journals_done.push_back(s.folder);
        break;
      case step_kind::remove_stale:
        if (auto ec = remove_tree(s.path)) return ec;
        break;
      case step_kind::stage: {
        if (auto ec = check_folder(s.folder)) return ec;
        if (auto ec = ensure_staging_dir(config.boot_staging_dir())) return ec;
        if (auto ec = ensure_staging_dir(config.root_staging_dir())) return ec;
        staged st{config.boot_staging_dir() / (s.folder + pid_suffix()),
                  config.root_staging_dir() / (s.folder + pid_suffix())};
        prog.folder = s.folder;
        auto on_bytes = [&](std::uint64_t n) {
          prog.bytes_done += n;
          return !options.on_progress || options.on_progress(prog);
        };
        copy_options boot_opt{options.preserve_owner, options.link_boot, true, on_bytes};
        copy_options root_opt{options.preserve_owner, false, true, on_bytes};
        std::error_code ec;
        if (auto r = copy_tree(options.golden_boot, st.boot, boot_opt); !r) ec = r.error();
        if (!ec)
          if (auto r = copy_tree(options.golden_root, st.root, root_opt); !r) ec = r.error();
        if (!ec && options.customize) ec = options.customize(s.client, st.boot, st.root);
        if (ec) {
          (void)remove_tree(st.boot);
          (void)remove_tree(st.root);
          return ec;
        }
        staged_by_folder[s.folder] = std::move(st);
        break;
      }
      case step_kind::publish: {
        auto it = staged_by_folder.find(s.folder);
        if (it == staged_by_folder.end()) return {EINVAL, std::generic_category()};  // plan bug
        publish_journal j{s.folder, it->second.boot, it->second.root, s.replace};
        if (auto ec = write_file_atomic(journal_path(config, s.folder), format_journal(j), 0600)) return ec;
        if (auto ec = ensure_dir(config.tftp_dir())) return ec;
        if (auto ec = ensure_dir(config.nfs_dir())) return ec;
        if (auto ec = finish_publish(j, config, false)) return ec;
        journals_done.push_back(s.folder);
        staged_by_folder.erase(it);
        break;
      }
      case step_kind::reconfigure:
        if (options.customize) {
          if (auto ec = options.customize(s.client, config.boot_dir(s.folder), config.root_dir(s.folder)))
            return ec;
        }
        break;
      case step_kind::remove: {
        if (auto ec = check_folder(s.folder)) return ec;
        // Boot first: the board stops booting before its root disappears.
        std::pair<std::filesystem::path, std::filesystem::path> const trees[] = {
            {config.boot_dir(s.folder), config.boot_staging_dir()},
            {config.root_dir(s.folder), config.root_staging_dir()},
        };
        std::vector<std::filesystem::path> doomed;
        for (auto const& [tree, staging] : trees) {
          if (!exists_nofollow(tree)) continue;
          if (auto ec = ensure_staging_dir(staging)) return ec;
          auto aside = staging / (s.folder + ".rm" + pid_suffix());
          if (::rename(tree.c_str(), aside.c_str()) != 0) return last_errno();
          doomed.push_back(aside);
        }
        for (auto const& d : doomed)
          if (auto ec = remove_tree(d)) return ec;
        break;
      }
      case step_kind::write_registry:
        if (auto ec = write_file_atomic(config.registry_file(), format_registry(s.registry))) return ec;
        break;
    }
  }
  for (auto const& folder : journals_done) {
    auto j = journal_path(config, folder);
    if (::unlink(j.c_str()) != 0 && errno != ENOENT) return last_errno();
  }
  return {};
}

}  // namespace pinetboot::layout
