#include "pinetboot/tftp/file_source.hpp"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "pinetboot/tftp/path.hpp"

namespace pinetboot::tftp {
namespace {

namespace fs = std::filesystem;

std::error_code const access_violation = make_error_code(errc::access_violation);
std::error_code const not_found = make_error_code(errc::file_not_found);

void write_file(fs::path const& p, std::string_view content) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << p;
}

std::string read_file(fs::path const& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// Reads a whole source through read_at in `chunk`-byte blocks, like a TFTP session.
result<std::string> drain(file_source& src, std::size_t chunk = 512) {
  std::string all;
  std::vector<std::byte> buf(chunk);
  for (std::uint64_t off = 0;;) {
    auto n = src.read_at(off, buf);
    if (!n) return n.error();
    all.append(reinterpret_cast<char const*>(buf.data()), *n);
    off += *n;
    if (*n < chunk) return all;
  }
}

// A mkdtemp tree: <tmp>/root is served, <tmp>/outside holds a secret that must never leak.
class temp_tree {
 public:
  temp_tree() {
    std::string tmpl = (fs::temp_directory_path() / "pinetboot-fsrc-XXXXXX").string();
    char* d = ::mkdtemp(tmpl.data());
    if (d == nullptr) throw std::runtime_error("mkdtemp failed");
    base_ = d;
    fs::create_directories(base_ / "root");
    fs::create_directories(base_ / "outside");
  }
  temp_tree(temp_tree const&) = delete;
  temp_tree& operator=(temp_tree const&) = delete;
  ~temp_tree() {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  [[nodiscard]] fs::path const& base() const { return base_; }
  [[nodiscard]] fs::path root() const { return base_ / "root"; }

 private:
  fs::path base_;
};

constexpr std::string_view secret = "TOP-SECRET-outside-the-root";

class TftpFileSource : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    opts_.force_fallback = GetParam();
    if (!GetParam() && !core::openat2_available())
      GTEST_SKIP() << "kernel without openat2: fallback covers it";
    auto r = tree_.root();
    write_file(r / "kernel.img", "kernel-bytes");
    fs::create_directories(r / "sub" / "deeper");
    fs::create_directories(r / "emptydir");
    write_file(r / "sub" / "file.txt", "inside");
    write_file(r / "sub" / "deeper" / "x", "deep");
    write_file(tree_.base() / "outside" / "secret", secret);
    fs::create_symlink("sub/file.txt", r / "link_in");
    fs::create_symlink("chain2", r / "chain1");
    fs::create_symlink("sub/../sub/./file.txt", r / "chain2");
    fs::create_symlink("sub", r / "dirlink");
    fs::create_symlink("../kernel.img", r / "sub" / "up");
    fs::create_symlink("../../kernel.img", r / "sub" / "deeper" / "up2");
    fs::create_symlink("../dirlink/deeper", r / "sub" / "hop");
    fs::create_symlink("../outside/secret", r / "esc_rel");
    fs::create_symlink((tree_.base() / "outside" / "secret").string(), r / "esc_abs");
    fs::create_symlink((r / "kernel.img").string(), r / "abs_inside");
    fs::create_symlink("sub/../../outside/secret", r / "esc_deep");
    fs::create_symlink("../../outside", r / "sub" / "esc_dir");
    fs::create_symlink("loop_b", r / "loop_a");
    fs::create_symlink("loop_a", r / "loop_b");
    fs::create_symlink("self", r / "self");
    fs::create_symlink("kernel.img/", r / "file_as_dir");
    fs::create_symlink("", r / "empty_link", ec_);  // some systems refuse empty targets
    ASSERT_EQ(::mkfifo((r / "fifo").c_str(), 0644), 0);
    auto root = open_root(r.c_str());
    ASSERT_TRUE(root) << root.error().message();
    root_ = std::move(*root);
  }

  result<std::string> fetch(std::string_view path) {
    auto src = file_source::open(root_.get(), path, opts_);
    if (!src) return src.error();
    return drain(*src);
  }

  temp_tree tree_;
  unique_fd root_;
  open_options opts_;
  std::error_code ec_;
};

INSTANTIATE_TEST_SUITE_P(Resolvers, TftpFileSource, ::testing::Values(false, true),
                         [](auto const& p) { return p.param ? "Fallback" : "Openat2"; });

TEST_P(TftpFileSource, ServesRegularFile) {
  auto got = fetch("kernel.img");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, "kernel-bytes");
  auto src = file_source::open(root_.get(), "kernel.img", opts_);
  ASSERT_TRUE(src);
  EXPECT_EQ(src->size(), 12u);
  std::array<std::byte, 4> b{};
  auto n = src->read_at(8, b);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(static_cast<char>(b[0]), 'y');  // "kernel-bytes"[8]
  n = src->read_at(10, b);                  // short only at the end
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  n = src->read_at(12, b);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  n = src->read_at(1u << 30, b);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

TEST_P(TftpFileSource, OutOfDescriptorsIsReportedAsSuch) {
  // With the soft limit at the lowest free descriptor, the next open fails with EMFILE: that
  // must come back as "too many open files" (the server names the fix), not as an I/O error.
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  int probe = ::dup(0);
  ASSERT_GE(probe, 0);
  ::close(probe);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(probe);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto src = file_source::open(root_.get(), "kernel.img", opts_);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error(), std::errc::too_many_files_open) << src.error().message();
  auto again = fetch("kernel.img");  // and fine again once there is room
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again, "kernel-bytes");
}

