#include "pinetboot/layout/image.hpp"

#include "pinetboot/core/file.hpp"
#include "text_file.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

extern char** environ;

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }


// debugfs's command parser takes double-quoted arguments but has no escape for '"' itself.
bool quotable(std::string_view s) noexcept {
  for (char c : s)
    if (c == '"' || c == '\n' || c == '\r') return false;
  return true;
}

// Runs `commands` (one per line) through `debugfs -f` and returns, per command, the lines it
// printed. debugfs echoes each command as "debugfs: <command>" on stdout before its output;
// error messages go to stderr, so a failed command simply has no lines.
result<std::vector<std::vector<std::string>>> debugfs_batch(std::string const& spec,
                                                            std::vector<std::string> const& commands,
                                                            std::filesystem::path const& scratch) {
  std::vector<std::vector<std::string>> out(commands.size());
  if (commands.empty()) return out;
  auto cmd_file = scratch / "debugfs.cmd";
  auto out_file = scratch / "debugfs.out";
  {
    std::ofstream f{cmd_file, std::ios::binary | std::ios::trunc};
    for (auto const& c : commands) f << c << '\n';
    if (!f) return std::error_code{EIO, std::generic_category()};
  }
  auto ec = run_tool({"debugfs", "-f", cmd_file.string(), spec}, out_file, "/dev/null");
  std::error_code ignored;
  std::filesystem::remove(cmd_file, ignored);
  if (ec) {
    std::filesystem::remove(out_file, ignored);
    return ec;
  }
  std::istringstream text{core::read_file_or_empty(out_file)};
  std::filesystem::remove(out_file, ignored);
  std::size_t next = 0;
  std::size_t current = commands.size();  // none yet
  for (std::string line; std::getline(text, line);) {
    if (next < commands.size() && line == "debugfs: " + commands[next]) {
      current = next++;
      continue;
    }
    if (current < commands.size()) out[current].push_back(line);
  }
  return out;
}

