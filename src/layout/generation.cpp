#include "pinetboot/layout/generation.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include "pinetboot/core/file.hpp"
#include "pinetboot/layout/copy.hpp"
#include "text_file.hpp"

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

constexpr std::string_view staging_name = ".staging";


bool parse_unsigned(std::string_view s, unsigned& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

std::string utc_now() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::error_code ensure_dir(std::filesystem::path const& p, unsigned mode = 0755) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0) return S_ISDIR(st.st_mode) ? std::error_code{} : errc::unsafe_path;
  if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) return last_errno();
  return {};
}

// A file we own in a generation's root: never written through a symlink the image put there.
std::error_code write_owned(std::filesystem::path const& root, std::string_view rel, std::string_view content,
                            unsigned mode) {
  std::filesystem::path p = root;
  std::filesystem::path r{std::string{rel}};
  auto parent = r.parent_path();
  for (auto const& part : parent) {
    p /= part;
    if (auto ec = ensure_dir(p)) return ec;
  }
  return core::replace_file(root / r, content, mode, core::file_owner{0, 0});
}

bool has_xattrs(std::filesystem::path const& p) {
  auto n = ::llistxattr(p.c_str(), nullptr, 0);
  return n > 0;
}

// The generation's shared parts must carry no identity: every board gets its own.
std::error_code prepare_root(std::filesystem::path const& root) {
  if (auto ec = write_owned(root, board_init_path, board_init_script(), 0755)) return ec;
  for (char const* d : {"proc", "sys", "dev", "run", "tmp", "etc", "home"})
    if (auto ec = ensure_dir(root / d)) return ec;
  for (auto f : identity_files) {
    struct stat st {};
    auto p = root / std::string{f};
    bool exists = ::lstat(p.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) continue;  // a symlink (e.g. to /run) is the image's choice
    // machine-id must be empty in a shared root; hostname and hosts are placeholders that
    // board-init binds each board's own file over.
    if (!exists || std::string_view{f} == "etc/machine-id")
      if (auto ec = core::replace_file(p, "", 0444 | (std::string_view{f} == "etc/machine-id" ? 0 : 0200),
                                       core::file_owner{0, 0}))
        return ec;
  }
  std::error_code ec;
  auto ssh = root / "etc/ssh";
  if (std::filesystem::is_directory(std::filesystem::symlink_status(ssh, ec))) {
    for (char const* k : {"ssh_host_ed25519_key", "ssh_host_ecdsa_key", "ssh_host_rsa_key"}) {
      for (std::string name : {std::string{k}, std::string{k} + ".pub"}) {
        // Host keys in the image would be shared by every board: replace them with placeholders.
        if (auto e = core::replace_file(ssh / name, "", name.ends_with(".pub") ? 0644 : 0600, core::file_owner{0, 0}))
          return e;
      }
    }
  }
  return {};
}

std::error_code share_with_parent(std::filesystem::path const& dir, std::filesystem::path const& parent_dir,
                                  std::vector<manifest_entry> const& mine,
                                  std::vector<manifest_entry> const& parent, commit_stats& st) {
  std::map<std::string_view, manifest_entry const*> by_path;
  for (auto const& e : parent)
    if (e.type == 'f') by_path.emplace(e.path, &e);
  std::set<std::pair<dev_t, ino_t>> done;
  for (auto const& e : mine) {
    if (e.type != 'f' || e.size == 0) continue;
    auto it = by_path.find(e.path);
    if (it == by_path.end()) continue;
    auto const& p = *it->second;
    if (p.sha256 != e.sha256 || p.size != e.size || p.mode != e.mode || p.uid != e.uid || p.gid != e.gid) continue;
    auto from = parent_dir / e.path, to = dir / e.path;
    if (has_xattrs(from) || has_xattrs(to)) continue;  // capabilities etc.: keep a copy of its own
    auto tmp = to;
    tmp += ".pinetboot-link";
    if (::link(from.c_str(), tmp.c_str()) != 0) {
      if (errno == EMLINK || errno == EXDEV) continue;
      return last_errno();
    }
    if (::rename(tmp.c_str(), to.c_str()) != 0) {
      auto ec = last_errno();
      ::unlink(tmp.c_str());
      return ec;
    }
    ++st.shared_files;
    st.shared_bytes += e.size;
  }
  return {};
}

}  // namespace

// --- settings and info -----------------------------------------------------------------------

