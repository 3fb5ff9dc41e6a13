#include "pinetboot/layout/apply.hpp"

#include <gtest/gtest.h>

#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

// Everything about a tree that `add` twice must not change: names, types, sizes, mtimes, inodes.
std::string tree_fingerprint(std::filesystem::path const& root) {
  std::string out;
  std::vector<std::filesystem::path> paths;
  for (auto const& e : std::filesystem::recursive_directory_iterator{root}) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (auto const& p : paths) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    out += p.lexically_relative(root).string() + " " + std::to_string(st.st_mode) + " " +
           std::to_string(st.st_size) + " " + std::to_string(st.st_ino) + " " +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
  }
  return out;
}

class LayoutApply : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.prefix = dir_ / "prefix";
    test::write_text(dir_ / "golden/boot/start4.elf", "firmware");
    test::write_text(dir_ / "golden/boot/cmdline.txt", "console=tty1 root=/dev/mmcblk0p2\n");
    test::write_text(dir_ / "golden/root/etc/fstab", "proc /proc proc defaults 0 0\n");
    test::write_text(dir_ / "golden/root/usr/lib/big", std::string(1 << 20, 'b'));
    opt_.golden_boot = dir_ / "golden/boot";
    opt_.golden_root = dir_ / "golden/root";
    opt_.customize = [this](client_record const& r, std::filesystem::path const& boot,
                            std::filesystem::path const& root) -> std::error_code {
      ++customized_;
      test::write_text(boot / "cmdline.txt", "nfsroot=" + cfg_.exported_root(r.folder).string() + "\n");
      test::write_text(root / "etc/hostname", r.id.hostname + "\n");
      return {};
    };
  }

  std::error_code run(std::vector<client_record> const& want, std::set<std::string> force = {},
                      std::vector<step>* out = nullptr) {
    auto snap = scan(cfg_);
    if (!snap) return snap.error();
    auto steps = plan(want, *snap, {core::folder_naming::serial, std::move(force)});
    if (!steps) return steps.error();
    if (out != nullptr) *out = *steps;
    return apply(*steps, cfg_, opt_);
  }

  static client_record board(std::uint32_t serial, std::string host) {
    client_record r;
    r.id.serial = core::pi_serial{serial};
    r.id.hostname = std::move(host);
    return r;
  }

  test::temp_dir dir_;
  layout_config cfg_;
  apply_options opt_;
  int customized_ = 0;
};

TEST_F(LayoutApply, AddCreatesBothTreesAndTheRegistry) {
  std::uint64_t last_done = 0, total = 0;
  opt_.on_progress = [&](progress const& p) {
    EXPECT_GE(p.bytes_done, last_done);
    last_done = p.bytes_done;
    total = p.bytes_total;
    return true;
  };
  ASSERT_FALSE(run({board(0xabcd1234, "pi1")}));
  EXPECT_EQ(test::read_text(cfg_.boot_dir("abcd1234") / "start4.elf"), "firmware");
  EXPECT_EQ(test::read_text(cfg_.boot_dir("abcd1234") / "cmdline.txt"), "nfsroot=/srv/nfs/abcd1234\n");
  EXPECT_EQ(test::read_text(cfg_.root_dir("abcd1234") / "etc/hostname"), "pi1\n");
  EXPECT_EQ(test::read_text(cfg_.root_dir("abcd1234") / "etc/fstab"), "proc /proc proc defaults 0 0\n");
  EXPECT_EQ(total, 8U + 33U + 29U + (1U << 20));
  EXPECT_EQ(last_done, total);
  auto reg = read_registry(cfg_.registry_file());
  ASSERT_TRUE(reg);
  ASSERT_EQ(reg->size(), 1U);
  EXPECT_EQ((*reg)[0].folder, "abcd1234");
  // Staging is empty afterwards; no journal left.
  EXPECT_TRUE(std::filesystem::is_empty(cfg_.boot_staging_dir()));
  EXPECT_TRUE(std::filesystem::is_empty(cfg_.root_staging_dir()));
}