TEST_P(TftpFileSource, ServesNestedPathsAndBlockSizes) {
  for (std::size_t chunk : {1u, 3u, 512u, 1468u}) {
    auto src = file_source::open(root_.get(), "sub/deeper/x", opts_);
    ASSERT_TRUE(src);
    auto got = drain(*src, chunk);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, "deep");
  }
}

TEST_P(TftpFileSource, AbsoluteRequestStaysInsideRoot) {
  // "/etc/passwd" resolves to <root>/etc/passwd: absent -> not found, never the host file.
  resolved_path p;
  ASSERT_FALSE(p.assign("/etc/passwd"));
  EXPECT_EQ(fetch(p.view()).error(), not_found);
  fs::create_directories(tree_.root() / "etc");
  write_file(tree_.root() / "etc" / "passwd", "tftp-root-copy");
  auto got = fetch(p.view());
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "tftp-root-copy");
}

TEST_P(TftpFileSource, TraversalNeverReachesOutside) {
  // Refused by the resolver...
  resolved_path p;
  for (auto req : {"../etc/passwd", "a/../../x", "..\\..\\x", "../outside/secret"}) {
    EXPECT_TRUE(p.assign(req)) << req;
  }
  // ...and by open_beneath even if a caller skipped the resolver.
  for (auto raw :
       {"../outside/secret", "sub/../../outside/secret", "/etc/passwd", "sub/../../../../etc/passwd"}) {
    auto r = fetch(raw);
    ASSERT_FALSE(r) << raw << " gave " << *r;
    EXPECT_TRUE(r.error() == access_violation || r.error() == not_found)
        << raw << ": " << r.error().message();
  }
}

TEST_P(TftpFileSource, SymlinksLeavingRootAreAccessViolations) {
  for (auto name : {"esc_rel", "esc_abs", "esc_deep", "sub/esc_dir/secret"}) {
    auto r = fetch(name);
    ASSERT_FALSE(r) << name << " leaked " << *r;
    EXPECT_EQ(r.error(), access_violation) << name << ": " << r.error().message();
  }
  // RESOLVE_BENEATH semantics: absolute links are refused even when they point inside.
  EXPECT_EQ(fetch("abs_inside").error(), access_violation);
}

TEST_P(TftpFileSource, SymlinksInsideRootAreFollowed) {
  EXPECT_EQ(fetch("link_in").value_or("?"), "inside");
  EXPECT_EQ(fetch("chain1").value_or("?"), "inside");
  EXPECT_EQ(fetch("dirlink/file.txt").value_or("?"), "inside");
  EXPECT_EQ(fetch("sub/up").value_or("?"), "kernel-bytes");
  EXPECT_EQ(fetch("sub/deeper/up2").value_or("?"), "kernel-bytes");
  EXPECT_EQ(fetch("sub/hop/x").value_or("?"), "deep");
  EXPECT_EQ(fetch("sub/hop/up2").value_or("?"), "kernel-bytes");
}

