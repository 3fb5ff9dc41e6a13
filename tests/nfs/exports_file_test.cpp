#include "pinetboot/nfs/exports_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace nfs = pinetboot::nfs;
namespace fs = std::filesystem;
using pinetboot::core::ipv4_address;

namespace {

std::vector<nfs::export_entry> two_boards() {
  return {{"/nfs/dc-a6-32-01-36-c2", {nfs::board_client(ipv4_address{192, 168, 1, 50})}},
          {"/tftpboot/dc-a6-32-01-36-c2", {nfs::board_client(ipv4_address{192, 168, 1, 50})}}};
}

constexpr char const* kBlock =
    "# BEGIN pinetboot managed block -- do not edit\n"
    "/nfs/dc-a6-32-01-36-c2 192.168.1.50(rw,sync,no_subtree_check,no_root_squash)\n"
    "/tftpboot/dc-a6-32-01-36-c2 192.168.1.50(rw,sync,no_subtree_check,no_root_squash)\n"
    "# END pinetboot managed block\n";

std::string read_all(fs::path const& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "pinetboot-nfs-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  temp_dir(temp_dir const&) = delete;
  temp_dir& operator=(temp_dir const&) = delete;
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] fs::path const& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

TEST(NfsExportsFile, CreatesBlockInEmptyFile) {
  auto out = nfs::update_managed_block("", two_boards());
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out, kBlock);
}

TEST(NfsExportsFile, AppendsBlockAfterOperatorLinesAndKeepsThem) {
  std::string const mine = "# operator\n/srv/share 10.0.0.0/8(ro)   # keep   spacing\n/home *(rw)";
  auto out = nfs::update_managed_block(mine, two_boards());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, mine + "\n" + kBlock);
}

TEST(NfsExportsFile, IdempotentAndReplacesOnlyTheBlock) {
  std::string const before = "/a h(ro)\n\n";
  std::string const after = "# after\n/b h2\n";
  auto first = nfs::update_managed_block(before + kBlock + after, two_boards());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, before + kBlock + after);
  auto second = nfs::update_managed_block(*first, two_boards());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, *first);

  std::vector<nfs::export_entry> one{two_boards()[1]};
  auto shrunk = nfs::update_managed_block(*first, one);
  ASSERT_TRUE(shrunk.has_value());
  EXPECT_EQ(*shrunk, before +
                         "# BEGIN pinetboot managed block -- do not edit\n"
                         "/tftpboot/dc-a6-32-01-36-c2 192.168.1.50(rw,sync,no_subtree_check,no_root_squash)\n"
                         "# END pinetboot managed block\n" +
                         after);
  auto empty = nfs::update_managed_block(*shrunk, {});
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(
      *empty,
      before + "# BEGIN pinetboot managed block -- do not edit\n# END pinetboot managed block\n" + after);
}

TEST(NfsExportsFile, ReadsBlockBack) {
  auto text = nfs::update_managed_block("/a h\n", two_boards());
  ASSERT_TRUE(text.has_value());
  auto back = nfs::read_managed_block(*text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, two_boards());
  EXPECT_TRUE(nfs::read_managed_block("/a h\n")->empty());
}

TEST(NfsExportsFile, EditedMarkerIsStillRecognised) {
  std::string const edited =
      "  # BEGIN pinetboot managed block (edited)\n/old h\n# END pinetboot managed block, really\n/tail h\n";
  auto out = nfs::update_managed_block(edited, two_boards());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, std::string{kBlock} + "/tail h\n");
}

TEST(NfsExportsFile, BrokenMarkersAreErrors) {
  std::string const b = "# BEGIN pinetboot managed block -- do not edit\n";
  std::string const e = "# END pinetboot managed block\n";
  for (std::string const& text :
       {b, e, e + b, b + b + e, b + e + e, b + e + b + e, "/x h\n" + b + "/y h\n"}) {
    EXPECT_EQ(nfs::update_managed_block(text, two_boards()).error(), nfs::errc::broken_managed_block) << text;
    EXPECT_EQ(nfs::read_managed_block(text).error(), nfs::errc::broken_managed_block) << text;
  }
}

TEST(NfsExportsFile, RejectsDuplicatesAndInvalidEntries) {
  auto dup = two_boards();
  dup.push_back(dup[0]);
  EXPECT_EQ(nfs::update_managed_block("", dup).error(), nfs::errc::duplicate_export);
  std::vector<nfs::export_entry> same_host{{"/a", {{"h", {}}, {"h", {}}}}};
  EXPECT_EQ(nfs::update_managed_block("", same_host).error(), nfs::errc::duplicate_export);
  std::vector<nfs::export_entry> world{{"/a", {nfs::world_client()}}};
  EXPECT_EQ(nfs::update_managed_block("", world).error(), nfs::errc::world_export_not_allowed);
  std::vector<std::string> warnings;
  auto ok = nfs::update_managed_block("", world, {.allow_world = true}, &warnings);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(warnings.size(), 2U);
}

TEST(NfsExportsFile, WriteAtomicallyKeepsBackupAndMode) {
  temp_dir dir;
  auto file = dir.path() / "exports";
  ASSERT_FALSE(nfs::write_file_atomically(file, "first\n"));
  EXPECT_EQ(read_all(file), "first\n");
  EXPECT_FALSE(fs::exists(dir.path() / "exports.pinetboot.bak"));  // nothing to back up yet
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644U);

  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  ASSERT_FALSE(nfs::write_file_atomically(file, "second\n"));
  EXPECT_EQ(read_all(file), "second\n");
  EXPECT_EQ(read_all(dir.path() / "exports.pinetboot.bak"), "first\n");
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);

  ASSERT_FALSE(nfs::write_file_atomically(file, "third\n", false));
  EXPECT_EQ(read_all(dir.path() / "exports.pinetboot.bak"), "first\n");
  // No temporary files are left behind.
  std::size_t n = 0;
  for ([[maybe_unused]] auto const& e : fs::directory_iterator{dir.path()}) ++n;
  EXPECT_EQ(n, 2U);
}

TEST(NfsExportsFile, WriteFollowsSymlinkAndReportsErrors) {
  temp_dir dir;
  auto real = dir.path() / "real";
  ASSERT_FALSE(nfs::write_file_atomically(real, "a\n"));
  fs::create_symlink(real, dir.path() / "link");
  ASSERT_FALSE(nfs::write_file_atomically(dir.path() / "link", "b\n"));
  EXPECT_TRUE(fs::is_symlink(dir.path() / "link"));
  EXPECT_EQ(read_all(real), "b\n");
  EXPECT_EQ(nfs::write_file_atomically(dir.path() / "missing-dir" / "x", "a"),
            std::errc::no_such_file_or_directory);
}

TEST(NfsExportsFile, EndToEndUpdateOfAFile) {
  temp_dir dir;
  auto file = dir.path() / "exports";
  std::string const operator_lines = "/srv/data 10.0.0.0/8(ro,sync)\n";
  ASSERT_FALSE(nfs::write_file_atomically(file, operator_lines));
  for (int run = 0; run < 2; ++run) {
    auto next = nfs::update_managed_block(read_all(file), two_boards());
    ASSERT_TRUE(next.has_value());
    ASSERT_FALSE(nfs::write_file_atomically(file, *next));
  }
  EXPECT_EQ(read_all(file), operator_lines + kBlock);
  EXPECT_EQ(read_all(dir.path() / "exports.pinetboot.bak"), operator_lines + kBlock);
}
