#include "pinetboot/layout/copy.hpp"

#include "pinetboot/core/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

bool ignorable_xattr_error(int e) noexcept {
  return e == ENOTSUP || e == EOPNOTSUPP || e == EPERM || e == EACCES || e == ENODATA || e == EINVAL;
}

class copier {
 public:
  copier(copy_options const& o, bool root) : opt_{o}, root_{root} {}

  std::error_code copy_root(std::filesystem::path const& src, std::filesystem::path const& dst) {
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) return last_errno();
    if (!S_ISDIR(st.st_mode)) return {ENOTDIR, std::generic_category()};
    int s = ::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return last_errno();
    core::unique_fd sg{s};
    if (::mkdir(dst.c_str(), 0700) != 0) return last_errno();
    int d = ::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0) return last_errno();
    core::unique_fd dg{d};
    src_dev_ = st.st_dev;
    ++stats_.directories;
    if (auto ec = copy_dir(s, d, dst.string())) return ec;
    return finish_fd(s, d, st, true);
  }

  copy_stats const& stats() const noexcept { return stats_; }

 private:
  std::error_code copy_dir(int sfd, int dfd, std::string const& dst_path) {
    int dup = ::fcntl(sfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return last_errno();
    DIR* dir = ::fdopendir(dup);
    if (dir == nullptr) {
      ::close(dup);
      return last_errno();
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(dir)) {
      std::string_view n{e->d_name};
      if (n != "." && n != "..") names.emplace_back(n);
    }
    int read_err = errno;
    ::closedir(dir);
    if (read_err != 0) return {read_err, std::generic_category()};
    for (auto const& name : names) {
      if (auto ec = copy_entry(sfd, dfd, name, dst_path + "/" + name)) return ec;
    }
    return {};
  }

  std::error_code copy_entry(int sfd, int dfd, std::string const& name, std::string const& dst_path) {
    struct stat st {};
    if (::fstatat(sfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return last_errno();
    char const* n = name.c_str();
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      if (auto it = links_.find(key); it != links_.end()) {
        if (::linkat(AT_FDCWD, it->second.c_str(), dfd, n, 0) != 0) return last_errno();
        ++stats_.hard_links;
        return {};
      }
      links_.emplace(key, dst_path);
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dfd, n, 0700) != 0) return last_errno();
      int s = ::openat(sfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return last_errno();
      core::unique_fd sg{s};
      int d = ::openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) return last_errno();
      core::unique_fd dg{d};
      ++stats_.directories;
      if (auto ec = copy_dir(s, d, dst_path)) return ec;
      return finish_fd(s, d, st, true);
    }
    if (S_ISREG(st.st_mode)) return copy_file(sfd, dfd, n, st);
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      auto len = ::readlinkat(sfd, n, target.data(), target.size());
      if (len < 0) return last_errno();
      target.resize(static_cast<std::size_t>(len));
      if (::symlinkat(target.c_str(), dfd, n) != 0) return last_errno();
      ++stats_.symlinks;
      return finish_at(dfd, n, st, true);
    }
    if (S_ISFIFO(st.st_mode)) {
      if (::mkfifoat(dfd, n, 0600) != 0) return last_errno();
      ++stats_.specials;
      return finish_at(dfd, n, st, false);
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
      if (!root_ || S_ISSOCK(st.st_mode)) {
        ++stats_.skipped;  // mknod needs CAP_MKNOD; a socket is meaningless in a copy
        return {};
      }
      if (::mknodat(dfd, n, (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) return last_errno();
      ++stats_.specials;
      return finish_at(dfd, n, st, false);
    }
    ++stats_.skipped;
    return {};
  }

  std::error_code copy_file(int sfd, int dfd, char const* n, struct stat const& st) {
    if (opt_.link_files) {
      if (::linkat(sfd, n, dfd, n, 0) == 0) {
        ++stats_.files;
        if (opt_.on_bytes && !opt_.on_bytes(static_cast<std::uint64_t>(st.st_size))) return errc::cancelled;
        return {};
      }
      if (errno != EXDEV && errno != EPERM) return last_errno();
    }
    int s = ::openat(sfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return last_errno();
    core::unique_fd sg{s};
    int d = ::openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d < 0) return last_errno();
    core::unique_fd dg{d};
    ++stats_.files;
    if (auto ec = copy_data(s, d, static_cast<std::uint64_t>(st.st_size))) return ec;
    return finish_fd(s, d, st, false);
  }

  std::error_code report(std::uint64_t n) {
    stats_.bytes += n;
    if (opt_.on_bytes && !opt_.on_bytes(n)) return errc::cancelled;
    return {};
  }

  std::error_code copy_data(int s, int d, std::uint64_t size) {
    if (size == 0) return {};
    if (opt_.reflink && reflink_ok_ && ::ioctl(d, FICLONE, s) == 0) {
      ++stats_.reflinked;
      return report(size);
    }
    if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == EINVAL) reflink_ok_ = false;
    // Copy only the data extents so holes stay holes; the final ftruncate restores the size.
    auto const end = static_cast<off_t>(size);
    off_t pos = 0;
    while (pos < end) {
      off_t data = ::lseek(s, pos, SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) break;  // only a hole is left
        if (errno != EINVAL) return last_errno();
        data = pos;  // no SEEK_DATA support: treat everything as data
      }
      off_t hole = ::lseek(s, data, SEEK_HOLE);
      if (hole < 0) hole = end;
      if (hole > end) hole = end;
      if (auto ec = copy_range(s, d, data, hole - data)) return ec;
      pos = hole;
    }
    if (::ftruncate(d, end) != 0) return last_errno();
    return {};
  }

  std::error_code copy_range(int s, int d, off_t off, off_t len) {
    constexpr off_t chunk = off_t{8} << 20;
    while (len > 0) {
      auto want = static_cast<std::size_t>(len < chunk ? len : chunk);
      ssize_t n = -1;
      if (cfr_ok_) {
        off_t in = off, out = off;
        n = ::copy_file_range(s, &in, d, &out, want, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
          cfr_ok_ = false;
        else if (n < 0)
          return last_errno();
      }
      if (!cfr_ok_) {
        buf_.resize(1 << 20);
        auto w = want < buf_.size() ? want : buf_.size();
        n = ::pread(s, buf_.data(), w, off);
        if (n < 0) return last_errno();
        for (ssize_t done = 0; done < n;) {
          auto m = ::pwrite(d, buf_.data() + done, static_cast<std::size_t>(n - done), off + done);
          if (m < 0) return last_errno();
          done += m;
        }
      }
      if (n == 0) break;  // the file shrank under us
      off += n;
      len -= n;
      if (auto ec = report(static_cast<std::uint64_t>(n))) return ec;
    }
    return {};
  }

  void copy_xattrs_fd(int s, int d) {
    auto len = ::flistxattr(s, nullptr, 0);
    if (len <= 0) return;
    std::string names(static_cast<std::size_t>(len), '\0');
    len = ::flistxattr(s, names.data(), names.size());
    if (len <= 0) return;
    names.resize(static_cast<std::size_t>(len));
    for (std::size_t i = 0; i < names.size();) {
      char const* key = names.c_str() + i;
      i += std::char_traits<char>::length(key) + 1;
      auto vlen = ::fgetxattr(s, key, nullptr, 0);
      if (vlen < 0) continue;
      std::string value(static_cast<std::size_t>(vlen), '\0');
      vlen = ::fgetxattr(s, key, value.data(), value.size());
      if (vlen < 0) continue;
      if (::fsetxattr(d, key, value.data(), static_cast<std::size_t>(vlen), 0) != 0 &&
          !ignorable_xattr_error(errno))
        continue;  // best effort, like cp -a without --preserve=xattr being mandatory
    }
  }

  void chown_fd(int d, struct stat const& st) {
    if (!opt_.preserve_owner) return;
    if (::fchown(d, st.st_uid, st.st_gid) != 0 && !root_)
      (void)::fchown(d, static_cast<uid_t>(-1), st.st_gid);
  }

  // Order matters: chown clears set-id bits and file capabilities, so it goes first; xattrs
  // before chmod so a read-only mode does not block them; timestamps last.
  std::error_code finish_fd(int s, int d, struct stat const& st, bool dir) {
    chown_fd(d, st);
    copy_xattrs_fd(s, d);
    if (::fchmod(d, st.st_mode & 07777) != 0) return last_errno();
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(d, times) != 0) return last_errno();
    (void)dir;
    return {};
  }

  std::error_code finish_at(int dfd, char const* n, struct stat const& st, bool symlink) {
    if (opt_.preserve_owner) {
      if (::fchownat(dfd, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 && !root_)
        (void)::fchownat(dfd, n, static_cast<uid_t>(-1), st.st_gid, AT_SYMLINK_NOFOLLOW);
    }
    if (!symlink && ::fchmodat(dfd, n, st.st_mode & 07777, 0) != 0) return last_errno();
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dfd, n, times, AT_SYMLINK_NOFOLLOW) != 0) return last_errno();
    return {};
  }

  copy_options const& opt_;
  bool root_;
  bool reflink_ok_ = true;
  bool cfr_ok_ = true;
  dev_t src_dev_ = 0;
  copy_stats stats_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<char> buf_;
};

}  // namespace