struct ext4_entry {
  std::filesystem::path path;  // below the destination
  std::string image_path;      // inside the file system
  unsigned long ino = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Parses "/ino/mode/uid/gid/name/size/" (debugfs `ls -p`).
bool parse_ls_line(std::string const& line, ext4_entry& e, std::string& name) {
  if (line.size() < 2 || line.front() != '/' || line.back() != '/') return false;
  std::vector<std::string> f;
  std::size_t pos = 1;
  while (pos < line.size()) {
    auto next = line.find('/', pos);
    if (next == std::string::npos) return false;
    f.push_back(line.substr(pos, next - pos));
    pos = next + 1;
  }
  if (f.size() != 6) return false;
  try {
    e.ino = std::stoul(f[0]);
    e.mode = static_cast<mode_t>(std::stoul(f[1], nullptr, 8));
    e.uid = static_cast<uid_t>(std::stoul(f[2]));
    e.gid = static_cast<gid_t>(std::stoul(f[3]));
  } catch (...) {
    return false;
  }
  name = f[4];
  return !name.empty() && name != "." && name != "..";
}

// debugfs rdump writes every hard link as a separate file, skips FIFOs and device nodes, drops
// extended attributes and calls chmod before chown, which clears set-uid bits (sudo would stop
// working). This pass asks debugfs for the real metadata and repairs the dumped tree.
std::error_code fix_up_ext4(std::string const& spec, std::filesystem::path const& dest,
                            std::filesystem::path const& scratch) {
  bool root = ::geteuid() == 0;
  std::vector<std::string> dirs{"/"};
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator{dest, ec};
       !ec && it != std::filesystem::recursive_directory_iterator{}; it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_directory(ec)) continue;
    auto rel = "/" + it->path().lexically_relative(dest).string();
    if (quotable(rel)) dirs.push_back(rel);
  }
  if (ec) return ec;
  // Directory times as rdump set them (from the image); restored after the links/nodes below.
  std::map<std::string, struct stat> dir_times;
  for (auto const& d : dirs) {
    struct stat st {};
    if (::lstat((dest / std::filesystem::path{d}.relative_path()).c_str(), &st) == 0) dir_times[d] = st;
  }
  std::vector<std::string> cmds;
  for (auto const& d : dirs) cmds.push_back("ls -p \"" + d + "\"");
  auto listing = debugfs_batch(spec, cmds, scratch);
  if (!listing) return listing.error();

  std::vector<ext4_entry> entries;
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    for (auto const& line : (*listing)[i]) {
      ext4_entry e;
      std::string name;
      if (!parse_ls_line(line, e, name)) continue;
      e.image_path = dirs[i] == "/" ? "/" + name : dirs[i] + "/" + name;
      e.path = dest / std::filesystem::path{e.image_path}.relative_path();
      if (quotable(e.image_path)) entries.push_back(std::move(e));
    }
  }

  // Hard links and special files.
  std::map<unsigned long, std::filesystem::path> first_path;
  std::vector<ext4_entry const*> devices;
  for (auto const& e : entries) {
    auto type = e.mode & S_IFMT;
    if (type == S_IFREG) {
      auto [it, fresh] = first_path.emplace(e.ino, e.path);
      if (fresh) continue;
      struct stat a {
      }, b{};
      if (::lstat(it->second.c_str(), &a) != 0) continue;
      if (::lstat(e.path.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
      ::unlink(e.path.c_str());
      if (::link(it->second.c_str(), e.path.c_str()) != 0) return {errno, std::generic_category()};
    } else if (type == S_IFIFO) {
      ::unlink(e.path.c_str());
      if (::mkfifo(e.path.c_str(), 0600) != 0) return {errno, std::generic_category()};
    } else if ((type == S_IFCHR || type == S_IFBLK) && root) {
      devices.push_back(&e);
    }
  }
  if (!devices.empty()) {
    cmds.clear();
    for (auto const* e : devices) cmds.push_back("stat \"" + e->image_path + "\"");
    auto stats = debugfs_batch(spec, cmds, scratch);
    if (!stats) return stats.error();
    for (std::size_t i = 0; i < devices.size(); ++i) {
      for (auto const& line : (*stats)[i]) {
        unsigned major = 0, minor = 0;
        if (std::sscanf(line.c_str(), "Device major/minor number: %u:%u", &major, &minor) != 2) continue;
        ::unlink(devices[i]->path.c_str());
        if (::mknod(devices[i]->path.c_str(), (devices[i]->mode & S_IFMT) | 0600, ::makedev(major, minor)) !=
            0)
          return {errno, std::generic_category()};
      }
    }
  }

  // Owners, then modes (chown clears set-id bits), then xattrs (chown also drops capabilities).
  for (auto const& e : entries) {
    struct stat st {};
    if (::lstat(e.path.c_str(), &st) != 0) continue;  // sockets, devices as non-root
    if (root) (void)::lchown(e.path.c_str(), e.uid, e.gid);
    if (!S_ISLNK(st.st_mode)) (void)::chmod(e.path.c_str(), e.mode & 07777);
  }
  cmds.clear();
  std::vector<ext4_entry const*> xattr_owner;
  for (auto const& e : entries) {
    auto type = e.mode & S_IFMT;
    if (type != S_IFREG && type != S_IFDIR) continue;
    cmds.push_back("ea_list \"" + e.image_path + "\"");
    xattr_owner.push_back(&e);
  }
  auto lists = debugfs_batch(spec, cmds, scratch);
  if (!lists) return lists.error();
  std::vector<std::pair<ext4_entry const*, std::string>> wanted;
  for (std::size_t i = 0; i < xattr_owner.size(); ++i) {
    for (auto const& line : (*lists)[i]) {
      // "  security.capability (20) = 01 00 ..."
      if (line.size() < 3 || line[0] != ' ' || line[1] != ' ') continue;
      auto paren = line.find(" (", 2);
      if (paren == std::string::npos) continue;
      auto name = line.substr(2, paren - 2);
      if (name.empty() || name.find_first_of(" \"") != std::string::npos || name == "system.data") continue;
      wanted.emplace_back(xattr_owner[i], name);
    }
  }
  cmds.clear();
  for (std::size_t i = 0; i < wanted.size(); ++i)
    cmds.push_back("ea_get -f \"" + (scratch / ("xattr." + std::to_string(i))).string() + "\" \"" +
                   wanted[i].first->image_path + "\" " + wanted[i].second);
  if (auto got = debugfs_batch(spec, cmds, scratch); !got) return got.error();
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    auto file = scratch / ("xattr." + std::to_string(i));
    std::error_code missing;
    if (!std::filesystem::exists(file, missing)) continue;
    auto value = core::read_file_or_empty(file);
    std::filesystem::remove(file, missing);
    (void)::lsetxattr(wanted[i].first->path.c_str(), wanted[i].second.c_str(), value.data(), value.size(), 0);
  }

  // utimensat on a child changes only the child's ctime, so the order does not matter.
  for (auto it = dir_times.begin(); it != dir_times.end(); ++it) {
    struct timespec t[2] = {it->second.st_atim, it->second.st_mtim};
    (void)::utimensat(AT_FDCWD, (dest / std::filesystem::path{it->first}.relative_path()).c_str(), t,
                      AT_SYMLINK_NOFOLLOW);
  }
  return {};
}

}  // namespace