TEST_F(LayoutApply, AddTwiceChangesNothing) {
  ASSERT_FALSE(run({board(1, "a")}));
  auto before = tree_fingerprint(cfg_.prefix);
  auto reg_before = test::read_text(cfg_.registry_file());
  std::vector<step> steps;
  ASSERT_FALSE(run((*read_registry(cfg_.registry_file())), {}, &steps));
  EXPECT_TRUE(steps.empty());
  ASSERT_FALSE(run({board(1, "a")}, {}, &steps));
  EXPECT_TRUE(steps.empty());
  EXPECT_EQ(tree_fingerprint(cfg_.prefix), before);
  EXPECT_EQ(test::read_text(cfg_.registry_file()), reg_before);
  EXPECT_EQ(customized_, 1);
}

// The data-loss bug: `add --force` for one board rebuilt every registered board, and another
// board's own files (its /home) were lost.
TEST_F(LayoutApply, ForceForOneBoardLeavesTheOtherBoardsFilesAlone) {
  ASSERT_FALSE(run({board(1, "a"), board(2, "b")}));
  std::filesystem::create_directories(cfg_.root_dir("00000002") / "home");
  test::write_text(cfg_.root_dir("00000002") / "home/hw.txt", "homework");
  test::write_text(cfg_.root_dir("00000001") / "scratch", "old");
  auto before = tree_fingerprint(cfg_.root_dir("00000002")) + tree_fingerprint(cfg_.boot_dir("00000002"));
  std::vector<step> steps;
  ASSERT_FALSE(run({board(1, "a"), board(2, "b")}, {"00000001"}, &steps));
  for (auto const& s : steps) EXPECT_NE(s.folder, "00000002") << to_string(s.kind);
  EXPECT_EQ(test::read_text(cfg_.root_dir("00000002") / "home/hw.txt"), "homework");
  EXPECT_EQ(tree_fingerprint(cfg_.root_dir("00000002")) + tree_fingerprint(cfg_.boot_dir("00000002")), before);
  EXPECT_FALSE(std::filesystem::exists(cfg_.root_dir("00000001") / "scratch")) << "the named board is rebuilt";
}

TEST_F(LayoutApply, NeverOverwritesWithoutForceAndReplacesWithForce) {
  std::filesystem::create_directories(cfg_.boot_dir("00000001"));
  test::write_text(cfg_.boot_dir("00000001") / "mine", "keep");
  EXPECT_EQ(run({board(1, "a")}), errc::client_exists);
  EXPECT_EQ(test::read_text(cfg_.boot_dir("00000001") / "mine"), "keep");
  ASSERT_FALSE(run({board(1, "a")}, {"00000001"}));
  EXPECT_FALSE(std::filesystem::exists(cfg_.boot_dir("00000001") / "mine"));
  EXPECT_TRUE(std::filesystem::exists(cfg_.boot_dir("00000001") / "start4.elf"));
  EXPECT_TRUE(std::filesystem::is_empty(cfg_.boot_staging_dir())) << "old tree renamed aside must be deleted";
}

TEST_F(LayoutApply, RemoveDeletesTreesAndRegistryLine) {
  ASSERT_FALSE(run({board(1, "a"), board(2, "b")}));
  ASSERT_FALSE(run({board(2, "b")}));
  EXPECT_FALSE(std::filesystem::exists(cfg_.boot_dir("00000001")));
  EXPECT_FALSE(std::filesystem::exists(cfg_.root_dir("00000001")));
  EXPECT_TRUE(std::filesystem::exists(cfg_.root_dir("00000002")));
  auto reg = read_registry(cfg_.registry_file());
  ASSERT_EQ(reg->size(), 1U);
  EXPECT_EQ((*reg)[0].folder, "00000002");
}

TEST_F(LayoutApply, ReconfigureRewritesGeneratedFilesInPlace) {
  ASSERT_FALSE(run({board(1, "a")}));
  auto ino = std::filesystem::status(cfg_.root_dir("00000001") / "usr/lib/big").type();
  ASSERT_FALSE(run({board(1, "renamed")}));
  EXPECT_EQ(test::read_text(cfg_.root_dir("00000001") / "etc/hostname"), "renamed\n");
  EXPECT_EQ(std::filesystem::status(cfg_.root_dir("00000001") / "usr/lib/big").type(), ino);
  EXPECT_EQ(customized_, 2);
}

