#include "pinetboot/layout/board.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

#include "pinetboot/core/file.hpp"
#include "pinetboot/layout/apply.hpp"
#include "pinetboot/layout/copy.hpp"
#include "text_file.hpp"

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

bool exists_nofollow(std::filesystem::path const& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

bool is_dir_nofollow(std::filesystem::path const& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}


std::string pid_suffix() { return "." + std::to_string(::getpid()); }

// Ensures the parent directories of `rel` below `base` exist as real directories (a symlink
// on the way is refused, so nothing is written outside the tree).
std::error_code ensure_parents(std::filesystem::path const& base, std::filesystem::path const& rel) {
  std::filesystem::path p = base;
  for (auto const& part : rel.parent_path()) {
    p /= part;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return errc::unsafe_path;
      continue;
    }
    if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return last_errno();
  }
  return {};
}

// Replaces `to_base/rel` by a copy of `from_base/rel` (a tree or a file); a missing source
// leaves the destination as it is.
std::error_code carry(std::filesystem::path const& from_base, std::filesystem::path const& to_base,
                      std::filesystem::path const& rel) {
  auto from = from_base / rel, to = to_base / rel;
  if (!exists_nofollow(from)) return {};
  if (auto ec = ensure_parents(to_base, rel)) return ec;
  if (exists_nofollow(to))
    if (auto ec = remove_tree(to)) return ec;
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return last_errno();
  if (S_ISDIR(st.st_mode)) {
    copy_options o;
    auto r = copy_tree(from, to, o);
    return r ? std::error_code{} : r.error();
  }
  if (S_ISREG(st.st_mode)) {
    bool ok = false;
    auto text = core::read_file_or_empty(from, &ok);
    if (!ok) return {EIO, std::generic_category()};
    return core::replace_file(to, text, st.st_mode & 07777, core::file_owner{st.st_uid, st.st_gid});
  }
  return {};  // symlinks and specials are not a board's own data
}

// The ssh host keys present in `root` (relative paths).
std::vector<std::string> ssh_keys_in(std::filesystem::path const& root) {
  std::vector<std::string> out;
  std::error_code ec;
  auto dir = root / "etc/ssh";
  if (!is_dir_nofollow(dir)) return out;
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.starts_with("ssh_host_")) out.push_back("etc/ssh/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Everything of the board's own that moves with it from `old_tree` to `new_tree`.
std::error_code carry_board_paths(std::filesystem::path const& old_tree, std::filesystem::path const& new_tree,
                                  image_settings const& s) {
  for (auto const& p : s.persist)
    if (auto ec = carry(old_tree, new_tree, p.substr(1))) return ec;
  for (auto f : identity_files)
    if (auto ec = carry(old_tree, new_tree, std::string{f})) return ec;
  for (auto const& k : ssh_keys_in(old_tree))
    if (auto ec = carry(old_tree, new_tree, k)) return ec;
  return {};
}

std::error_code exchange(std::filesystem::path const& a, std::filesystem::path const& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0) return last_errno();
  return {};
}

// The most recently changed tree a board folder holds (its state, else its newest root).
std::filesystem::path newest_tree(std::filesystem::path const& board) {
  if (is_dir_nofollow(board / "state")) return board / "state";
  std::filesystem::path best;
  std::filesystem::file_time_type best_time{};
  std::error_code ec;
  for (std::filesystem::directory_iterator it{board, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (!name.starts_with("root.g") || !is_dir_nofollow(it->path())) continue;
    auto t = std::filesystem::last_write_time(it->path(), ec);
    if (ec) break;
    if (best.empty() || t > best_time) {
      best = it->path();
      best_time = t;
    }
  }
  return best;
}

// 1 + the highest N of the `root.g<G>.<N>` trees in a board folder.
unsigned next_tree_number(std::filesystem::path const& board) {
  unsigned high = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it{board, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (!name.starts_with("root.g")) continue;
    auto dot = name.find('.', 6);
    if (dot == std::string::npos) continue;
    unsigned n = 0;
    auto [p, e] = std::from_chars(name.data() + dot + 1, name.data() + name.size(), n);
    if (e == std::errc{} && p == name.data() + name.size()) high = std::max(high, n);
  }
  return high + 1;
}

bool owned_path(std::string_view rel, std::vector<std::string> const& owned) {
  for (auto const& o : owned)
    if (rel == o || (rel.size() > o.size() && rel.substr(0, o.size()) == o && rel[o.size()] == '/')) return true;
  return false;
}

// Files of a board's tree that pinetboot writes for it (never compared with the generation).
bool generated_root_path(std::string_view rel) { return rel == "etc/fstab"; }
bool generated_boot_path(std::string_view rel) {
  return rel == "cmdline.txt" || rel == "config.txt" || rel == board_marker_name;
}

}  // namespace