TEST_P(TftpFileSource, RefusesAllSymlinksWhenConfigured) {
  opts_.follow_symlinks = false;
  EXPECT_EQ(fetch("link_in").error(), access_violation);
  EXPECT_EQ(fetch("dirlink/file.txt").error(), access_violation);
  EXPECT_EQ(fetch("kernel.img").value_or("?"), "kernel-bytes");
}

TEST_P(TftpFileSource, SymlinkLoopsFailFast) {
  auto const start = std::chrono::steady_clock::now();
  EXPECT_EQ(fetch("loop_a").error(), access_violation);
  EXPECT_EQ(fetch("self").error(), access_violation);
  EXPECT_EQ(fetch("self/x").error(), access_violation);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_P(TftpFileSource, OnlyRegularFilesAreServed) {
  EXPECT_EQ(fetch("sub").error(), access_violation);
  EXPECT_EQ(fetch("emptydir").error(), access_violation);
  EXPECT_EQ(fetch("dirlink").error(), access_violation);
  EXPECT_EQ(fetch("").error(), access_violation);  // the root itself
  // A FIFO with no writer would block open(O_RDONLY): we must answer without opening it.
  EXPECT_EQ(fetch("fifo").error(), access_violation);
  EXPECT_EQ(fetch("file_as_dir").error(), not_found);  // "kernel.img/" is not a directory
}

TEST_P(TftpFileSource, DeviceNodeRefused) {
  auto dev = tree_.root() / "null";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) GTEST_SKIP() << "mknod not permitted";
  EXPECT_EQ(fetch("null").error(), access_violation);
}

TEST_P(TftpFileSource, MissingFilesAndBadNames) {
  EXPECT_EQ(fetch("nope").error(), not_found);
  EXPECT_EQ(fetch("sub/nope/x").error(), not_found);
  EXPECT_EQ(fetch("kernel.img/x").error(), not_found);  // a file used as a directory
  if (!ec_) {
    EXPECT_FALSE(fetch("empty_link"));
  }
  EXPECT_EQ(fetch(std::string(300, 'n')).error(), make_error_code(errc::name_too_long));
  EXPECT_EQ(fetch(std::string(5000, 'n')).error(), make_error_code(errc::name_too_long));
  EXPECT_EQ(fetch(std::string_view{"kernel.img\0x", 12}).error(), access_violation);
}

TEST_P(TftpFileSource, OpensDirectoriesForSinks) {
  auto d = open_beneath(root_.get(), "dirlink/deeper", open_kind::directory, opts_);
  ASSERT_TRUE(d) << d.error().message();
  struct stat a {
  }, b{};
  ASSERT_EQ(::fstat(d->get(), &a), 0);
  ASSERT_EQ(::stat((tree_.root() / "sub" / "deeper").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(::fsync(d->get()), 0);  // a real fd, not O_PATH
  auto r = open_beneath(root_.get(), "", open_kind::directory, opts_);
  ASSERT_TRUE(r);
  EXPECT_EQ(open_beneath(root_.get(), "kernel.img", open_kind::directory, opts_).error(), not_found);
  EXPECT_EQ(open_beneath(root_.get(), "sub/esc_dir", open_kind::directory, opts_).error(), access_violation);
}

TEST_P(TftpFileSource, RenameReplacementKeepsServingOldInode) {
  std::string old_content(5000, 'o');
  write_file(tree_.root() / "big.img", old_content);
  auto src = file_source::open(root_.get(), "big.img", opts_);
  ASSERT_TRUE(src);
  std::array<std::byte, 512> b{};
  ASSERT_EQ(src->read_at(0, b).value_or(0), 512u);
  // Replace it the way package managers do: new file, rename over.
  write_file(tree_.root() / "big.img.new", std::string(7000, 'n'));
  fs::rename(tree_.root() / "big.img.new", tree_.root() / "big.img");
  auto rest = drain(*src);
  ASSERT_TRUE(rest) << rest.error().message();
  EXPECT_EQ(*rest, old_content);
  EXPECT_EQ(src->size(), 5000u);
  auto fresh = fetch("big.img");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*fresh, std::string(7000, 'n'));
}

TEST_P(TftpFileSource, InPlaceTruncationAbortsInsteadOfTornData) {
  constexpr std::size_t size = 4 * file_source::read_ahead;
  write_file(tree_.root() / "t.img", std::string(size, 't'));
  auto src = file_source::open(root_.get(), "t.img", opts_);
  ASSERT_TRUE(src);
  std::array<std::byte, 512> b{};
  ASSERT_TRUE(src->read_at(0, b));
  ASSERT_EQ(::truncate((tree_.root() / "t.img").c_str(), 1000), 0);
  // Past the read-ahead: the file ended before its recorded size.
  auto r = src->read_at(2 * file_source::read_ahead, b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::io_error));
}

