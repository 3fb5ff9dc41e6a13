/// @file
/// @brief File descriptors, reading a whole file, replacing a file atomically (the provisioning
/// registry and journals, /etc/exports, the clients' fstab and cmdline.txt and the lease journal
/// use them) and openat2(2) confined beneath a directory (the TFTP file source).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "pinetboot/core/result.hpp"

namespace pinetboot::core {

/// An owned file descriptor (closed on destruction). Move-only.
class unique_fd {
 public:
  constexpr unique_fd() noexcept = default;
  constexpr explicit unique_fd(int fd) noexcept : fd_{fd} {}
  unique_fd(unique_fd&& o) noexcept : fd_{o.release()} {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  unique_fd(unique_fd const&) = delete;
  unique_fd& operator=(unique_fd const&) = delete;
  ~unique_fd() { reset(); }

  [[nodiscard]] constexpr int get() const noexcept { return fd_; }
  [[nodiscard]] constexpr bool valid() const noexcept { return fd_ >= 0; }
  constexpr explicit operator bool() const noexcept { return valid(); }
  /// Gives up ownership without closing.
  constexpr int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the current fd (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// Writes all of `data` to `fd` (retrying short writes and EINTR). Errors: write's errno.
[[nodiscard]] std::error_code write_all(int fd, std::string_view data) noexcept;

/// The whole content of file `file` (binary; follows symlinks). Errors: open's or read's errno
/// (ENOENT for a missing file, EISDIR for a directory); std::bad_alloc may be thrown.
[[nodiscard]] result<std::string> read_file(std::filesystem::path const& file);

/// read_file's content, or "" when the file cannot be read (missing, a directory, no access);
/// `*read` (when given) says whether it could be.
[[nodiscard]] inline std::string read_file_or_empty(std::filesystem::path const& file, bool* read = nullptr) {
  auto text = read_file(file);
  if (read != nullptr) *read = text.has_value();
  return text ? std::move(*text) : std::string{};
}

/// fsyncs directory `dir` ("" = the current one), so a rename or a new file in it survives a
/// crash. Errors: open's or fsync's errno.
[[nodiscard]] std::error_code sync_directory(std::filesystem::path const& dir) noexcept;

/// True when this kernel (and seccomp policy) lets us use openat2(2) with RESOLVE_BENEATH.
/// Probed once, thread-safe; false from the first openat2_beneath() that got ENOSYS on.
[[nodiscard]] bool openat2_available() noexcept;

/// Opens `path` (relative to directory `dirfd`; "." names it) with openat2(2) and
/// `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, plus `RESOLVE_NO_SYMLINKS` unless
/// `follow_symlinks`: no "..", absolute path or symlink can lead the lookup out of `dirfd`, and
/// /proc magic links are never followed. `flags` are open(2)'s. Retries EINTR, and EAGAIN (a
/// concurrent rename or mount could have raced the lookup) up to 8 times. Errors: openat2's
/// errno (generic category); ENOSYS when the kernel or a seccomp filter lacks openat2 (also
/// after a successful probe: a filter may be installed later), which makes
/// openat2_available() false from then on, so callers can fall back to walking the path.
[[nodiscard]] result<unique_fd> openat2_beneath(int dirfd, char const* path, int flags,
                                                bool follow_symlinks = true) noexcept;

/// File owner (uid, gid).
using file_owner = std::pair<unsigned, unsigned>;

/// Replaces `target` with `content` so that readers see the old file or the new one, never a
/// mix, and a crash leaves one of the two whole: the content goes to a fresh temporary file
/// (mkstemp) in the same directory, gets `mode` (and `owner` when given; EPERM is ignored, as
/// for an unprivileged caller), is fsync'd and renamed over `target`, then the directory is
/// fsync'd. A symlink at `target` is replaced, not followed. Errors: the failing call's errno
/// (the temporary file is removed).
[[nodiscard]] std::error_code replace_file(std::filesystem::path const& target, std::string_view content,
                                           unsigned mode, std::optional<file_owner> owner = std::nullopt);

/// Removes the temporary files that replace_file calls for `target` left behind when the
/// process died between mkstemp and rename (SIGKILL, power loss): regular files named
/// ".<name>.pinetboot-XXXXXX" beside it. The target itself is never touched. For the single
/// writer of `target` at start, before its first replace_file; returns how many it removed.
std::size_t remove_stale_replacements(std::filesystem::path const& target) noexcept;

}  // namespace pinetboot::core
