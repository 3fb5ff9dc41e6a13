#include "pinetboot/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace pinetboot::core {
namespace {

std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

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

std::error_code sync_directory(std::filesystem::path const& dir) noexcept {
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return last_error();
  std::error_code ec;
  if (::fsync(dfd) != 0) ec = last_error();
  ::close(dfd);
  return ec;
}

std::error_code replace_file(std::filesystem::path const& target, std::string_view content, unsigned mode,
                             std::optional<file_owner> owner) {
  auto dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmpl = (dir / ("." + target.filename().string() + ".pinetboot-XXXXXX")).string();
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
