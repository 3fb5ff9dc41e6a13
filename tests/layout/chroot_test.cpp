#include "pinetboot/layout/chroot.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

std::filesystem::path const busybox = "/bin/busybox";

// Whether /bin/busybox is a statically linked ELF (runs in a root with no libraries).
bool static_busybox() {
  std::ifstream in{busybox, std::ios::binary};
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (in.gcount() < 64 || head.compare(0, 4, "\x7f" "ELF") != 0) return false;
  // A dynamic executable names its interpreter; a static one has no PT_INTERP segment.
  return head.find("/ld-linux") == std::string::npos && head.find("/ld-musl") == std::string::npos;
}

// A tiny root in the merged-/usr shape, every hop a symlink that is only right inside the
// root: bin -> usr/bin, usr -> /opt/u (absolute; the host has no /opt/u), and
// opt/u/bin/{bb.static, sh} the same static busybox (sh a hard link: a regular file).
class LayoutChrootRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!static_busybox()) GTEST_SKIP() << "no static /bin/busybox";
    root_ = dir_ / "root";
    auto bin = root_ / "opt/u/bin";
    std::filesystem::create_directories(bin);
    for (char const* d : {"proc", "sys", "dev", "etc", "tmp"}) std::filesystem::create_directories(root_ / d);
    std::filesystem::copy_file(busybox, bin / "bb.static");
    ASSERT_EQ(::chmod((bin / "bb.static").c_str(), 0755), 0);
    ASSERT_EQ(::link((bin / "bb.static").c_str(), (bin / "sh").c_str()), 0);
    std::filesystem::create_symlink("/opt/u", root_ / "usr");
    std::filesystem::create_symlink("usr/bin", root_ / "bin");
  }
  void sh_is_symlink_to(std::string const& target) {
    auto sh = root_ / "opt/u/bin/sh";
    std::filesystem::remove(sh);
    std::filesystem::create_symlink(target, sh);
  }

  test::temp_dir dir_;
  std::filesystem::path root_;
};

TEST_F(LayoutChrootRoot, RootArchIsTheHostsThroughAbsoluteSymlinksInsideTheRoot) {
  ASSERT_FALSE(std::filesystem::exists("/opt/u/bin/sh")) << "the test needs a path the host does not have";
  auto a = root_arch(root_);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(*a, host_arch());
  EXPECT_NE(*a, cpu_arch::unknown);
}

// The usual root: /bin/sh itself a symlink (sh -> dash on Debian, sh -> busybox here).
TEST_F(LayoutChrootRoot, RootArchWhenBinShIsASymlinkToBusybox) {
  sh_is_symlink_to("bb.static");
  auto a = root_arch(root_);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(*a, host_arch());
}

TEST_F(LayoutChrootRoot, RootArchWhenBinShIsAnAbsoluteSymlink) {
  sh_is_symlink_to("/usr/bin/bb.static");
  auto a = root_arch(root_);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(*a, host_arch());
}

TEST_F(LayoutChrootRoot, AbsoluteSymlinkIsNotResolvedOnTheHost) {
  // /bin/busybox exists on the host (the file this root was made from) but not in the root.
  sh_is_symlink_to("/bin/busybox");
  auto a = root_arch(root_);
  ASSERT_FALSE(a) << "resolved on the host";
  EXPECT_EQ(a.error(), std::error_code(ENOENT, std::generic_category()));
}

// The kernel resolves ".." at a chroot's "/" to "/" and goes on: bin -> ../../../usr/bin is
// /usr/bin inside the root.
TEST_F(LayoutChrootRoot, SymlinkClimbingAboveTheRootIsClampedAtIt) {
  std::filesystem::remove(root_ / "bin");
  std::filesystem::create_symlink("../../../usr/bin", root_ / "bin");
  auto a = root_arch(root_);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(*a, host_arch());
}

