#include "pinetboot/layout/copy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

struct stat lstat_of(std::filesystem::path const& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

std::string link_target(std::filesystem::path const& p) {
  std::error_code ec;
  return std::filesystem::read_symlink(p, ec).string();
}

void set_time(std::filesystem::path const& p, long sec, long nsec) {
  struct timespec t[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << p;
}

// A golden tree with every kind of entry cp -a must keep.
class LayoutCopyTree : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = dir_ / "golden";
    auto& s = src_;
    std::filesystem::create_directories(s / "etc");
    std::filesystem::create_directories(s / "usr/bin");
    test::write_text(s / "etc/hostname", "golden\n");
    test::write_text(s / "usr/bin/tool", "#!/bin/sh\n");
    ::chmod((s / "usr/bin/tool").c_str(), 04755);
    test::write_text(s / "etc/secret", "s");
    ::chmod((s / "etc/secret").c_str(), 0400);
    std::filesystem::create_symlink("/etc/passwd", s / "etc/abs-link");
    std::filesystem::create_symlink("../../x", s / "etc/rel-link");
    std::filesystem::create_symlink("/", s / "rootlink");  // a dir symlink: must not be followed
    test::write_text(s / "a", "linked");
    ASSERT_EQ(::link((s / "a").c_str(), (s / "usr/b").c_str()), 0);
    ASSERT_EQ(::mkfifo((s / "fifo").c_str(), 0640), 0);
    if (::geteuid() == 0) {
      ASSERT_EQ(::mknod((s / "null").c_str(), S_IFCHR | 0666, ::makedev(1, 3)), 0);
    }
    // 64 MiB sparse file with 4 KiB of data in the middle.
    int fd = ::open((s / "sparse").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
    std::string block(4096, 'z');
    ASSERT_EQ(::pwrite(fd, block.data(), block.size(), 32 << 20), 4096);
    ::close(fd);
    xattrs_ = ::setxattr((s / "etc/hostname").c_str(), "user.pinetboot", "v1", 2, 0) == 0;
    ::chmod((s / "etc").c_str(), 0555);
    set_time(s / "etc/hostname", 1600000000, 123456789);
    set_time(s / "etc/abs-link", 1500000000, 987654321);
    set_time(s / "etc", 1400000000, 111111111);
  }
  void TearDown() override { ::chmod((src_ / "etc").c_str(), 0755); }

  test::temp_dir dir_;
  std::filesystem::path src_;
  bool xattrs_ = false;
};

TEST_F(LayoutCopyTree, PreservesEverythingAndNothingEscapes) {
  auto dst = dir_ / "copy";
  std::uint64_t reported = 0;
  copy_options opt;
  opt.on_bytes = [&](std::uint64_t n) {
    reported += n;
    return true;
  };
  auto stats = copy_tree(src_, dst, opt);
  ASSERT_TRUE(stats) << stats.error().message();

  EXPECT_EQ(test::read_text(dst / "etc/hostname"), "golden\n");
  EXPECT_EQ(lstat_of(dst / "usr/bin/tool").st_mode & 07777, 04755U);
  EXPECT_EQ(lstat_of(dst / "etc/secret").st_mode & 07777, 0400U);
  EXPECT_EQ(lstat_of(dst / "etc").st_mode & 07777, 0555U);

  // Symlinks stay links with their exact text; nothing outside was copied or followed.
  EXPECT_TRUE(S_ISLNK(lstat_of(dst / "etc/abs-link").st_mode));
  EXPECT_EQ(link_target(dst / "etc/abs-link"), "/etc/passwd");
  EXPECT_EQ(link_target(dst / "etc/rel-link"), "../../x");
  EXPECT_EQ(link_target(dst / "rootlink"), "/");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x"));
  EXPECT_EQ(stats->symlinks, 3U);

  // Hard links stay one inode, separate from the golden one.
  auto a = lstat_of(dst / "a"), b = lstat_of(dst / "usr/b");
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2U);
  EXPECT_NE(a.st_ino, lstat_of(src_ / "a").st_ino);
  EXPECT_EQ(stats->hard_links, 1U);

  auto fifo = lstat_of(dst / "fifo");
  EXPECT_TRUE(S_ISFIFO(fifo.st_mode));
  EXPECT_EQ(fifo.st_mode & 0777, 0640U);
  if (::geteuid() == 0) {
    auto dev = lstat_of(dst / "null");
    EXPECT_TRUE(S_ISCHR(dev.st_mode));
    EXPECT_EQ(dev.st_rdev, ::makedev(1, 3));
  } else {
    EXPECT_FALSE(std::filesystem::exists(dst / "null"));
  }

  // The sparse file keeps its size and stays sparse.
  auto sp = lstat_of(dst / "sparse");
  EXPECT_EQ(sp.st_size, 64 << 20);
  EXPECT_LT(sp.st_blocks * 512, 1 << 20) << "holes were filled";
  std::string got(4096, '\0');
  int fd = ::open((dst / "sparse").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::pread(fd, got.data(), got.size(), 32 << 20), 4096);
  ::close(fd);
  EXPECT_EQ(got, std::string(4096, 'z'));

  // Nanosecond timestamps, on files, symlinks and directories.
  auto h = lstat_of(dst / "etc/hostname");
  EXPECT_EQ(h.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(h.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(lstat_of(dst / "etc/abs-link").st_mtim.tv_nsec, 987654321);
  EXPECT_EQ(lstat_of(dst / "etc").st_mtim.tv_sec, 1400000000);
  EXPECT_EQ(lstat_of(dst / "etc").st_mtim.tv_nsec, 111111111);

  // Owners (as root every entry keeps the golden owner; we can only test what we can set).
  EXPECT_EQ(lstat_of(dst / "etc/hostname").st_uid, lstat_of(src_ / "etc/hostname").st_uid);
  EXPECT_EQ(lstat_of(dst / "etc/hostname").st_gid, lstat_of(src_ / "etc/hostname").st_gid);

  if (xattrs_) {
    char v[8] = {};
    auto n = ::getxattr((dst / "etc/hostname").c_str(), "user.pinetboot", v, sizeof v);
    EXPECT_EQ(n, 2);
    EXPECT_EQ(std::string(v, 2), "v1");
  }

  auto total = tree_bytes(src_);
  ASSERT_TRUE(total);
  // hostname 7 + tool 10 + secret 1 + a 6 (counted once) + sparse 64 MiB
  EXPECT_EQ(*total, 7U + 10U + 1U + 6U + (64U << 20));
  EXPECT_EQ(reported, stats->bytes);
  EXPECT_LE(reported, *total);
}

TEST_F(LayoutCopyTree, ChownsToGoldenOwnerAsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_EQ(::lchown((src_ / "usr/bin/tool").c_str(), 1234, 5678), 0);
  ::chmod((src_ / "usr/bin/tool").c_str(), 04755);  // chown cleared set-uid
  ASSERT_EQ(::lchown((src_ / "etc/abs-link").c_str(), 4321, 8765), 0);
  auto dst = dir_ / "copy";
  ASSERT_TRUE(copy_tree(src_, dst, {}));
  auto t = lstat_of(dst / "usr/bin/tool");
  EXPECT_EQ(t.st_uid, 1234U);
  EXPECT_EQ(t.st_gid, 5678U);
  EXPECT_EQ(t.st_mode & 07777, 04755U) << "chmod must come after chown";
  EXPECT_EQ(lstat_of(dst / "etc/abs-link").st_uid, 4321U);
}

TEST_F(LayoutCopyTree, LinkFilesSharesInodesWithGolden) {
  auto dst = dir_ / "linked";
  copy_options opt;
  opt.link_files = true;
  auto stats = copy_tree(src_, dst, opt);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(lstat_of(dst / "etc/hostname").st_ino, lstat_of(src_ / "etc/hostname").st_ino);
  EXPECT_TRUE(S_ISLNK(lstat_of(dst / "etc/abs-link").st_mode));
  EXPECT_NE(lstat_of(dst / "etc").st_ino, lstat_of(src_ / "etc").st_ino);
}

TEST_F(LayoutCopyTree, RefusesExistingDestinationAndHonoursCancel) {
  auto dst = dir_ / "copy";
  std::filesystem::create_directories(dst);
  auto r = copy_tree(src_, dst, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::errc::file_exists);
  copy_options opt;
  opt.on_bytes = [](std::uint64_t) { return false; };
  auto c = copy_tree(src_, dir_ / "cancelled", opt);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), errc::cancelled);
  EXPECT_FALSE(remove_tree(dir_ / "cancelled"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cancelled"));
  EXPECT_EQ(copy_tree(dir_ / "nope", dir_ / "x", {}).error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(copy_tree(src_ / "a", dir_ / "x", {}).error(), std::errc::not_a_directory);
}

TEST(LayoutCopy, RemoveTreeHandlesReadOnlyDirectoriesAndMissingPaths) {
  test::temp_dir dir;
  std::filesystem::create_directories(dir / "t/ro/sub");
  test::write_text(dir / "t/ro/sub/f", "x");
  ::chmod((dir / "t/ro/sub").c_str(), 0500);
  ::chmod((dir / "t/ro").c_str(), 0500);
  EXPECT_FALSE(remove_tree(dir / "t"));
  EXPECT_FALSE(std::filesystem::exists(dir / "t"));
  EXPECT_FALSE(remove_tree(dir / "never"));
}

}  // namespace
}  // namespace pinetboot::layout
