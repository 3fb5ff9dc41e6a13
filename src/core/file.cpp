#include "pinetboot/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define PINETBOOT_HAVE_LINUX_OPENAT2_H 1
#endif

namespace pinetboot::core {
namespace {

std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

#ifdef PINETBOOT_HAVE_LINUX_OPENAT2_H
using how_t = ::open_how;
constexpr std::uint64_t k_resolve_no_magiclinks = RESOLVE_NO_MAGICLINKS;
constexpr std::uint64_t k_resolve_no_symlinks = RESOLVE_NO_SYMLINKS;
constexpr std::uint64_t k_resolve_beneath = RESOLVE_BENEATH;
#else
// Same layout as the kernel's struct open_how (include/uapi/linux/openat2.h).
struct how_t {
  std::uint64_t flags;
  std::uint64_t mode;
  std::uint64_t resolve;
};
constexpr std::uint64_t k_resolve_no_magiclinks = 0x02;
constexpr std::uint64_t k_resolve_no_symlinks = 0x04;
constexpr std::uint64_t k_resolve_beneath = 0x08;
#endif
#ifdef SYS_openat2
constexpr long k_sys_openat2 = SYS_openat2;
#else
constexpr long k_sys_openat2 = 437;  // same number on every Linux architecture
#endif

// openat2 support: -1 not probed yet, 0 no (ENOSYS/EPERM from the kernel or seccomp), 1 yes.
std::atomic<int> openat2_state{-1};

// openat2 answers EAGAIN when a concurrent rename/mount could have raced the lookup.
constexpr int max_eagain_retries = 8;

int sys_openat2(int dirfd, char const* path, std::uint64_t flags, std::uint64_t resolve) noexcept {
  how_t how{};
  how.flags = flags;
  how.resolve = resolve;
  for (int i = 0;; ++i) {
    long r = ::syscall(k_sys_openat2, dirfd, path, &how, sizeof how);
    if (r >= 0) return static_cast<int>(r);
    if (errno == EINTR || (errno == EAGAIN && i < max_eagain_retries)) continue;
    return -1;
  }
}

}  // namespace

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::error_code write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

result<std::string> read_file(std::filesystem::path const& file) {
  unique_fd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) return last_error();
  std::string out;
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

bool openat2_available() noexcept {
  // Racing first calls just probe twice.
  int s = openat2_state.load(std::memory_order_relaxed);
  if (s < 0) {
    int fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, k_resolve_no_magiclinks);
    s = fd >= 0 ? 1 : 0;
    if (fd >= 0) ::close(fd);
    openat2_state.store(s, std::memory_order_relaxed);
  }
  return s == 1;
}

result<unique_fd> openat2_beneath(int dirfd, char const* path, int flags, bool follow_symlinks) noexcept {
  std::uint64_t resolve = k_resolve_beneath | k_resolve_no_magiclinks;
  if (!follow_symlinks) resolve |= k_resolve_no_symlinks;
  unique_fd fd{sys_openat2(dirfd, path, static_cast<std::uint64_t>(static_cast<unsigned>(flags)), resolve)};
  if (fd) return fd;
  // A sandbox can start refusing the syscall after the probe (seccomp installed later).
  if (errno == ENOSYS) openat2_state.store(0, std::memory_order_relaxed);
  return last_error();
}

std::error_code sync_directory(std::filesystem::path const& dir) noexcept {
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return last_error();
  std::error_code ec;
  if (::fsync(dfd) != 0) ec = last_error();
  ::close(dfd);
  return ec;
}

namespace {
/// replace_file's temporary files for `target`: ".<name>.pinetboot-" and mkstemp's 6 characters.
constexpr std::string_view kReplaceInfix = ".pinetboot-";
constexpr std::size_t kMkstempChars = 6;
std::string replacement_prefix(std::filesystem::path const& target) {
  return "." + target.filename().string() + std::string{kReplaceInfix};
}
}  // namespace

std::size_t remove_stale_replacements(std::filesystem::path const& target) noexcept {
  auto dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::size_t removed = 0;
  try {
    auto prefix = replacement_prefix(target);
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator{dir, ec};
         !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
      auto name = it->path().filename().string();
      if (name.size() != prefix.size() + kMkstempChars || !name.starts_with(prefix)) continue;
      std::error_code entry_ec;  // an entry that vanished or cannot be read ends only its own check
      if (!it->is_regular_file(entry_ec) || entry_ec) continue;
      if (::unlink(it->path().c_str()) == 0) ++removed;
    }
  } catch (...) {  // allocation failure: nothing removed, nothing lost
  }
  return removed;
}

std::error_code replace_file(std::filesystem::path const& target, std::string_view content, unsigned mode,
                             std::optional<file_owner> owner) {
  auto dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmpl = (dir / (replacement_prefix(target) + "XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return last_error();
  std::error_code ec;
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) ec = last_error();
  if (!ec && owner && ::fchown(fd, owner->first, owner->second) != 0 && errno != EPERM) ec = last_error();
  if (!ec) ec = write_all(fd, content);
  if (!ec && ::fsync(fd) != 0) ec = last_error();
  if (::close(fd) != 0 && !ec) ec = last_error();
  if (!ec && ::rename(tmpl.c_str(), target.c_str()) != 0) ec = last_error();
  if (ec) {
    ::unlink(tmpl.c_str());
    return ec;
  }
  return sync_directory(dir);
}

}  // namespace pinetboot::core