TEST_F(LayoutChrootRoot, NotAnElfMissingAndLoops) {
  auto sh = root_ / "opt/u/bin/sh";
  std::filesystem::remove(sh);
  test::write_text(sh, "#!/bin/busybox sh\n# a script, no ELF header here\n");
  auto a = root_arch(root_);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error(), errc::tool_failed);
  std::filesystem::remove(sh);
  a = root_arch(root_);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error(), std::error_code(ENOENT, std::generic_category()));
  sh_is_symlink_to("/bin/sh");  // itself
  a = root_arch(root_);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error(), std::error_code(ELOOP, std::generic_category()));
}

TEST(LayoutChroot, HostIsNative) {
  EXPECT_NE(host_arch(), cpu_arch::unknown);
  auto e = find_emulation(host_arch());
  EXPECT_TRUE(e.native);
  EXPECT_TRUE(e.available);
  EXPECT_EQ(to_string(cpu_arch::aarch64), "arm64");
  EXPECT_EQ(to_string(cpu_arch::arm), "armhf");
  EXPECT_EQ(to_string(cpu_arch::unknown), "unknown");
  auto u = find_emulation(cpu_arch::unknown);
  EXPECT_FALSE(u.native);
  EXPECT_FALSE(u.available);
  EXPECT_FALSE(u.advice.empty());
  if (host_arch() == cpu_arch::x86_64) {
    auto arm = find_emulation(cpu_arch::aarch64);
    EXPECT_FALSE(arm.native);
    EXPECT_EQ(arm.handler, "/proc/sys/fs/binfmt_misc/qemu-aarch64");
  }
}

// Whether this process may make private mount and PID namespaces (root, not in a locked container).
bool mount_namespaces_work() {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) ::_exit(1);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(2);
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) ::_exit(3);
    if (::mount("/dev", "/dev", nullptr, MS_BIND | MS_REC, nullptr) != 0) ::_exit(4);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST_F(LayoutChrootRoot, RunInRootReturnsTheExitStatusAndHasProc) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!mount_namespaces_work()) GTEST_SKIP() << "mount namespaces are not permitted here";
  chroot_options o;
  auto r = run_in_root(root_, {"sh", "-c", "exit 7"}, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 7);
  r = run_in_root(root_, {"sh", "-c", "test -d /proc/self"}, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 0);
  r = run_in_root(root_, {"sh", "-c", "test -e /bin/bb.static && ! test -e /bin/busybox"}, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 0) << "runs inside the root";
  r = run_in_root(root_, {"sh", "-c", "test $$ = 1"}, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0) << "the command is the init of a PID namespace of its own";
  r = run_in_root(root_, {"no-such-command"}, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 127);
  // What the command leaves running dies with it (its PID namespace goes).
  auto t0 = std::chrono::steady_clock::now();
  r = run_in_root(root_, {"sh", "-c", "sleep 60 & exit 4"}, o);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 4);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  // Nothing stays mounted in our namespace.
  std::ifstream in{"/proc/self/mountinfo"};
  std::string mounts{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  EXPECT_EQ(mounts.find(root_.string()), std::string::npos) << mounts;
}

TEST_F(LayoutChrootRoot, RunInRootBindsTheBootTree) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!mount_namespaces_work()) GTEST_SKIP() << "mount namespaces are not permitted here";
  std::filesystem::create_directories(root_ / "boot/firmware");
  test::write_text(dir_ / "bootsrc/config.txt", "x");
  chroot_options o;
  o.boot = dir_ / "bootsrc";
  o.bind_resolv_conf = false;
  auto r = run_in_root(root_, {"sh", "-c", "test -f /boot/firmware/config.txt"}, o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 0);
  EXPECT_FALSE(std::filesystem::exists(root_ / "boot/firmware/config.txt")) << "bound only in the child";
}

TEST(LayoutChroot, RunInRootWithoutArgvIsRefused) {
  test::temp_dir d;
  auto r = run_in_root(d.path(), {}, chroot_options{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::error_code(EINVAL, std::generic_category()));
}

}  // namespace
}  // namespace pinetboot::layout