result<board_marker> parse_board_marker(std::string_view text) {
  board_marker m;
  bool has_image = false, has_gen = false, has_tree = false;
  auto ec = detail::for_each_pair(text, errc::bad_registry, [&](std::string_view k, std::string_view v) -> std::error_code {
    if (k == "image") {
      if (check_image_name(v)) return errc::bad_registry;
      m.image = std::string{v};
      has_image = true;
    } else if (k == "gen") {
      auto [p, e] = std::from_chars(v.data(), v.data() + v.size(), m.generation);
      if (e != std::errc{} || p != v.data() + v.size() || m.generation == 0) return errc::bad_registry;
      has_gen = true;
    } else if (k == "model") {
      auto r = parse_root_model(v);
      if (!r) return r.error();
      m.model = *r;
    } else if (k == "tree") {
      if (check_folder(v)) return errc::bad_registry;
      m.tree = std::string{v};
      has_tree = true;
    } else {
      return errc::bad_registry;
    }
    return {};
  });
  if (ec) return ec;
  if (!has_image || !has_gen || !has_tree) return errc::bad_registry;
  return m;
}

std::string format_board_marker(board_marker const& m) {
  return "# what this board runs (written by pinetboot-provision)\nimage=" + m.image +
         "\ngen=" + std::to_string(m.generation) + "\nmodel=" + std::string{to_string(m.model)} + "\ntree=" + m.tree +
         "\n";
}

std::filesystem::path board_dir(layout_config const& c, std::string_view folder) { return c.root_dir(folder); }

result<std::optional<board_marker>> read_board_marker(layout_config const& c, std::string_view folder) {
  bool ok = false;
  auto text = core::read_file_or_empty(c.boot_dir(folder) / board_marker_name, &ok);
  if (!ok) return std::optional<board_marker>{};
  auto m = parse_board_marker(text);
  if (!m) return m.error();
  return std::optional<board_marker>{std::move(*m)};
}

std::vector<std::string> board_owned_paths(image_settings const& s) {
  std::vector<std::string> out;
  for (auto const& p : s.persist) out.push_back(p.substr(1));
  for (auto f : identity_files) out.emplace_back(f);
  for (char const* k : {"ssh_host_ed25519_key", "ssh_host_ecdsa_key", "ssh_host_rsa_key", "ssh_host_dsa_key"}) {
    out.push_back(std::string{"etc/ssh/"} + k);
    out.push_back(std::string{"etc/ssh/"} + k + ".pub");
  }
  return out;
}

