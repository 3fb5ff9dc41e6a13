/// @file
/// @brief Files as TFTP block sources and sinks, opened confined beneath a root directory.
///
/// Confinement. A path from resolve_path() (relative, no `..`) is opened beneath a root
/// directory fd with openat2(2) `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` when the kernel has it
/// (core::openat2_beneath(); Linux >= 5.6; probed once by core::openat2_available(), and
/// abandoned if it later answers ENOSYS, e.g. a seccomp filter installed after the probe).
/// Otherwise (ENOSYS, or a seccomp filter answering EPERM) a userspace walker opens one
/// component at a time with `openat(O_PATH | O_NOFOLLOW)`, keeps a stack of the directory fds it
/// came through, and expands symlinks itself with the same rules as RESOLVE_BENEATH.
/// `open_options::force_fallback` selects the walker (tests run both).
/// Symlink rules, both resolvers:
///   * a relative symlink whose target stays beneath the root is followed (chains too, up to
///     `max_symlinks`, default 40 like the kernel);
///   * a symlink whose `..` would climb above the root, and EVERY absolute symlink (even one
///     naming a path inside the root: RESOLVE_BENEATH semantics) -> errc::access_violation;
///     operators should use relative links (`ln -s ../common/start4.elf`);
///   * a symlink loop or a chain longer than the limit -> errc::access_violation (no hang);
///   * `/proc` magic links are never followed.
/// Only regular files are served: the final object is first opened with O_PATH and fstat'ed, so
/// a FIFO is never opened for reading (no blocking) and a device is never opened at all (no side
/// effects); directories, FIFOs, sockets and devices -> errc::access_violation. The readable fd
/// is then opened (O_NONBLOCK, O_NOCTTY) and checked to be the same inode.
///
/// Errno mapping (all functions here): ENOENT/ENOTDIR -> file_not_found; EACCES/EPERM/EXDEV/
/// ELOOP/EISDIR -> access_violation; ENAMETOOLONG -> name_too_long; ENOSPC/EDQUOT/EFBIG ->
/// disk_full; EEXIST -> file_exists; anything else -> io_error. Allocation failure ->
/// std::errc::not_enough_memory.
///
/// Consistency guarantee of a read transfer. One file_source holds the inode opened at RRQ
/// time for the whole transfer. A file replaced by rename(2) (how packages, rsync and
/// `install` update files) keeps serving the old content to transfers already running; new
/// opens see the new file. In-place modification is detected instead of served torn: read_at
/// pread()s ahead (up to file_source::read_ahead bytes at a time) and then fstat()s the fd
/// whenever a pread crosses a 256 KiB boundary and always for the pread that reaches the end
/// of the file, and if the size or mtime differs from the values recorded at open
/// (file truncated, extended or rewritten), or the file ended before its recorded size, read_at
/// fails with errc::io_error and the session aborts the transfer. So a transfer that completes
/// never carries an in-place change; one that fails may have sent some changed blocks first
/// (the client discards an incomplete transfer). Limit:
/// a same-size rewrite within the filesystem's timestamp granularity can go unnoticed; replace
/// files by rename to be safe. (MAP_PRIVATE was rejected: it does not snapshot pages not yet
/// touched, and a truncated file turns reads into SIGBUS.)
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/file.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/path.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp {

/// An owned file descriptor (closed on destruction); see core/file.hpp.
using core::unique_fd;

/// How open_beneath() resolves paths.
struct open_options {
  bool force_fallback = false;  ///< use the userspace walker even if openat2 works
  bool follow_symlinks = true;  ///< false: refuse every symlink (errc::access_violation)
  unsigned max_symlinks = 40;   ///< walker: symlinks expanded per open (openat2: the kernel's 40)
};

/// What open_beneath() must find at the end of the path.
enum class open_kind : std::uint8_t {
  regular_file,  ///< opened O_RDONLY; anything else -> errc::access_violation
  directory,     ///< opened O_RDONLY | O_DIRECTORY (usable for fsync and *at calls)
};

/// Opens a directory to serve as a root (O_PATH | O_DIRECTORY, follows symlinks: this is
/// configuration, not a request). Errors: errno mapping above.
[[nodiscard]] result<unique_fd> open_root(char const* path) noexcept;

/// Opens `path` (a resolve_path() result; "" names the root itself) beneath `root_fd`, under
/// the symlink and file-type rules above. Errors: errno mapping above; errc::access_violation
/// for escapes, loops, absolute symlinks, an absolute `path`, NUL, wrong file type; errc::name_too_long for
/// paths or symlink expansions over max_path_length, or deeper than 256 directories (walker).
[[nodiscard]] result<unique_fd> open_beneath(int root_fd, std::string_view path, open_kind kind,
                                             open_options const& opts = {}) noexcept;

/// Identity of an opened file version: the cache key and the in-place modification check.
struct file_identity {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;
  std::uint64_t size = 0;
  friend constexpr bool operator==(file_identity const&, file_identity const&) noexcept = default;
};

/// fstat() of `fd` as a file_identity. Errors: errno mapping above.
[[nodiscard]] result<file_identity> identify(int fd) noexcept;

namespace detail {
struct open_file {
  unique_fd fd;
  file_identity id;
};
}  // namespace detail

/// A regular file opened for one or more read transfers; satisfies tftp::block_source.
/// Copies share the same fd (reference counted); read_at uses pread, so concurrent transfers
/// never disturb each other. See the file's doc for the consistency guarantee.
/// Each file_source (each copy) keeps a read-ahead buffer of up to `read_ahead` bytes, taken
/// when it is created: a lockstep transfer of 1024-byte blocks then costs one pread per 16
/// blocks instead of one per block, and a go-back after loss is usually served from it.
class file_source {
 public:
  static constexpr std::size_t read_ahead = 16 * 1024;

  /// Opens `path` beneath `root_fd` without caching. Errors: as open_beneath; errc::io_error if
  /// fstat fails; std::errc::not_enough_memory.
  [[nodiscard]] static result<file_source> open(int root_fd, std::string_view path,
                                                open_options const& opts = {}) noexcept;
  /// Takes an already opened regular file. Errors: errc::access_violation if not regular.
  [[nodiscard]] static result<file_source> adopt(unique_fd fd) noexcept;

  /// Reads up to out.size() bytes at `off`; short only at the size recorded at open (0 at or
  /// past it). Errors: errc::io_error (read failure, or the file shrank, grew or was rewritten
  /// since it was opened). No allocation.
  [[nodiscard]] result<std::size_t> read_at(std::uint64_t off, std::span<std::byte> out) noexcept;
  /// The size recorded at open (the tsize to announce).
  [[nodiscard]] std::uint64_t size() const noexcept { return file_->id.size; }
  [[nodiscard]] file_identity const& identity() const noexcept { return file_->id; }
  [[nodiscard]] int native_handle() const noexcept { return file_->fd.get(); }
  /// How many file_source objects share this open file.
  [[nodiscard]] long use_count() const noexcept { return file_.use_count(); }
  /// preads issued so far by this source (tests, statistics).
  [[nodiscard]] std::uint64_t reads() const noexcept { return reads_; }

  file_source(file_source const& o) noexcept : file_source{o.file_} {}
  file_source& operator=(file_source const& o) noexcept {
    if (this != &o) *this = file_source{o.file_};
    return *this;
  }
  file_source(file_source&&) noexcept = default;
  file_source& operator=(file_source&&) noexcept = default;
  ~file_source() = default;

 private:
  explicit file_source(std::shared_ptr<detail::open_file> f) noexcept;
  friend class file_cache;
  [[nodiscard]] result<std::size_t> pread_checked(std::uint64_t off, std::span<std::byte> out) noexcept;

  std::shared_ptr<detail::open_file> file_;
  std::unique_ptr<std::byte[]> buffer_;  ///< read-ahead; null if it could not be allocated
  std::size_t capacity_ = 0;
  std::uint64_t buffered_at_ = 0;        ///< file offset of buffer_[0]
  std::size_t buffered_ = 0;             ///< valid bytes in buffer_
  std::uint64_t reads_ = 0;
};
static_assert(block_source<file_source>);

/// Shares open files between concurrent transfers: N boards fetching the same kernel use one fd.
/// Entries are keyed by file_identity (dev, inode, mtime, size), so a file replaced or modified
/// on disk gets a new entry while running transfers keep the old one. The cache holds weak
/// references: an fd is closed when its last transfer ends. Thread-safe (one mutex; taken per
/// RRQ, never per block).
class file_cache {
 public:
  /// `max_entries` bounds the table; beyond it files are still opened but not shared.
  explicit file_cache(std::size_t max_entries = 256) noexcept : max_entries_{max_entries} {}

  /// Opens `path` beneath `root_fd` (always a fresh confined open, so permissions and symlinks
  /// are checked on every RRQ) and returns the shared source for that identity.
  /// Errors: as file_source::open.
  [[nodiscard]] result<file_source> open(int root_fd, std::string_view path,
                                         open_options const& opts = {}) noexcept;

  /// Entries whose file is still open by some transfer.
  [[nodiscard]] std::size_t live_entries() const noexcept;

 private:
  struct entry {
    file_identity id;
    std::weak_ptr<detail::open_file> file;
  };
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::vector<entry> entries_;
};

/// Options of a WRQ upload.
struct sink_options {
  std::uint64_t max_size = 64ULL << 20;  ///< larger uploads fail with errc::disk_full
  bool allow_overwrite = false;          ///< false: an existing target -> errc::file_exists
  bool force_named_temp = false;         ///< skip O_TMPFILE (tests; filesystems without it)
  bool sync = true;                      ///< fsync file and directory on commit
  ::mode_t mode = 0644;                  ///< permissions of the new file (umask applies)
  open_options open{};                   ///< how the target's directory is resolved
};

/// The destination of a WRQ; satisfies tftp::block_sink.
/// The upload goes to an unnamed O_TMPFILE in the target's directory (or, when the filesystem
/// lacks it, a `.tftp-<random>.part` file created O_EXCL there). commit() fsyncs and then links
/// it into place atomically: without allow_overwrite with link/RENAME_NOREPLACE semantics (a
/// target that appeared meanwhile -> errc::file_exists, never clobbered), with it by rename(2).
/// abort() (also run by the destructor when neither was called) discards the data: nothing
/// partial is ever visible under the target name; a crash leaves nothing (O_TMPFILE) or only the
/// hidden `.part` file.
class file_sink {
 public:
  /// Prepares an upload to `path` (a resolve_path() result) beneath `root_fd`. The directory
  /// must exist. Errors: as open_beneath for the directory; errc::file_exists (target exists
  /// and !allow_overwrite); errc::access_violation (target exists and is not a regular file);
  /// errno mapping for the temp file.
  [[nodiscard]] static result<file_sink> create(int root_fd, std::string_view path,
                                                sink_options const& opts = {}) noexcept;

  file_sink(file_sink&& o) noexcept;
  file_sink& operator=(file_sink&& o) noexcept;
  file_sink(file_sink const&) = delete;
  file_sink& operator=(file_sink const&) = delete;
  ~file_sink();

  /// Writes all of `in` at `off`. Errors: errc::disk_full (off + size over max_size, ENOSPC),
  /// errc::illegal_operation (after commit/abort), errc::io_error. No allocation.
  [[nodiscard]] result<std::size_t> write_at(std::uint64_t off, std::span<const std::byte> in) noexcept;
  /// fsync, link into place, fsync the directory. On error the upload is discarded.
  /// Errors: errc::file_exists, errc::illegal_operation (called twice / after abort), errno
  /// mapping.
  [[nodiscard]] std::error_code commit() noexcept;
  /// Discards the upload. Idempotent.
  void abort() noexcept;
  /// The configured upload limit (a WRQ's tsize above it can be refused with errc::disk_full
  /// before any data moves).
  [[nodiscard]] std::uint64_t max_size() const noexcept { return opts_.max_size; }
  /// Highest offset written so far.
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  /// True while the temp file is an unnamed O_TMPFILE.
  [[nodiscard]] bool uses_tmpfile() const noexcept { return tmpfile_; }

 private:
  file_sink() noexcept = default;
  unique_fd dir_;
  unique_fd file_;
  char name_[max_component_length + 1] = {};
  char temp_name_[32] = {};
  sink_options opts_{};
  std::uint64_t size_ = 0;
  bool tmpfile_ = false;
  bool done_ = true;
};
static_assert(block_sink<file_sink>);

}  // namespace pinetboot::tftp