TEST_P(TftpFileSource, InPlaceRewriteAbortsInsteadOfTornData) {
  auto p = tree_.root() / "w.img";
  constexpr std::size_t size = 2 * file_source::read_ahead + 2048;
  write_file(p, std::string(size, 'a'));
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), old_times, 0), 0);
  auto src = file_source::open(root_.get(), "w.img", opts_);
  ASSERT_TRUE(src);
  std::array<std::byte, 512> b{};
  ASSERT_TRUE(src->read_at(0, b));
  {
    int fd = ::open(p.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "BBBB", 4, 600), 4);                  // inside what was read ahead
    ASSERT_EQ(::pwrite(fd, "BBBB", 4, size - 100), 4);           // and in the last block
    ::close(fd);
  }
  // Checked at 256 KiB boundaries and always for the read that reaches the end: the transfer
  // cannot complete with the changed file, and no byte it returned is a changed one.
  bool failed = false;
  for (std::uint64_t off = 512; off < size && !failed; off += b.size()) {
    auto r = src->read_at(off, b);
    if (!r) {
      failed = true;
      EXPECT_EQ(r.error(), make_error_code(errc::io_error));
      break;
    }
    for (std::size_t i = 0; i < *r; ++i) ASSERT_EQ(static_cast<char>(b[i]), 'a') << "offset " << off + i;
  }
  EXPECT_TRUE(failed);
}

TEST_P(TftpFileSource, SmallFileIsServedAsReadAtTheFirstBlock) {
  // A file within the read-ahead is read whole by the first read_at: a later in-place change
  // cannot mix into the transfer, which carries the version it started with.
  auto p = tree_.root() / "cfg.txt";
  write_file(p, std::string(3000, 'o'));
  auto src = file_source::open(root_.get(), "cfg.txt", opts_);
  ASSERT_TRUE(src);
  std::array<std::byte, 512> b{};
  ASSERT_TRUE(src->read_at(0, b));
  write_file(p, std::string(3000, 'n'));
  std::string got;
  for (std::uint64_t off = 512; off < 3000; off += b.size()) {
    auto r = src->read_at(off, b);
    ASSERT_TRUE(r);
    got.append(reinterpret_cast<char const*>(b.data()), *r);
  }
  EXPECT_EQ(got, std::string(3000 - 512, 'o'));
  EXPECT_EQ(src->reads(), 1U);
}

TEST_P(TftpFileSource, SequentialBlocksShareOneReadPerReadAhead) {
  std::string content;
  for (std::size_t i = 0; i < (1u << 20) + 777; ++i) content.push_back(static_cast<char>(i * 131 + i / 4099));
  write_file(tree_.root() / "k.img", content);
  auto src = file_source::open(root_.get(), "k.img", opts_);
  ASSERT_TRUE(src);
  std::array<std::byte, 1024> b{};
  std::string got;
  for (std::uint64_t off = 0; off < content.size(); off += b.size()) {
    auto r = src->read_at(off, b);
    ASSERT_TRUE(r) << off;
    got.append(reinterpret_cast<char const*>(b.data()), *r);
  }
  EXPECT_EQ(got, content);
  EXPECT_LE(src->reads(), content.size() / file_source::read_ahead + 2);
  // Going back (a window resent after loss) within the buffer needs no read; further back, one.
  auto before = src->reads();
  ASSERT_TRUE(src->read_at(content.size() - 500, b));  // inside the last read-ahead
  EXPECT_EQ(src->reads(), before);
  ASSERT_TRUE(src->read_at(4096, b));
  EXPECT_EQ(src->reads(), before + 1);
  EXPECT_EQ(std::memcmp(b.data(), content.data() + 4096, b.size()), 0);
  // A copy has its own read-ahead over the same file.
  auto copy = *src;
  ASSERT_TRUE(copy.read_at(8192, b));
  EXPECT_EQ(std::memcmp(b.data(), content.data() + 8192, b.size()), 0);
  EXPECT_EQ(copy.use_count(), 2);
}