std::error_code switch_board(layout_config const& c, client_record const& r, board_hooks const& hooks) {
  auto at = [&](std::string_view point) {
    if (hooks.at) hooks.at(point);
  };
  auto note = [&](std::string const& s) {
    if (hooks.note) hooks.note(s);
  };
  if (auto ec = check_folder(r.folder)) return ec;
  auto gen = generation_path(c, r.image, r.generation);
  if (!is_dir_nofollow(gen / "root") || !is_dir_nofollow(gen / "boot")) return errc::no_such_generation;
  auto settings = read_image_settings(c, r.image);
  if (!settings) return settings.error();

  auto live = read_board_marker(c, r.folder);
  if (!live) return live.error();
  auto const live_boot = c.boot_dir(r.folder);
  auto const live_board = board_dir(c, r.folder);
  bool const has_boot = exists_nofollow(live_boot);
  bool const first = !has_boot && !exists_nofollow(live_board);
  if (has_boot && !*live) return errc::client_exists;  // a boot tree that no generation made
  std::filesystem::path old_tree;
  if (*live && is_dir_nofollow(live_board / (*live)->tree)) {
    old_tree = live_board / (*live)->tree;
  } else if (!has_boot && !first) {
    // The boot tree was lost: the board's own tree is the newest one its folder holds.
    old_tree = newest_tree(live_board);
    if (old_tree.empty()) return errc::client_exists;  // a folder that no generation made
  }

  for (auto const& d : {c.boot_staging_dir(), c.root_staging_dir()}) {
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) return ec;
    if (::chmod(d.c_str(), 0700) != 0) return last_errno();
  }
  // A first board is built whole in staging and published with the journal of apply.hpp;
  // a board that exists gets its new tree beside the old one in its own folder.
  auto const stage_board = first ? c.root_staging_dir() / (r.folder + pid_suffix()) : live_board;
  auto const stage_boot = c.boot_staging_dir() / (r.folder + pid_suffix());
  if (first) {
    if (exists_nofollow(live_board)) return errc::client_exists;
    if (auto ec = remove_tree(stage_board)) return ec;
    if (::mkdir(stage_board.c_str(), 0755) != 0) return last_errno();
  }
  auto fail = [&](std::error_code ec, std::filesystem::path const& partial_tree) {
    (void)remove_tree(stage_boot);
    if (first)
      (void)remove_tree(stage_board);
    else if (!partial_tree.empty())
      (void)remove_tree(partial_tree);
    return ec;
  };

  board_marker m{r.image, r.generation, r.model, {}};
  std::filesystem::path new_tree;
  bool fresh_tree = true;
  auto const gen_prefix = "root.g" + std::to_string(r.generation);
  auto const old_name = old_tree.filename().string();
  if (r.model == root_model::copy && !has_boot && !first &&
      (old_name == gen_prefix || old_name.starts_with(gen_prefix + "."))) {
    // Only the boot tree was lost: the board's root of this generation stays as it is.
    m.tree = old_name;
    new_tree = old_tree;
    fresh_tree = false;
  } else if (r.model == root_model::copy) {
    // Never a name the board folder had before: an NFS server may still resolve a deleted
    // root's name to the deleted directory (NFS-Ganesha's directory cache did after a
    // rollback). The live tree always has the highest number, so the numbers only grow.
    std::string name = gen_prefix + "." + std::to_string(next_tree_number(stage_board));
    m.tree = name;
    new_tree = stage_board / name;
    copy_options o;
    auto copied = copy_tree(gen / "root", new_tree, o);
    if (!copied) return fail(copied.error(), new_tree);
    if (!old_tree.empty()) {
      // Say what the board changed outside its own paths: it stays in the old tree only.
      if ((*live)->model == root_model::copy) {
        auto was = read_generation_manifest(c, (*live)->image, (*live)->generation);
        auto now = scan_manifest(old_tree, "root");
        if (was && now) {
          auto owned = board_owned_paths(*settings);
          auto changes = compare_manifests(*was, *now, [&](std::string_view p) {
            if (!p.starts_with("root/")) return p != "root";
            auto rel = p.substr(5);
            return owned_path(rel, owned) || generated_root_path(rel) || rel == board_init_path;
          });
          for (auto const& ch : changes)
            note(r.folder + ": not carried to generation " + std::to_string(r.generation) + ": " + describe(ch));
        }
      }
      if (auto ec = carry_board_paths(old_tree, new_tree, *settings)) return fail(ec, new_tree);
    }
  } else {
    m.tree = "state";
    new_tree = stage_board / "state";
    if (is_dir_nofollow(new_tree)) {
      fresh_tree = false;  // the board's state stays as it is
    } else {
      auto tmp = stage_board / ("state.new" + pid_suffix());
      if (auto ec = remove_tree(tmp)) return fail(ec, {});
      if (::mkdir(tmp.c_str(), 0755) != 0) return fail(last_errno(), {});
      std::filesystem::path seed = old_tree.empty() ? gen / "root" : old_tree;
      for (auto const& p : settings->persist) {
        auto rel = p.substr(1);
        if (exists_nofollow(seed / rel)) {
          if (auto ec = carry(seed, tmp, rel)) return fail(ec, tmp);
        } else if (is_dir_nofollow(gen / "root" / rel)) {
          if (auto ec = carry(gen / "root", tmp, rel)) return fail(ec, tmp);
        }
      }
      if (!old_tree.empty())
        if (auto ec = carry_board_paths(old_tree, tmp, image_settings{{}, {}})) return fail(ec, tmp);
      if (::rename(tmp.c_str(), new_tree.c_str()) != 0) return fail(last_errno(), tmp);
    }
  }
  at("staged-root");

  {
    copy_options o;
    o.link_files = true;  // the boot files are read-only to the board: share the generation's
    auto copied = copy_tree(gen / "boot", stage_boot, o);
    if (!copied) return fail(copied.error(), fresh_tree ? new_tree : std::filesystem::path{});
  }
  if (*live) {
    // A config.txt the operator edited for this board moves with it.
    bool a = false, b = false;
    auto mine = core::read_file_or_empty(live_boot / "config.txt", &a);
    auto was = core::read_file_or_empty(
        generation_path(c, (*live)->image, (*live)->generation) / "boot/config.txt", &b);
    if (a && (!b || mine != was))
      if (auto ec = core::replace_file(stage_boot / "config.txt", mine, 0644))
        return fail(ec, fresh_tree ? new_tree : std::filesystem::path{});
  }
  if (hooks.customize)
    if (auto ec = hooks.customize(r, m, stage_boot, new_tree))
      return fail(ec, fresh_tree ? new_tree : std::filesystem::path{});
  if (auto ec = core::replace_file(stage_boot / board_marker_name, format_board_marker(m), 0644))
    return fail(ec, fresh_tree ? new_tree : std::filesystem::path{});
  at("staged-boot");

  if (first) {
    publish_journal j{r.folder, stage_boot, stage_board, false};
    auto jp = c.root_staging_dir() / (r.folder + ".journal");
    if (auto ec = write_file_atomic(jp, format_journal(j), 0600)) return fail(ec, {});
    std::error_code ec;
    std::filesystem::create_directories(c.tftp_dir(), ec);
    if (!ec) ec = finish_publish(j, c, false);
    if (ec) return ec;  // the journal rolls it forward
    at("switched");
    if (hooks.switched)
      if (auto e = hooks.switched()) return e;
    if (::unlink(jp.c_str()) != 0 && errno != ENOENT) return last_errno();
    return {};
  }
  if (!has_boot) {
    if (::rename(stage_boot.c_str(), live_boot.c_str()) != 0)
      return fail(last_errno(), fresh_tree ? new_tree : std::filesystem::path{});
  } else if (auto ec = exchange(stage_boot, live_boot)) {
    return fail(ec, fresh_tree ? new_tree : std::filesystem::path{});
  }
  if (auto ec = core::sync_directory(c.tftp_dir())) return ec;
  at("switched");
  if (hooks.switched)
    if (auto ec = hooks.switched()) return ec;
  if (has_boot)
    if (auto ec = remove_tree(stage_boot)) return ec;  // the old boot tree
  return clean_board(c, r.folder, m);
}

