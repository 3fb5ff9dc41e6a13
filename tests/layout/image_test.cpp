#include "pinetboot/layout/image.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

bool have(char const* tool) {
  return run_tool({"sh", "-c", std::string{"command -v "} + tool}, "/dev/null") == std::error_code{};
}

// Builds a two-partition image like Raspberry Pi OS: p1 FAT (sectors 2048..), p2 ext4.
class LayoutImage : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto t : {"sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs", "dd", "xz"})
      if (!have(t))
        GTEST_SKIP() << t << " not installed (apt-get install fdisk dosfstools mtools e2fsprogs xz-utils)";
    auto d = dir_.path();
    test::write_text(d / "bootsrc/config.txt", "arm_64bit=1\n");
    test::write_text(d / "bootsrc/overlays/vc4.dtbo", "dtbo");
    test::write_text(d / "rootsrc/etc/hostname", "raspberrypi\n");
    std::filesystem::create_symlink("/etc/passwd", d / "rootsrc/pw");
    ::chmod((d / "rootsrc/etc/hostname").c_str(), 0640);
    test::write_text(d / "rootsrc/usr/bin/sudo", "#!/bin/sh\n");
    ::chmod((d / "rootsrc/usr/bin/sudo").c_str(), 04755);
    test::write_text(d / "rootsrc/usr/lib/a", "pair");
    ASSERT_EQ(::link((d / "rootsrc/usr/lib/a").c_str(), (d / "rootsrc/usr/lib/b").c_str()), 0);
    std::filesystem::create_directories(d / "rootsrc/run");
    ASSERT_EQ(::mkfifo((d / "rootsrc/run/fifo").c_str(), 0600), 0);
    ::chmod((d / "rootsrc/run/fifo").c_str(), 0620);  // past the umask
    if (::geteuid() == 0) {
      std::filesystem::create_directories(d / "rootsrc/dev");
      ASSERT_EQ(::mknod((d / "rootsrc/dev/null").c_str(), S_IFCHR | 0666, ::makedev(1, 3)), 0);
    }
    xattrs_ = ::setxattr((d / "rootsrc/usr/lib/a").c_str(), "user.pinetboot", "v1", 2, 0) == 0;
    struct timespec t[2] = {{981173106, 0}, {981173106, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (d / "rootsrc/usr/lib").c_str(), t, 0), 0);
    img_ = d / "pi.img";
    std::string sh = "set -e; cd '" + d.string() +
                     "'; truncate -s 48M pi.img;"
                     " printf 'label: dos\\nstart=2048, size=16384, type=c\\nstart=18432, type=83\\n' | "
                     "sfdisk -q pi.img;"
                     " mkfs.vfat -C boot.fat 8192 >/dev/null; mcopy -s -i boot.fat bootsrc/* ::/;"
                     " mkfs.ext4 -q -F -d rootsrc root.ext4 24M;"
                     " dd if=boot.fat of=pi.img bs=512 seek=2048 conv=notrunc status=none;"
                     " dd if=root.ext4 of=pi.img bs=512 seek=18432 conv=notrunc status=none;"
                     " rm boot.fat root.ext4";
    ASSERT_FALSE(run_tool({"sh", "-c", sh}, "/dev/null"));
  }

  void check(std::filesystem::path const& boot, std::filesystem::path const& root) {
    EXPECT_EQ(test::read_text(boot / "config.txt"), "arm_64bit=1\n");
    EXPECT_EQ(test::read_text(boot / "overlays/vc4.dtbo"), "dtbo");
    EXPECT_EQ(test::read_text(root / "etc/hostname"), "raspberrypi\n");
    EXPECT_EQ(std::filesystem::read_symlink(root / "pw"), "/etc/passwd");
    struct stat st {};
    ASSERT_EQ(::stat((root / "etc/hostname").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640U);
    ASSERT_EQ(::stat((root / "usr/bin/sudo").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755U) << "set-uid bit lost (debugfs rdump chmods before chown)";
    struct stat a {
    }, b{};
    ASSERT_EQ(::lstat((root / "usr/lib/a").c_str(), &a), 0);
    ASSERT_EQ(::lstat((root / "usr/lib/b").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << "hard link pair not restored";
    EXPECT_EQ(test::read_text(root / "usr/lib/b"), "pair");
    ASSERT_EQ(::lstat((root / "run/fifo").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0620U);
    if (::geteuid() == 0) {
      ASSERT_EQ(::lstat((root / "dev/null").c_str(), &st), 0);
      EXPECT_TRUE(S_ISCHR(st.st_mode));
      EXPECT_EQ(st.st_rdev, ::makedev(1, 3));
    }
    if (xattrs_) {
      char v[8] = {};
      EXPECT_EQ(::getxattr((root / "usr/lib/a").c_str(), "user.pinetboot", v, sizeof v), 2);
      EXPECT_EQ(std::string(v, 2), "v1");
    }
    ASSERT_EQ(::stat((root / "usr/lib").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 981173106) << "directory time not restored after relinking";
  }

  test::temp_dir dir_;
  std::filesystem::path img_;
  bool xattrs_ = false;
};

TEST_F(LayoutImage, ReadsPartitionTable) {
  auto m = read_mbr(img_);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->partition(1)->first_lba, 2048U);
  EXPECT_EQ(m->partition(1)->sectors, 16384U);
  EXPECT_EQ(m->partition(1)->type, partition_type::fat32_lba);
  EXPECT_EQ(m->partition(2)->first_lba, 18432U);
  EXPECT_EQ(m->partition(2)->type, partition_type::linux_native);
}

TEST_F(LayoutImage, ExtractsBothPartitionsWithoutMounting) {
  auto d = dir_.path();
  std::vector<std::string> log;
  ASSERT_FALSE(extract_image(img_, d / "boot", d / "root", d / "scratch",
                             [&](std::string_view l) { log.emplace_back(l); }));
  check(d / "boot", d / "root");
  EXPECT_EQ(log.size(), 3U);  // mcopy, debugfs rdump, debugfs fix-up
}

TEST_F(LayoutImage, ExtractsXzImage) {
  auto d = dir_.path();
  ASSERT_FALSE(run_tool({"xz", "-0", "-T1", "-k", img_.string()}));
  ASSERT_FALSE(extract_image(d / "pi.img.xz", d / "boot", d / "root", d / "scratch"));
  check(d / "boot", d / "root");
  EXPECT_FALSE(std::filesystem::exists(d / "scratch/image.raw")) << "temporary image must be deleted";
}

TEST_F(LayoutImage, RejectsImagesThatAreNotPartitioned) {
  auto d = dir_.path();
  test::write_text(d / "junk.img", std::string(4096, 'j'));
  EXPECT_EQ(extract_image(d / "junk.img", d / "b", d / "r", d / "s"), errc::bad_signature);
  // A table whose partition 2 runs past the end of a truncated image.
  ASSERT_FALSE(run_tool({"truncate", "-s", "20M", img_.string()}));
  EXPECT_EQ(extract_image(img_, d / "b2", d / "r2", d / "s"), errc::bad_partition);
  EXPECT_EQ(extract_image(d / "missing.img", d / "b3", d / "r3", d / "s"),
            std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace pinetboot::layout