TEST_P(TftpFileSource, InPlaceRewriteOfABigFileIsCaughtAtTheNextCheckpoint) {
  auto p = tree_.root() / "big.img";
  write_file(p, std::string(1 << 20, 'a'));
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), old_times, 0), 0);
  auto src = file_source::open(root_.get(), "big.img", opts_);
  ASSERT_TRUE(src);
  std::array<std::byte, 1024> b{};
  ASSERT_TRUE(src->read_at(0, b));
  {
    int fd = ::open(p.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "BBBB", 4, 4096), 4);
    ::close(fd);
  }
  // The first read that reaches the 256 KiB checkpoint fails.
  bool failed = false;
  for (std::uint64_t off = 1024; off < (1u << 20) && !failed; off += b.size()) {
    auto r = src->read_at(off, b);
    if (!r) {
      failed = true;
      EXPECT_LE(off, 256u * 1024u);
    }
  }
  EXPECT_TRUE(failed);
}

TEST_P(TftpFileSource, CacheSharesOneFdPerFileVersion) {
  file_cache cache;
  auto a = cache.open(root_.get(), "kernel.img", opts_);
  auto b = cache.open(root_.get(), "link_in", opts_);  // another file
  auto c = cache.open(root_.get(), "sub/up", opts_);   // same inode as a, through a symlink
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->native_handle(), c->native_handle());
  EXPECT_NE(a->native_handle(), b->native_handle());
  EXPECT_EQ(a->use_count(), 2);
  EXPECT_EQ(cache.live_entries(), 2u);
  {
    std::vector<file_source> boards;
    for (int i = 0; i < 20; ++i) {
      auto s = cache.open(root_.get(), "kernel.img", opts_);
      ASSERT_TRUE(s);
      boards.push_back(*s);
    }
    EXPECT_EQ(a->use_count(), 22);
    for (auto& s : boards) EXPECT_EQ(drain(s).value_or("?"), "kernel-bytes");
  }
  EXPECT_EQ(a->use_count(), 2);
  // A replaced file is a new version: new entry; the running transfer keeps the old one.
  write_file(tree_.root() / "kernel.new", "kernel-v2");
  fs::rename(tree_.root() / "kernel.new", tree_.root() / "kernel.img");
  auto d = cache.open(root_.get(), "kernel.img", opts_);
  ASSERT_TRUE(d);
  EXPECT_NE(d->identity(), a->identity());
  EXPECT_EQ(drain(*d).value_or("?"), "kernel-v2");
  EXPECT_EQ(drain(*a).value_or("?"), "kernel-bytes");
  EXPECT_EQ(cache.live_entries(), 3u);
  // Entries die with their last transfer, and the fds are closed.
  int const fd = a->native_handle();
  a = errc::io_error;
  c = errc::io_error;
  EXPECT_EQ(cache.live_entries(), 2u);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed with its last user
  // Errors are not cached.
  EXPECT_EQ(cache.open(root_.get(), "esc_rel", opts_).error(), access_violation);
}

TEST_P(TftpFileSource, CacheIsSharedAcrossThreads) {
  file_cache cache;
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  std::vector<std::vector<file_source>> held(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto s = cache.open(root_.get(), i % 2 ? "kernel.img" : "sub/up", opts_);
        if (s) held[static_cast<std::size_t>(t)].push_back(*s);
      }
    });
  }
  for (auto& th : pool) th.join();
  int const fd = held[0][0].native_handle();
  for (auto const& v : held) {
    ASSERT_EQ(v.size(), static_cast<std::size_t>(per_thread));
    for (auto const& s : v) EXPECT_EQ(s.native_handle(), fd);
  }
  EXPECT_EQ(held[0][0].use_count(), threads * per_thread);
  EXPECT_EQ(cache.live_entries(), 1u);
}

