#include "pinetboot/tftp/file_source.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

#include "pinetboot/core/file.hpp"

namespace pinetboot::tftp {
namespace {

// Directory depth the walker will descend (each level holds an fd until the open finishes).
constexpr std::size_t max_walk_depth = 256;
// The walker's pending text: a symlink target plus the rest of the path.
constexpr std::size_t pending_capacity = 2 * (max_path_length + 1);

std::error_code map_errno(int e) noexcept {
  switch (e) {
    case ENOENT:
    case ENOTDIR:
      return errc::file_not_found;
    case EACCES:
    case EPERM:
    case EXDEV:
    case ELOOP:
    case EISDIR:
      return errc::access_violation;
    case ENAMETOOLONG:
      return errc::name_too_long;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return errc::disk_full;
    case EEXIST:
      return errc::file_exists;
    case ENOMEM:
      return std::make_error_code(std::errc::not_enough_memory);
    // Out of descriptors is an operator's problem with a known fix (the limit), not an I/O
    // error: keep it recognisable so the server can say so.
    case EMFILE:
      return std::make_error_code(std::errc::too_many_files_open);
    case ENFILE:
      return std::make_error_code(std::errc::too_many_files_open_in_system);
    default:
      return errc::io_error;
  }
}

int openat_retry(int dirfd, char const* path, int flags, ::mode_t mode = 0) noexcept {
  for (;;) {
    int fd = ::openat(dirfd, path, flags, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

// openat_retry() as a result (errno in the generic category), for open_checked_regular().
result<unique_fd> openat_fd(int dirfd, char const* path, int flags) noexcept {
  unique_fd fd{openat_retry(dirfd, path, flags)};
  if (!fd) return std::error_code{errno, std::generic_category()};
  return fd;
}

bool same_inode(struct stat const& a, struct stat const& b) noexcept {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Opens the final regular file: `open_path` gives an O_PATH fd (no side effects on FIFOs or
// devices) whose type is checked before `open_read` opens it for reading; both must be the
// same inode or a rename raced us. Both return result<unique_fd> with an errno code.
template <class OpenPath, class OpenRead>
result<unique_fd> open_checked_regular(OpenPath open_path, OpenRead open_read) noexcept {
  auto p = open_path();
  if (!p) return map_errno(p.error().value());
  struct stat ps {};
  if (::fstat(p->get(), &ps) != 0) return map_errno(errno);
  if (!S_ISREG(ps.st_mode)) return errc::access_violation;
  auto r = open_read();
  if (!r) return map_errno(r.error().value());
  struct stat rs {};
  if (::fstat(r->get(), &rs) != 0) return map_errno(errno);
  if (!S_ISREG(rs.st_mode) || !same_inode(ps, rs)) return errc::io_error;
  return r;
}

result<unique_fd> open_with_openat2(int root_fd, char const* path, open_kind kind,
                                    open_options const& opts) noexcept {
  bool const follow = opts.follow_symlinks;
  if (kind == open_kind::directory) {
    auto d = core::openat2_beneath(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, follow);
    if (!d) return map_errno(d.error().value());
    return d;
  }
  return open_checked_regular(
      [&] { return core::openat2_beneath(root_fd, path, O_PATH | O_CLOEXEC, follow); },
      [&] {
        return core::openat2_beneath(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, follow);
      });
}

// The directories walked through, so that ".." in a symlink target returns to the fd we came
// from (a directory moved out of the root meanwhile cannot lead us outside).
class fd_stack {
 public:
  explicit fd_stack(int root) noexcept : root_{root} {}
  fd_stack(fd_stack const&) = delete;
  fd_stack& operator=(fd_stack const&) = delete;
  ~fd_stack() {
    while (depth_ > 0) ::close(fds_[--depth_]);
  }
  [[nodiscard]] int top() const noexcept { return depth_ > 0 ? fds_[depth_ - 1] : root_; }
  [[nodiscard]] bool at_root() const noexcept { return depth_ == 0; }
  [[nodiscard]] bool full() const noexcept { return depth_ == fds_.size(); }
  void push(int fd) noexcept { fds_[depth_++] = fd; }
  void pop() noexcept { ::close(fds_[--depth_]); }

 private:
  int root_;
  std::array<int, max_walk_depth> fds_{};
  std::size_t depth_ = 0;
};

// Userspace RESOLVE_BENEATH for kernels without openat2.
class walker {
 public:
  walker(int root_fd, open_kind kind, open_options const& opts) noexcept
      : st_{root_fd}, kind_{kind}, opts_{opts} {}

  result<unique_fd> run(std::string_view path) noexcept {
    if (path.size() > max_path_length) return errc::name_too_long;
    if (!path.empty()) std::memcpy(pend_, path.data(), path.size());
    plen_ = path.size();
    pos_ = 0;
    for (;;) {
      while (pos_ < plen_ && pend_[pos_] == '/') ++pos_;
      if (pos_ == plen_) break;
      std::size_t end = pos_;
      while (end < plen_ && pend_[end] != '/') ++end;
      std::string_view comp{pend_ + pos_, end - pos_};
      // Only a component without anything (not even a '/') after it may be a non-directory.
      bool const last = end == plen_;
      pos_ = end;
      if (comp == ".") continue;
      if (comp == "..") {
        if (st_.at_root()) return errc::access_violation;
        st_.pop();
        continue;
      }
      if (comp.size() > max_component_length) return errc::name_too_long;
      std::memcpy(name_.data(), comp.data(), comp.size());
      name_[comp.size()] = '\0';

      if (last && kind_ == open_kind::regular_file) {
        unique_fd p{openat_retry(st_.top(), name_.data(), O_PATH | O_NOFOLLOW | O_CLOEXEC)};
        if (!p) return map_errno(errno);
        struct stat sb {};
        if (::fstat(p.get(), &sb) != 0) return map_errno(errno);
        if (S_ISLNK(sb.st_mode)) {
          ssize_t n = ::readlinkat(p.get(), "", target_.data(), target_.size());
          if (n < 0) return map_errno(errno);
          if (auto ec = expand(static_cast<std::size_t>(n))) return ec;
          continue;
        }
        int const dir = st_.top();
        char const* nm = name_.data();
        return open_checked_regular(
            [&] { return openat_fd(dir, nm, O_PATH | O_NOFOLLOW | O_CLOEXEC); },
            [&] { return openat_fd(dir, nm, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); });
      }

      int d = openat_retry(st_.top(), name_.data(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d >= 0) {
        if (st_.full()) {
          ::close(d);
          return errc::name_too_long;
        }
        st_.push(d);
        continue;
      }
      int const e = errno;
      if (e != ENOTDIR && e != ELOOP) return map_errno(e);
      // Not a directory: a symlink to expand, or a file used as a directory.
      ssize_t n = ::readlinkat(st_.top(), name_.data(), target_.data(), target_.size());
      if (n < 0) return errno == EINVAL ? std::error_code{errc::file_not_found} : map_errno(errno);
      if (auto ec = expand(static_cast<std::size_t>(n))) return ec;
    }
    // The path named a directory.
    if (kind_ == open_kind::regular_file) return errc::access_violation;
    unique_fd d{openat_retry(st_.top(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!d) return map_errno(errno);
    return d;
  }

 private:
  // Replaces the symlink component just consumed by its target: pending = target + "/" + rest.
  std::error_code expand(std::size_t n) noexcept {
    if (!opts_.follow_symlinks) return errc::access_violation;
    if (++links_ > opts_.max_symlinks) return errc::access_violation;  // loop or long chain
    if (n >= target_.size()) return errc::name_too_long;
    if (n == 0) return errc::file_not_found;
    if (target_[0] == '/') return errc::access_violation;  // RESOLVE_BENEATH: no absolute links
    std::size_t const rest = plen_ - pos_;
    if (n + 1 + rest > pending_capacity) return errc::name_too_long;
    char* out = pend_ == buf_a_.data() ? buf_b_.data() : buf_a_.data();
    std::memcpy(out, target_.data(), n);
    // The rest starts with its '/' unless the link was the last component.
    std::size_t len = n;
    if (rest > 0) {
      std::memcpy(out + len, pend_ + pos_, rest);
      len += rest;
    }
    pend_ = out;
    plen_ = len;
    pos_ = 0;
    return {};
  }

  fd_stack st_;
  open_kind kind_;
  open_options opts_;
  std::array<char, pending_capacity> buf_a_;
  std::array<char, pending_capacity> buf_b_;
  char* pend_ = buf_a_.data();
  std::size_t plen_ = 0;
  std::size_t pos_ = 0;
  unsigned links_ = 0;
  std::array<char, max_component_length + 1> name_;
  std::array<char, max_path_length + 1> target_;
};

std::uint64_t random_u64() noexcept {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof v)) return v;
  static std::atomic<std::uint64_t> counter{0};
  return (static_cast<std::uint64_t>(::getpid()) << 32) ^ counter.fetch_add(0x9e3779b97f4a7c15ULL);
}

void make_temp_name(std::span<char, 32> out) noexcept {
  std::snprintf(out.data(), out.size(), ".tftp-%016llx.part", static_cast<unsigned long long>(random_u64()));
}

}  // namespace

result<unique_fd> open_root(char const* path) noexcept {
  unique_fd fd{openat_retry(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (!fd) return map_errno(errno);
  return fd;
}

result<unique_fd> open_beneath(int root_fd, std::string_view path, open_kind kind,
                               open_options const& opts) noexcept {
  if (path.size() > max_path_length) return errc::name_too_long;
  // Absolute paths are refused by both resolvers alike (resolve_path never produces one).
  if (path.find('\0') != std::string_view::npos || (!path.empty() && path[0] == '/'))
    return errc::access_violation;
  if (!opts.force_fallback && core::openat2_available()) {
    std::array<char, max_path_length + 2> buf;
    std::size_t n = path.size();
    if (n == 0)
      buf[n++] = '.';
    else
      std::memcpy(buf.data(), path.data(), n);
    buf[n] = '\0';
    auto r = open_with_openat2(root_fd, buf.data(), kind, opts);
    // An ENOSYS (a seccomp filter installed after the probe) turned openat2 off: fall back.
    if (r || core::openat2_available()) return r;
  }
  walker w{root_fd, kind, opts};
  return w.run(path);
}

result<file_identity> identify(int fd) noexcept {
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) return map_errno(errno);
  file_identity id;
  id.dev = static_cast<std::uint64_t>(sb.st_dev);
  id.ino = static_cast<std::uint64_t>(sb.st_ino);
  id.mtime_sec = static_cast<std::int64_t>(sb.st_mtim.tv_sec);
  id.mtime_nsec = static_cast<std::int64_t>(sb.st_mtim.tv_nsec);
  id.size = sb.st_size > 0 ? static_cast<std::uint64_t>(sb.st_size) : 0;
  return id;
}

result<file_source> file_source::adopt(unique_fd fd) noexcept {
  struct stat sb {};
  if (::fstat(fd.get(), &sb) != 0) return map_errno(errno);
  if (!S_ISREG(sb.st_mode)) return errc::access_violation;
  auto id = identify(fd.get());
  if (!id) return id.error();
  try {
    auto f = std::make_shared<detail::open_file>();
    f->fd = std::move(fd);
    f->id = *id;
    return file_source{std::move(f)};
  } catch (std::bad_alloc const&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

result<file_source> file_source::open(int root_fd, std::string_view path, open_options const& opts) noexcept {
  auto fd = open_beneath(root_fd, path, open_kind::regular_file, opts);
  if (!fd) return fd.error();
  return adopt(std::move(*fd));
}

file_source::file_source(std::shared_ptr<detail::open_file> f) noexcept : file_{std::move(f)} {
  if (!file_) return;
  capacity_ = static_cast<std::size_t>(std::min<std::uint64_t>(read_ahead, file_->id.size));
  if (capacity_ > 0) buffer_.reset(new (std::nothrow) std::byte[capacity_]);
  if (!buffer_) capacity_ = 0;  // no read-ahead: every read goes to the file
}

result<std::size_t> file_source::pread_checked(std::uint64_t off, std::span<std::byte> out) noexcept {
  file_identity const& id = file_->id;
  std::size_t const want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), id.size - off));
  std::size_t got = 0;
  while (got < want) {
    ++reads_;
    ssize_t n = ::pread(file_->fd.get(), out.data() + got, want - got, static_cast<off_t>(off + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errc::io_error;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < want) return errc::io_error;  // ended before the size announced: truncated
  // Checked after reading, so a write that raced the pread has already moved mtime. An fstat per
  // block was one of six system calls per block; checking whenever a read crosses a 256 KiB
  // boundary, and always for the read that reaches the end, keeps the guarantee that matters: a
  // transfer that completes was not modified in place while it ran (the final check sees any
  // earlier change, and every byte sent was read before it).
  constexpr std::uint64_t check_every = 256 * 1024;
  bool final_read = off + got >= id.size;
  bool crosses = off / check_every != (off + got - 1) / check_every || off % check_every == 0;
  if (final_read || crosses) {
    auto now = identify(file_->fd.get());
    if (!now || *now != id) return errc::io_error;
  }
  return got;
}

result<std::size_t> file_source::read_at(std::uint64_t off, std::span<std::byte> out) noexcept {
  file_identity const& id = file_->id;
  if (off >= id.size || out.empty()) return std::size_t{0};
  std::size_t const want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), id.size - off));
  if (want > capacity_ / 2) return pread_checked(off, out.first(want));  // large blocks: read directly
  if (off < buffered_at_ || off + want > buffered_at_ + buffered_) {
    buffered_ = 0;
    auto got = pread_checked(off, std::span{buffer_.get(), capacity_});
    if (!got) return got.error();
    buffered_at_ = off;
    buffered_ = *got;
  }
  std::memcpy(out.data(), buffer_.get() + (off - buffered_at_), want);
  return want;
}

result<file_source> file_cache::open(int root_fd, std::string_view path, open_options const& opts) noexcept {
  auto fd = open_beneath(root_fd, path, open_kind::regular_file, opts);
  if (!fd) return fd.error();
  auto id = identify(fd->get());
  if (!id) return id.error();
  try {
    std::lock_guard<std::mutex> lock{mu_};
    std::erase_if(entries_, [](entry const& e) { return e.file.expired(); });
    for (auto const& e : entries_) {
      if (e.id != *id) continue;
      if (auto shared = e.file.lock()) return file_source{std::move(shared)};  // our fd closes here
    }
    auto f = std::make_shared<detail::open_file>();
    f->fd = std::move(*fd);
    f->id = *id;
    if (entries_.size() < max_entries_) entries_.push_back(entry{*id, f});
    return file_source{std::move(f)};
  } catch (std::bad_alloc const&) {
    return std::make_error_code(std::errc::not_enough_memory);
  } catch (std::system_error const& e) {  // mutex failure
    return e.code();
  }
}

std::size_t file_cache::live_entries() const noexcept {
  try {
    std::lock_guard<std::mutex> lock{mu_};
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(), [](entry const& e) { return !e.file.expired(); }));
  } catch (std::system_error const&) {
    return 0;
  }
}

// ---- file_sink ----

result<file_sink> file_sink::create(int root_fd, std::string_view path, sink_options const& opts) noexcept {
  std::size_t const slash = path.rfind('/');
  std::string_view const dir_part =
      slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
  std::string_view const name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return errc::access_violation;
  if (name.size() > max_component_length) return errc::name_too_long;
  if (name.find('\0') != std::string_view::npos) return errc::access_violation;

  file_sink s;
  s.opts_ = opts;
  std::memcpy(s.name_, name.data(), name.size());
  s.name_[name.size()] = '\0';
  auto dir = open_beneath(root_fd, dir_part, open_kind::directory, opts.open);
  if (!dir) return dir.error();
  s.dir_ = std::move(*dir);

  struct stat sb {};
  if (::fstatat(s.dir_.get(), s.name_, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(sb.st_mode)) return errc::access_violation;  // never write through a symlink
    if (!opts.allow_overwrite) return errc::file_exists;
  } else if (errno != ENOENT) {
    return map_errno(errno);
  }

  if (!opts.force_named_temp) {
    int fd = openat_retry(s.dir_.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, opts.mode);
    if (fd >= 0) {
      s.file_.reset(fd);
      s.tmpfile_ = true;
    } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      return map_errno(errno);
    }
  }
  if (!s.file_) {
    for (int attempt = 0; attempt < 16 && !s.file_; ++attempt) {
      make_temp_name(s.temp_name_);
      int fd = openat_retry(s.dir_.get(), s.temp_name_, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                            opts.mode);
      if (fd >= 0) {
        s.file_.reset(fd);
      } else if (errno != EEXIST) {
        s.temp_name_[0] = '\0';
        return map_errno(errno);
      }
    }
    if (!s.file_) {
      s.temp_name_[0] = '\0';
      return errc::io_error;
    }
  }
  s.done_ = false;
  return s;
}

file_sink::file_sink(file_sink&& o) noexcept
    : dir_{std::move(o.dir_)},
      file_{std::move(o.file_)},
      opts_{o.opts_},
      size_{o.size_},
      tmpfile_{o.tmpfile_},
      done_{o.done_} {
  std::memcpy(name_, o.name_, sizeof name_);
  std::memcpy(temp_name_, o.temp_name_, sizeof temp_name_);
  o.done_ = true;
  o.temp_name_[0] = '\0';
}

file_sink& file_sink::operator=(file_sink&& o) noexcept {
  if (this != &o) {
    abort();
    dir_ = std::move(o.dir_);
    file_ = std::move(o.file_);
    opts_ = o.opts_;
    size_ = o.size_;
    tmpfile_ = o.tmpfile_;
    done_ = o.done_;
    std::memcpy(name_, o.name_, sizeof name_);
    std::memcpy(temp_name_, o.temp_name_, sizeof temp_name_);
    o.done_ = true;
    o.temp_name_[0] = '\0';
  }
  return *this;
}

file_sink::~file_sink() { abort(); }

result<std::size_t> file_sink::write_at(std::uint64_t off, std::span<const std::byte> in) noexcept {
  if (done_) return errc::illegal_operation;
  if (off > opts_.max_size || in.size() > opts_.max_size - off) return errc::disk_full;
  std::size_t put = 0;
  while (put < in.size()) {
    ssize_t n = ::pwrite(file_.get(), in.data() + put, in.size() - put, static_cast<off_t>(off + put));
    if (n < 0) {
      if (errno == EINTR) continue;
      return map_errno(errno);
    }
    put += static_cast<std::size_t>(n);
  }
  size_ = std::max<std::uint64_t>(size_, off + put);
  return put;
}

std::error_code file_sink::commit() noexcept {
  if (done_) return errc::illegal_operation;
  auto fail = [this](std::error_code ec) {
    abort();
    return ec;
  };
  if (opts_.sync && ::fsync(file_.get()) != 0) return fail(map_errno(errno));
  int const dir = dir_.get();
  if (tmpfile_) {
    // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; /proc/self/fd works for anyone.
    auto link_as = [this, dir](char const* target) -> int {
      if (::linkat(file_.get(), "", dir, target, AT_EMPTY_PATH) == 0) return 0;
      if (errno != ENOENT && errno != EPERM && errno != EINVAL) return -1;
      char proc[64];
      std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", file_.get());
      return ::linkat(AT_FDCWD, proc, dir, target, AT_SYMLINK_FOLLOW);
    };
    if (!opts_.allow_overwrite) {
      if (link_as(name_) != 0) return fail(map_errno(errno));
    } else {
      bool linked = false;
      for (int attempt = 0; attempt < 16 && !linked; ++attempt) {
        make_temp_name(temp_name_);
        if (link_as(temp_name_) == 0)
          linked = true;
        else if (errno != EEXIST)
          break;
      }
      if (!linked) {
        int const e = errno;
        temp_name_[0] = '\0';
        return fail(map_errno(e));
      }
      if (::renameat(dir, temp_name_, dir, name_) != 0) {
        int const e = errno;
        ::unlinkat(dir, temp_name_, 0);
        temp_name_[0] = '\0';
        return fail(map_errno(e));
      }
      temp_name_[0] = '\0';
    }
  } else {
    int r = 0;
    if (opts_.allow_overwrite) {
      r = ::renameat(dir, temp_name_, dir, name_);
    } else {
      r = ::renameat2(dir, temp_name_, dir, name_, RENAME_NOREPLACE);
      if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {  // filesystem without RENAME_NOREPLACE
        r = ::linkat(dir, temp_name_, dir, name_, 0);
        if (r == 0) ::unlinkat(dir, temp_name_, 0);
      }
    }
    if (r != 0) return fail(map_errno(errno));  // abort() unlinks the temp file
    temp_name_[0] = '\0';
  }
  if (opts_.sync) ::fsync(dir);  // the new name is durable; failure here cannot be undone
  done_ = true;
  file_.reset();
  return {};
}

void file_sink::abort() noexcept {
  if (done_) return;
  done_ = true;
  if (temp_name_[0] != '\0' && dir_) ::unlinkat(dir_.get(), temp_name_, 0);
  temp_name_[0] = '\0';
  file_.reset();
}

}  // namespace pinetboot::tftp