std::error_code check_state_path(std::string_view p) noexcept {
  if (p.size() < 2 || p.front() != '/' || p.back() == '/' || p.size() > 255) return errc::unsafe_path;
  for (char c : p) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == ',' || c == '"' || c == '\'' || c == '\\' || c == '$' || c == '`')
      return errc::unsafe_path;
  }
  if (p.find("/../") != std::string_view::npos || p.find("/./") != std::string_view::npos ||
      p.find("//") != std::string_view::npos || p.ends_with("/..") || p.ends_with("/."))
    return errc::unsafe_path;
  return {};
}

result<image_settings> parse_image_settings(std::string_view text) {
  image_settings s;
  auto ec = detail::for_each_pair(text, errc::bad_manifest, [&](std::string_view k, std::string_view v) -> std::error_code {
    std::vector<std::string>* list = nullptr;
    if (k == "persist")
      list = &s.persist;
    else if (k == "volatile")
      list = &s.volatile_paths;
    else
      return errc::bad_manifest;
    list->clear();
    while (!v.empty()) {
      auto comma = v.find(',');
      auto item = v.substr(0, comma);
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      if (check_state_path(item)) return errc::bad_manifest;
      list->emplace_back(item);
    }
    return {};
  });
  if (ec) return ec;
  return s;
}

std::string format_image_settings(image_settings const& s) {
  auto join = [](std::vector<std::string> const& v) {
    std::string out;
    for (auto const& p : v) out += (out.empty() ? "" : ",") + p;
    return out;
  };
  return "# pinetboot image settings: per-board (persist) and tmpfs (volatile) paths of shared roots\npersist=" +
         join(s.persist) + "\nvolatile=" + join(s.volatile_paths) + "\n";
}

result<generation_info> parse_generation_info(std::string_view text) {
  generation_info g;
  auto ec = detail::for_each_pair(text, errc::bad_manifest, [&](std::string_view k, std::string_view v) -> std::error_code {
    for (char c : v)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return errc::bad_manifest;  // one line each
    if (k == "generation") {
      if (!parse_unsigned(v, g.number) || g.number == 0) return errc::bad_manifest;
    } else if (k == "parent") {
      if (!parse_unsigned(v, g.parent)) return errc::bad_manifest;
    } else if (k == "source") {
      g.source = std::string{v};
    } else if (k == "created") {
      g.created = std::string{v};
    } else if (k == "sharing") {
      g.sharing = std::string{v};
    } else {
      return errc::bad_manifest;
    }
    return {};
  });
  if (ec) return ec;
  if (g.number == 0) return errc::bad_manifest;
  return g;
}

std::string format_generation_info(generation_info const& g) {
  auto clean = [](std::string s) {
    std::replace_if(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');
    return s;
  };
  return "generation=" + std::to_string(g.number) + "\nparent=" + std::to_string(g.parent) +
         "\nsource=" + clean(g.source) + "\ncreated=" + clean(g.created) + "\nsharing=" + clean(g.sharing) + "\n";
}

// --- the store -------------------------------------------------------------------------------

std::filesystem::path image_path(layout_config const& c, std::string_view image) {
  return c.image_dir() / std::string{image};
}
std::filesystem::path generation_path(layout_config const& c, std::string_view image, unsigned n) {
  return image_path(c, image) / std::to_string(n);
}
std::filesystem::path exported_generation_root(layout_config const& c, std::string_view image, unsigned n) {
  return c.image_root / std::string{image} / std::to_string(n) / "root";
}

result<std::vector<std::string>> list_images(layout_config const& c) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(c.image_dir(), ec)) return out;
  for (std::filesystem::directory_iterator it{c.image_dir(), ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (check_image_name(name) || !it->is_directory(ec) || it->is_symlink(ec)) continue;
    out.push_back(std::move(name));
  }
  if (ec) return ec;
  std::sort(out.begin(), out.end());
  return out;
}

result<std::vector<unsigned>> list_generations(layout_config const& c, std::string_view image) {
  if (check_image_name(image)) return errc::bad_image_name;
  auto dir = image_path(c, image);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return errc::no_such_image;
  std::vector<unsigned> out;
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    unsigned n = 0;
    auto name = it->path().filename().string();
    if (!parse_unsigned(name, n) || n == 0 || name[0] == '0' || !it->is_directory(ec)) continue;
    out.push_back(n);
  }
  if (ec) return ec;
  std::sort(out.begin(), out.end());
  return out;
}

result<unsigned> latest_generation(layout_config const& c, std::string_view image) {
  auto gens = list_generations(c, image);
  if (!gens) return gens.error();
  if (gens->empty()) return errc::no_such_generation;
  return gens->back();
}

result<generation_info> read_generation_info(layout_config const& c, std::string_view image, unsigned n) {
  bool ok = false;
  auto text = core::read_file_or_empty(generation_path(c, image, n) / "info", &ok);
  if (!ok) return errc::no_such_generation;
  return parse_generation_info(text);
}