result<copy_stats> copy_tree(std::filesystem::path const& src, std::filesystem::path const& dst,
                             copy_options const& options) {
  copier c{options, ::geteuid() == 0};
  if (auto ec = c.copy_root(src, dst)) return ec;
  return c.stats();
}

result<std::uint64_t> tree_bytes(std::filesystem::path const& dir) {
  std::error_code ec;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::uint64_t total = 0;
  std::filesystem::recursive_directory_iterator it{dir, std::filesystem::directory_options::none, ec};
  if (ec) return ec;
  for (; it != std::filesystem::recursive_directory_iterator{}; it.increment(ec)) {
    if (ec) return ec;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) return last_errno();
    if (!S_ISREG(st.st_mode)) continue;
    if (st.st_nlink > 1 && !seen.emplace(st.st_dev, st.st_ino).second) continue;
    total += static_cast<std::uint64_t>(st.st_size);
  }
  if (ec) return ec;
  return total;
}

std::error_code remove_tree(std::filesystem::path const& path) {
  std::error_code ec;
  auto st = std::filesystem::symlink_status(path, ec);
  if (ec || !std::filesystem::exists(st)) return {};
  if (std::filesystem::is_directory(st)) {
    // Directories copied from a read-only golden tree (0555) block unlink for non-root.
    for (auto it = std::filesystem::recursive_directory_iterator{path, ec};
         !ec && it != std::filesystem::recursive_directory_iterator{}; it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    ::chmod(path.c_str(), 0700);
  }
  std::filesystem::remove_all(path, ec);
  return ec;
}

}  // namespace pinetboot::layout