std::error_code run_tool(std::vector<std::string> const& argv, std::filesystem::path const& stdout_file,
                         std::filesystem::path const& stderr_file) {
  if (argv.empty()) return {EINVAL, std::generic_category()};
  posix_spawn_file_actions_t fa;
  if (::posix_spawn_file_actions_init(&fa) != 0) return last_errno();
  (void)::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!stdout_file.empty())
    (void)::posix_spawn_file_actions_addopen(&fa, 1, stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!stderr_file.empty())
    (void)::posix_spawn_file_actions_addopen(&fa, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                             0600);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return {rc, std::generic_category()};
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return last_errno();
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return errc::tool_failed;
  return {};
}

result<mbr> read_mbr(std::filesystem::path const& image) {
  int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return last_errno();
  std::array<std::byte, mbr_size> sector{};
  std::size_t got = 0;
  while (got < sector.size()) {
    auto n = ::read(fd, sector.data() + got, sector.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return parse_mbr(std::span<const std::byte>{sector}.first(got));
}

bool is_xz(std::filesystem::path const& image) { return image.extension() == ".xz"; }

std::error_code extract_image(std::filesystem::path const& image, std::filesystem::path const& boot_dest,
                              std::filesystem::path const& root_dest,
                              std::filesystem::path const& scratch_dir,
                              std::function<void(std::string_view)> const& log) {
  auto say = [&](std::string const& line) {
    if (log) log(line);
  };
  std::filesystem::path raw = image;
  bool temp = false;
  std::error_code ec;
  if (is_xz(image)) {
    std::filesystem::create_directories(scratch_dir, ec);
    if (ec) return ec;
    raw = scratch_dir / "image.raw";
    temp = true;
    say("xz -dc " + image.string() + " > " + raw.string());
    if (auto e = run_tool({"xz", "-dc", "--", image.string()}, raw)) {
      std::filesystem::remove(raw, ec);
      return e;
    }
  }
  auto cleanup = [&] {
    if (temp) std::filesystem::remove(raw, ec);
  };
  auto m = read_mbr(raw);
  if (!m) {
    cleanup();
    return m.error();
  }
  auto size = std::filesystem::file_size(raw, ec);
  if (ec) {
    cleanup();
    return ec;
  }
  auto boot = m->partition(1);
  auto root = m->partition(2);
  std::error_code err;
  if (!boot)
    err = boot.error();
  else if (!root)
    err = root.error();
  else if (!boot->fits_in(size) || !root->fits_in(size))
    err = errc::bad_partition;
  if (!err && ::mkdir(boot_dest.c_str(), 0755) != 0) err = last_errno();
  if (!err && ::mkdir(root_dest.c_str(), 0755) != 0) err = last_errno();
  if (!err) {
    auto spec = raw.string() + "@@" + std::to_string(boot->byte_offset());
    say("mcopy -s -p -m -i " + spec + " ::/* " + boot_dest.string());
    err = run_tool({"mcopy", "-s", "-p", "-m", "-n", "-i", spec, "::/*", boot_dest.string() + "/"});
  }
  if (!err) {
    auto spec = raw.string() + "?offset=" + std::to_string(root->byte_offset());
    auto errlog = scratch_dir / "debugfs.log";
    std::filesystem::create_directories(scratch_dir, ec);
    say("debugfs -R \"rdump / " + root_dest.string() + "\" " + spec);
    err = run_tool({"debugfs", "-R", "rdump / " + root_dest.string(), spec}, "/dev/null", errlog);
    // debugfs exits 0 even when it cannot open the file system; an empty result is the tell.
    if (!err && std::filesystem::is_empty(root_dest, ec)) err = errc::tool_failed;
    std::filesystem::remove(errlog, ec);
    if (!err) {
      say("debugfs -f (ls -p, stat, ea_list, ea_get): hard links, FIFOs, devices, set-id bits, xattrs");
      err = fix_up_ext4(spec, root_dest, scratch_dir);
    }
  }
  cleanup();
  return err;
}

}  // namespace pinetboot::layout