result<std::vector<manifest_entry>> read_generation_manifest(layout_config const& c, std::string_view image,
                                                             unsigned n) {
  bool ok = false;
  auto text = core::read_file_or_empty(generation_path(c, image, n) / "manifest", &ok);
  if (!ok) return errc::no_such_generation;
  return parse_manifest(text);
}

result<image_settings> read_image_settings(layout_config const& c, std::string_view image) {
  if (check_image_name(image)) return errc::bad_image_name;
  std::error_code ec;
  if (!std::filesystem::is_directory(image_path(c, image), ec)) return errc::no_such_image;
  bool ok = false;
  auto text = core::read_file_or_empty(image_path(c, image) / "image.conf", &ok);
  if (!ok) return image_settings{};
  return parse_image_settings(text);
}

std::error_code write_image_settings(layout_config const& c, std::string_view image, image_settings const& s) {
  return write_file_atomic(image_path(c, image) / "image.conf", format_image_settings(s));
}

result<std::size_t> remove_stale_drafts(layout_config const& c, std::string_view image) {
  if (auto ec = check_image_name(image)) return ec;
  auto staging = image_path(c, image) / staging_name;
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(staging, ec))) return std::size_t{0};
  // Writers hold the registry lock: what is here belongs to a run that died.
  std::vector<std::filesystem::path> dead;
  for (std::filesystem::directory_iterator it{staging, ec}, end; !ec && it != end; it.increment(ec))
    dead.push_back(it->path());
  if (ec) return ec;
  for (auto const& d : dead)
    if (auto e = remove_tree(d)) return e;
  return dead.size();
}

result<generation_draft> begin_generation(layout_config const& c, std::string_view image) {
  if (auto ec = check_image_name(image)) return ec;
  std::error_code ec;
  std::filesystem::create_directories(image_path(c, image) / staging_name, ec);
  if (ec) return ec;
  auto staging = image_path(c, image) / staging_name;
  if (::chmod(staging.c_str(), 0700) != 0) return last_errno();
  if (auto r = remove_stale_drafts(c, image); !r) return r.error();
  auto gens = list_generations(c, image);
  if (!gens) return gens.error();
  generation_draft d;
  d.image = std::string{image};
  d.number = gens->empty() ? 1 : gens->back() + 1;
  if (d.number > max_generation) return errc::no_such_generation;
  d.dir = staging / (std::to_string(d.number) + "." + std::to_string(::getpid()));
  if (::mkdir(d.dir.c_str(), 0700) != 0) return last_errno();
  return d;
}

result<bool> copy_parent_generation(layout_config const& c, generation_draft& draft, unsigned parent) {
  auto from = generation_path(c, draft.image, parent);
  draft.parent = parent;
  copy_options o;
  o.preserve_owner = true;
  o.reflink = true;
  auto boot = copy_tree(from / "boot", draft.dir / "boot", o);
  if (!boot) return boot.error();
  auto root = copy_tree(from / "root", draft.dir / "root", o);
  if (!root) return root.error();
  return root->reflinked > 0 || boot->reflinked > 0;
}

result<commit_stats> commit_generation(layout_config const& c, generation_draft const& draft, generation_info info,
                                       bool reflinked, std::function<void(std::uint64_t)> on_bytes) {
  if (auto ec = prepare_root(draft.dir / "root")) return ec;
  auto boot = scan_manifest(draft.dir / "boot", "boot", on_bytes);
  if (!boot) return boot.error();
  auto root = scan_manifest(draft.dir / "root", "root", on_bytes);
  if (!root) return root.error();
  std::vector<manifest_entry> all = std::move(*boot);
  all.insert(all.end(), std::make_move_iterator(root->begin()), std::make_move_iterator(root->end()));
  commit_stats st;
  for (auto const& e : all)
    if (e.type == 'f') {
      ++st.files;
      st.bytes += e.size;
    }
  st.sharing = draft.parent == 0 ? "none" : reflinked ? "reflink" : "hardlink";
  if (draft.parent != 0 && !reflinked) {
    auto parent = read_generation_manifest(c, draft.image, draft.parent);
    if (!parent) return parent.error();
    if (auto ec = share_with_parent(draft.dir, generation_path(c, draft.image, draft.parent), all, *parent, st))
      return ec;
  }
  info.number = draft.number;
  info.parent = draft.parent;
  info.sharing = st.sharing;
  if (info.created.empty()) info.created = utc_now();
  if (auto ec = core::replace_file(draft.dir / "manifest", format_manifest(all), 0644)) return ec;
  if (auto ec = core::replace_file(draft.dir / "info", format_generation_info(info), 0644)) return ec;
  if (::chmod(draft.dir.c_str(), 0755) != 0) return last_errno();
  auto target = generation_path(c, draft.image, draft.number);
  if (::rename(draft.dir.c_str(), target.c_str()) != 0) return last_errno();
  if (auto ec = core::sync_directory(image_path(c, draft.image))) return ec;
  return st;
}