TEST_F(LayoutApply, CancelledCopyLeavesNoClientAndNoStaging) {
  opt_.on_progress = [](progress const& p) { return p.bytes_done < 100; };
  EXPECT_EQ(run({board(1, "a")}), errc::cancelled);
  EXPECT_FALSE(std::filesystem::exists(cfg_.boot_dir("00000001")));
  EXPECT_FALSE(std::filesystem::exists(cfg_.root_dir("00000001")));
  EXPECT_TRUE(std::filesystem::is_empty(cfg_.boot_staging_dir()));
  EXPECT_TRUE(std::filesystem::is_empty(cfg_.root_staging_dir()));
  EXPECT_FALSE(std::filesystem::exists(cfg_.registry_file()));
}

TEST_F(LayoutApply, CrashBetweenRenamesIsRolledForward) {
  // Simulate: both trees staged, journal written, root renamed, then the process died.
  std::filesystem::create_directories(cfg_.boot_staging_dir());
  std::filesystem::create_directories(cfg_.root_staging_dir());
  std::filesystem::create_directories(cfg_.nfs_dir());
  auto boot = cfg_.boot_staging_dir() / "00000001.99999";
  auto root = cfg_.root_staging_dir() / "00000001.99999";
  ASSERT_TRUE(copy_tree(opt_.golden_boot, boot, {}));
  ASSERT_TRUE(copy_tree(opt_.golden_root, cfg_.root_dir("00000001"), {}));
  ASSERT_FALSE(write_file_atomic(cfg_.root_staging_dir() / "00000001.journal",
                                 format_journal({"00000001", boot, root, false})));
  // And a stale half-copied staging dir from another interrupted run.
  std::filesystem::create_directories(cfg_.root_staging_dir() / "00000002.12345/etc");
  auto snap = scan(cfg_);
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->journals.size(), 1U);
  ASSERT_EQ(snap->stale.size(), 1U);
  std::vector<step> steps;
  ASSERT_FALSE(run({board(1, "a")}, {}, &steps));
  ASSERT_EQ(steps.size(), 4U);
  EXPECT_EQ(steps[0].kind, step_kind::finish_publish);
  EXPECT_EQ(steps[1].kind, step_kind::remove_stale);
  EXPECT_EQ(steps[2].kind, step_kind::reconfigure);
  EXPECT_EQ(steps[3].kind, step_kind::write_registry);
  EXPECT_EQ(test::read_text(cfg_.root_dir("00000001") / "etc/hostname"), "a\n");
  EXPECT_TRUE(std::filesystem::exists(cfg_.boot_dir("00000001") / "start4.elf"));
  EXPECT_TRUE(std::filesystem::is_empty(cfg_.boot_staging_dir()));
  EXPECT_TRUE(std::filesystem::is_empty(cfg_.root_staging_dir()));
  // finish_publish is idempotent.
  EXPECT_FALSE(finish_publish({"00000001", boot, root, false}, cfg_));
}

TEST_F(LayoutApply, LinkBootHardLinksFirmwareToGolden) {
  opt_.link_boot = true;
  opt_.customize = nullptr;
  ASSERT_FALSE(run({board(1, "a")}));
  struct stat g {
  }, c{};
  ::stat((dir_ / "golden/boot/start4.elf").c_str(), &g);
  ::stat((cfg_.boot_dir("00000001") / "start4.elf").c_str(), &c);
  EXPECT_EQ(g.st_ino, c.st_ino);
  ::stat((dir_ / "golden/root/etc/fstab").c_str(), &g);
  ::stat((cfg_.root_dir("00000001") / "etc/fstab").c_str(), &c);
  EXPECT_NE(g.st_ino, c.st_ino) << "root trees are always copies";
}

}  // namespace
}  // namespace pinetboot::layout