// Runs in a child whose seccomp filter makes openat2 fail with ENOSYS, as on old kernels and
// in some containers: default options must switch to the walker and keep every guarantee.
TEST_P(TftpFileSource, FallsBackWhenOpenat2ReturnsEnosys) {
  if (GetParam()) GTEST_SKIP() << "exercises the default (openat2) configuration";
  open_options defaults;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<__u32>(offsetof(seccomp_data, nr))),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<__u32>(SYS_openat2), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(77);
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) ::_exit(77);
    if (::syscall(SYS_openat2, AT_FDCWD, "/", nullptr, 0) != -1 || errno != ENOSYS) ::_exit(10);
    auto in = file_source::open(root_.get(), "chain1", defaults);
    if (!in || drain(*in).value_or("?") != "inside") ::_exit(11);
    auto esc = file_source::open(root_.get(), "esc_rel", defaults);
    if (esc || esc.error() != access_violation) ::_exit(12);
    if (core::openat2_available()) ::_exit(13);  // remembered for later opens
    auto again = file_source::open(root_.get(), "sub/deeper/up2", defaults);
    if (!again || drain(*again).value_or("?") != "kernel-bytes") ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "seccomp not available";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child check failed (see exit codes in the test)";
}

TEST(TftpFileSourceMisc, AdoptRejectsNonRegular) {
  unique_fd d{::open("/", O_RDONLY | O_DIRECTORY)};
  ASSERT_TRUE(d);
  EXPECT_EQ(file_source::adopt(std::move(d)).error(), make_error_code(errc::access_violation));
}

TEST(TftpFileSourceMisc, OpenRootErrors) {
  EXPECT_EQ(open_root("/nonexistent-pinetboot-dir").error(), make_error_code(errc::file_not_found));
}

// ---- file_sink ----

class TftpFileSink : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    opts_.force_named_temp = GetParam();
    fs::create_directories(tree_.root() / "up");
    fs::create_symlink("../outside", tree_.root() / "esc");
    fs::create_symlink("up", tree_.root() / "uplink");
    auto root = open_root(tree_.root().c_str());
    ASSERT_TRUE(root);
    root_ = std::move(*root);
  }
  std::set<std::string> listing(fs::path const& dir) {
    std::set<std::string> names;
    for (auto const& e : fs::directory_iterator{dir}) names.insert(e.path().filename().string());
    return names;
  }
  static std::span<const std::byte> bytes(std::string_view s) {
    return {reinterpret_cast<std::byte const*>(s.data()), s.size()};
  }

  temp_tree tree_;
  unique_fd root_;
  sink_options opts_;
};

INSTANTIATE_TEST_SUITE_P(TempKinds, TftpFileSink, ::testing::Values(false, true),
                         [](auto const& p) { return p.param ? "NamedTemp" : "Tmpfile"; });

TEST_P(TftpFileSink, CommitPublishesCompleteFileAtomically) {
  auto s = file_sink::create(root_.get(), "up/log.txt", opts_);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->uses_tmpfile(), !GetParam());
  EXPECT_EQ(s->write_at(0, bytes("hello ")).value_or(0), 6u);
  EXPECT_EQ(s->write_at(6, bytes("world")).value_or(0), 5u);
  EXPECT_EQ(s->size(), 11u);
  EXPECT_FALSE(fs::exists(tree_.root() / "up" / "log.txt"));  // nothing visible before commit
  EXPECT_FALSE(s->commit());
  EXPECT_EQ(read_file(tree_.root() / "up" / "log.txt"), "hello world");
  EXPECT_EQ(listing(tree_.root() / "up"), std::set<std::string>{"log.txt"});  // no temp left
  EXPECT_EQ(s->commit(), make_error_code(errc::illegal_operation));
  EXPECT_EQ(s->write_at(0, bytes("x")).error(), make_error_code(errc::illegal_operation));
}

