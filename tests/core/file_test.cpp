#include "pinetboot/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace pinetboot::core {
namespace {

namespace fs = std::filesystem;

std::string slurp(fs::path const& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ReplaceFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pnb-core-file-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  [[nodiscard]] std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator{dir_}, fs::directory_iterator{}));
  }
  fs::path dir_;
};

TEST_F(ReplaceFile, WritesContentAndModeAndLeavesNoTemporaryFile) {
  auto f = dir_ / "exports";
  ASSERT_FALSE(replace_file(f, "first\n", 0640));
  EXPECT_EQ(slurp(f), "first\n");
  ASSERT_FALSE(replace_file(f, "second\n", 0600));
  EXPECT_EQ(slurp(f), "second\n");
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_EQ(entries(), 1U);
}

TEST_F(ReplaceFile, ReplacesASymlinkInsteadOfWritingThroughIt) {
  auto victim = dir_ / "victim";
  std::ofstream{victim} << "keep";
  auto link = dir_ / "link";
  fs::create_symlink(victim, link);
  ASSERT_FALSE(replace_file(link, "new", 0644));
  EXPECT_EQ(slurp(victim), "keep");
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_EQ(slurp(link), "new");
}

TEST_F(ReplaceFile, StaleTemporariesOfAKilledReplaceAreRemovedAndNothingElse) {
  // What a replace_file killed between mkstemp and rename leaves, beside files to keep.
  auto f = dir_ / "leases.journal";
  std::ofstream{f} << "journal";
  std::ofstream{dir_ / ".leases.journal.pinetboot-a1B2c3"} << "torn";
  std::ofstream{dir_ / ".leases.journal.pinetboot-Zz9Yy8"} << "torn";
  std::ofstream{dir_ / ".leases.journal.pinetboot-short"} << "keep: not mkstemp's 6 characters";
  std::ofstream{dir_ / ".exports.pinetboot-a1B2c3"} << "keep: another file's";
  std::ofstream{dir_ / "leases.journal.pinetboot-a1B2c3"} << "keep: no leading dot";
  fs::create_directory(dir_ / ".leases.journal.pinetboot-dir123");
  EXPECT_EQ(remove_stale_replacements(f), 2U);
  EXPECT_EQ(slurp(f), "journal");
  EXPECT_EQ(entries(), 5U);
  EXPECT_FALSE(fs::exists(dir_ / ".leases.journal.pinetboot-a1B2c3"));
  EXPECT_TRUE(fs::is_directory(dir_ / ".leases.journal.pinetboot-dir123"));
  EXPECT_EQ(remove_stale_replacements(f), 0U) << "nothing left to remove";
  EXPECT_EQ(remove_stale_replacements(dir_ / "missing-dir" / "x"), 0U);
}

class ReadFile : public ReplaceFile {};

TEST_F(ReadFile, ReturnsTheWholeFile) {
  auto f = dir_ / "big";
  std::string content;
  for (int i = 0; i < 5000; ++i) content += "line " + std::to_string(i) + '\n';
  content += std::string{"\0binary\xff", 8};
  ASSERT_FALSE(replace_file(f, content, 0644));
  auto r = read_file(f);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, content);
  ASSERT_FALSE(replace_file(f, "", 0644));
  EXPECT_EQ(read_file(f).value_or("?"), "");
}

TEST_F(ReadFile, ReportsErrno) {
  EXPECT_EQ(read_file(dir_ / "missing").error(), std::make_error_code(std::errc::no_such_file_or_directory));
  EXPECT_EQ(read_file(dir_).error(), std::make_error_code(std::errc::is_a_directory));
}

TEST_F(ReplaceFile, AFailureKeepsTheOldFileAndCleansUp) {
  auto f = dir_ / "sub";
  fs::create_directories(f);  // a directory cannot be replaced by a file
  EXPECT_TRUE(replace_file(f, "x", 0644));
  EXPECT_TRUE(fs::is_directory(f));
  EXPECT_EQ(entries(), 1U) << "the temporary file is removed";
  EXPECT_TRUE(replace_file(dir_ / "missing-dir" / "f", "x", 0644));
}

class Openat2Beneath : public ReplaceFile {};

TEST_F(Openat2Beneath, StaysInsideTheDirectory) {
  if (!openat2_available()) GTEST_SKIP() << "kernel without openat2";
  fs::create_directories(dir_ / "root/sub");
  std::ofstream{dir_ / "root/sub/file"} << "inside";
  std::ofstream{dir_ / "outside"} << "outside";
  fs::create_symlink("../outside", dir_ / "root/escape");
  fs::create_symlink("sub/file", dir_ / "root/inner");
  unique_fd root{::open((dir_ / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  ASSERT_TRUE(root);
  EXPECT_TRUE(openat2_beneath(root.get(), "sub/file", O_RDONLY | O_CLOEXEC).has_value());
  EXPECT_TRUE(openat2_beneath(root.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC).has_value());
  EXPECT_TRUE(openat2_beneath(root.get(), "inner", O_RDONLY | O_CLOEXEC).has_value());
  EXPECT_EQ(openat2_beneath(root.get(), "inner", O_RDONLY | O_CLOEXEC, false).error(),
            std::make_error_code(std::errc::too_many_symbolic_link_levels));
  EXPECT_EQ(openat2_beneath(root.get(), "../outside", O_RDONLY | O_CLOEXEC).error(),
            std::make_error_code(std::errc::cross_device_link));
  EXPECT_EQ(openat2_beneath(root.get(), "escape", O_RDONLY | O_CLOEXEC).error(),
            std::make_error_code(std::errc::cross_device_link));
  EXPECT_EQ(openat2_beneath(root.get(), "missing", O_RDONLY | O_CLOEXEC).error(),
            std::make_error_code(std::errc::no_such_file_or_directory));
  EXPECT_TRUE(openat2_available());
}

}  // namespace
}  // namespace pinetboot::core