std::error_code clean_board(layout_config const& c, std::string_view folder, board_marker const& m) {
  auto dir = board_dir(c, folder);
  std::vector<std::filesystem::path> doomed;
  std::error_code ec;
  if (!is_dir_nofollow(dir)) return {};
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name == m.tree) continue;
    // Only names switch_board() makes: anything else in the folder is the operator's.
    if (name.starts_with("root.g") || name == "state" || name.starts_with("state.new.")) doomed.push_back(it->path());
  }
  if (ec) return ec;
  for (auto const& d : doomed)
    if (auto e = remove_tree(d)) return e;
  return {};
}

result<std::vector<std::string>> verify_board(layout_config const& c, client_record const& r) {
  std::vector<std::string> out;
  auto live = read_board_marker(c, r.folder);
  if (!live) return std::vector<std::string>{"its boot marker is unreadable: " + live.error().message()};
  if (!exists_nofollow(c.boot_dir(r.folder))) return std::vector<std::string>{"boot tree missing"};
  if (!*live) return std::vector<std::string>{"boot tree has no generation marker"};
  auto const& m = **live;
  if (m.image != r.image || m.generation != r.generation || m.model != r.model)
    out.push_back("boots " + m.image + " generation " + std::to_string(m.generation) + " (" +
                  std::string{to_string(m.model)} + ") but the registry says " + r.image + " generation " +
                  std::to_string(r.generation) + " (" + std::string{to_string(r.model)} + "): run `repair`");
  auto manifest = read_generation_manifest(c, m.image, m.generation);
  if (!manifest) return manifest.error();
  auto settings = read_image_settings(c, m.image);
  if (!settings) return settings.error();
  auto boot = scan_manifest(c.boot_dir(r.folder), "boot");
  if (!boot) return boot.error();
  for (auto const& ch : compare_manifests(*manifest, *boot, [](std::string_view p) {
         if (p == "root" || p.starts_with("root/")) return true;
         return p.starts_with("boot/") && generated_boot_path(p.substr(5));
       }))
    out.push_back(describe(ch));
  auto tree = board_dir(c, r.folder) / m.tree;
  if (!is_dir_nofollow(tree)) {
    out.push_back((m.model == root_model::copy ? "root tree missing: " : "state tree missing: ") + tree.string());
    return out;
  }
  if (m.model == root_model::copy) {
    auto root = scan_manifest(tree, "root");
    if (!root) return root.error();
    auto owned = board_owned_paths(*settings);
    for (auto const& ch : compare_manifests(*manifest, *root, [&](std::string_view p) {
           if (!p.starts_with("root/")) return p != "root";
           auto rel = p.substr(5);
           return owned_path(rel, owned) || generated_root_path(rel);
         }))
      out.push_back(describe(ch));
  }
  return out;
}

}  // namespace pinetboot::layout