std::error_code abort_generation(generation_draft const& draft) { return remove_tree(draft.dir); }

std::error_code remove_generation(layout_config const& c, std::string_view image, unsigned n) {
  auto dir = generation_path(c, image, n);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return errc::no_such_generation;
  auto staging = image_path(c, image) / staging_name;
  std::filesystem::create_directories(staging, ec);
  if (ec) return ec;
  auto aside = staging / (std::to_string(n) + ".rm." + std::to_string(::getpid()));
  if (::rename(dir.c_str(), aside.c_str()) != 0) return last_errno();
  return remove_tree(aside);
}

result<std::vector<std::pair<unsigned, std::uint64_t>>> generation_bytes(layout_config const& c,
                                                                         std::string_view image) {
  auto gens = list_generations(c, image);
  if (!gens) return gens.error();
  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<std::pair<unsigned, std::uint64_t>> out;
  for (unsigned g : *gens) {
    std::uint64_t bytes = 0;
    std::error_code ec;
    auto dir = generation_path(c, image, g);
    for (std::filesystem::recursive_directory_iterator it{dir, std::filesystem::directory_options::none, ec}, end;
         !ec && it != end; it.increment(ec)) {
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0) continue;
      if (!seen.emplace(st.st_dev, st.st_ino).second) continue;
      bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
    if (ec) return ec;
    out.emplace_back(g, bytes);
  }
  return out;
}

std::string_view board_init_script() noexcept {
  return R"sh(#!/bin/sh
# pinetboot board-init (generated; part of every generation, do not edit).
# A board on a shared read-only root runs this as init= from its own cmdline.txt:
#   pinetboot.state=SERVER:/PATH   its per-board state tree (NFS, read-write)
#   pinetboot.persist=/a,/b        paths bound from the state tree (kept across reboots)
#   pinetboot.volatile=/c,/d       paths on tmpfs (lost at reboot)
# Identity files (hostname, hosts, machine-id, ssh host keys) are bound from the state tree
# too. Then /sbin/init runs as usual; on any failure the board boots without state.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc 2>/dev/null
state= persist= volatile= nfsopts=vers=3,proto=tcp,mountproto=tcp,nolock
for a in $(cat /proc/cmdline); do
  case $a in
    pinetboot.state=*) state=${a#pinetboot.state=} ;;
    pinetboot.persist=*) persist=${a#pinetboot.persist=} ;;
    pinetboot.volatile=*) volatile=${a#pinetboot.volatile=} ;;
    pinetboot.nfsopts=*) nfsopts=${a#pinetboot.nfsopts=} ;;
  esac
done
say() { echo "pinetboot board-init: $*" >/dev/console 2>/dev/null || echo "pinetboot board-init: $*"; }
# /run may be a mount point already (an initramfs moves its /run into the root). Read from
# /proc/mounts by the shell itself: busybox builds (Debian's among them) have no mountpoint.
run_mounted=
while read -r _dev _dir _rest; do [ "$_dir" = /run ] && run_mounted=1; done </proc/mounts
[ -n "$run_mounted" ] || mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
s=/run/pinetboot/state
mkdir -p $s
if [ -n "$state" ] && mount -t nfs -o "$nfsopts,addr=${state%%:*}" "$state" $s; then
  oldifs=$IFS
  IFS=,
  for p in $persist; do
    [ -d "$p" ] && [ -d "$s$p" ] && mount --bind "$s$p" "$p"
  done
  IFS=$oldifs
  for f in /etc/hostname /etc/hosts /etc/machine-id $s/etc/ssh/ssh_host_*; do
    f=${f#$s}
    [ -f "$s$f" ] && [ -e "$f" ] && mount --bind "$s$f" "$f"
  done
else
  say "cannot mount the state tree '$state'; booting without per-board state"
fi
oldifs=$IFS
IFS=,
for p in $volatile; do
  case $p in /tmp | /var/tmp) m=1777 ;; *) m=0755 ;; esac
  [ -d "$p" ] && mount -t tmpfs -o mode=$m,nosuid,nodev tmpfs "$p"
done
IFS=$oldifs
[ -s /etc/hostname ] && hostname "$(cat /etc/hostname)"
exec /sbin/init "$@"
)sh";
}

}  // namespace pinetboot::layout