TEST_P(TftpFileSink, AbortAndDestructorLeaveNothing) {
  {
    auto s = file_sink::create(root_.get(), "up/a.bin", opts_);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->write_at(0, bytes("partial")));
    s->abort();
    s->abort();  // idempotent
    EXPECT_EQ(s->commit(), make_error_code(errc::illegal_operation));
  }
  {
    auto s = file_sink::create(root_.get(), "up/b.bin", opts_);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->write_at(0, bytes("interrupted")));
    file_sink moved = std::move(*s);  // moved-from must not unlink anything twice
  }
  EXPECT_TRUE(listing(tree_.root() / "up").empty());
}

TEST_P(TftpFileSink, RefusesToOverwriteUnlessAllowed) {
  write_file(tree_.root() / "up" / "cfg", "original");
  EXPECT_EQ(file_sink::create(root_.get(), "up/cfg", opts_).error(), make_error_code(errc::file_exists));
  opts_.allow_overwrite = true;
  auto s = file_sink::create(root_.get(), "up/cfg", opts_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_at(0, bytes("replacement")));
  EXPECT_EQ(read_file(tree_.root() / "up" / "cfg"), "original");  // untouched until commit
  EXPECT_FALSE(s->commit());
  EXPECT_EQ(read_file(tree_.root() / "up" / "cfg"), "replacement");
  EXPECT_EQ(listing(tree_.root() / "up"), std::set<std::string>{"cfg"});
}

TEST_P(TftpFileSink, TargetAppearingDuringUploadIsNotClobbered) {
  auto s = file_sink::create(root_.get(), "up/race", opts_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_at(0, bytes("upload")));
  write_file(tree_.root() / "up" / "race", "someone else");
  EXPECT_EQ(s->commit(), make_error_code(errc::file_exists));
  EXPECT_EQ(read_file(tree_.root() / "up" / "race"), "someone else");
  EXPECT_EQ(listing(tree_.root() / "up"), std::set<std::string>{"race"});
}

TEST_P(TftpFileSink, SizeLimitIsDiskFull) {
  opts_.max_size = 10;
  auto s = file_sink::create(root_.get(), "up/big", opts_);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->max_size(), 10u);
  EXPECT_TRUE(s->write_at(0, bytes("0123456789")));
  EXPECT_EQ(s->write_at(10, bytes("x")).error(), make_error_code(errc::disk_full));
  EXPECT_EQ(s->write_at(~0ULL, bytes("x")).error(), make_error_code(errc::disk_full));
  s->abort();
  EXPECT_TRUE(listing(tree_.root() / "up").empty());
}

TEST_P(TftpFileSink, ConfinedLikeReads) {
  EXPECT_EQ(file_sink::create(root_.get(), "esc/evil", opts_).error(),
            make_error_code(errc::access_violation));
  EXPECT_EQ(file_sink::create(root_.get(), "missing/x", opts_).error(),
            make_error_code(errc::file_not_found));
  fs::create_symlink("../outside/target", tree_.root() / "up" / "ln");
  opts_.allow_overwrite = true;
  EXPECT_EQ(file_sink::create(root_.get(), "up/ln", opts_).error(), make_error_code(errc::access_violation));
  EXPECT_EQ(file_sink::create(root_.get(), "up", opts_).error(), make_error_code(errc::access_violation));
  EXPECT_TRUE(listing(tree_.base() / "outside").empty());
  // Through a symlinked directory inside the root is fine.
  auto s = file_sink::create(root_.get(), "uplink/via-link", opts_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_at(0, bytes("ok")));
  EXPECT_FALSE(s->commit());
  EXPECT_EQ(read_file(tree_.root() / "up" / "via-link"), "ok");
}

TEST_P(TftpFileSink, UploadIntoRootAndFallbackResolver) {
  opts_.open.force_fallback = true;
  auto s = file_sink::create(root_.get(), "top.bin", opts_);
  ASSERT_TRUE(s);
  std::string big(100000, 'z');
  for (std::size_t off = 0; off < big.size(); off += 1468) {
    auto part = std::string_view{big}.substr(off, 1468);
    ASSERT_EQ(s->write_at(off, bytes(part)).value_or(0), part.size());
  }
  EXPECT_FALSE(s->commit());
  EXPECT_EQ(read_file(tree_.root() / "top.bin"), big);
}

}  // namespace
}  // namespace pinetboot::tftp
