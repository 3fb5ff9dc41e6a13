#include "pinetboot/layout/board.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

template <class R>
std::error_code err(R const& r) {
  return r ? std::error_code{} : r.error();
}

bool exists_nofollow(std::filesystem::path const& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

ino_t inode(std::filesystem::path const& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

std::vector<std::string> names_in(std::filesystem::path const& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// --- marker text ----------------------------------------------------------------------------

TEST(LayoutBoardMarker, RoundTripsAndGoldenText) {
  board_marker m{"raspios", 12, root_model::shared, "state"};
  auto text = format_board_marker(m);
  EXPECT_NE(text.find("\nimage=raspios\ngen=12\nmodel=shared\ntree=state\n"), std::string::npos) << text;
  auto parsed = parse_board_marker(text);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, m);
  board_marker c{"a.b-c_d", 1, root_model::copy, "root.g1.2"};
  parsed = parse_board_marker(format_board_marker(c));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, c);
}

TEST(LayoutBoardMarker, ModelDefaultsToCopyAndCommentsAreSkipped) {
  auto p = parse_board_marker("# x\n\ntree=root.g3\ngen=3\nimage=img");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->model, root_model::copy);
  EXPECT_EQ(p->generation, 3U);
  EXPECT_EQ(p->tree, "root.g3");
  EXPECT_EQ(p->image, "img");
}

TEST(LayoutBoardMarker, RejectsBadMarkers) {
  std::string const ok_tail = "model=copy\ntree=root.g1\n";
  for (std::string_view bad : {"", "gen=1\ntree=t\n", "image=a\ntree=t\n", "image=a\ngen=1\n",
                          "image=a\ngen=0\ntree=t\n", "image=a\ngen=x\ntree=t\n", "image=a\ngen=1x\ntree=t\n",
                          "image=a\ngen=-1\ntree=t\n", "image=../a\ngen=1\ntree=t\n", "image=.a\ngen=1\ntree=t\n",
                          "image=\ngen=1\ntree=t\n", "image=a\ngen=1\ntree=..\n", "image=a\ngen=1\ntree=a/b\n",
                          "image=a\ngen=1\ntree=\n", "image=a\ngen=1\ntree=t\nmodel=cow\n",
                          "image=a\ngen=1\ntree=t\nother=1\n", "image=a\ngen=1\ntree=t\nnoequals\n",
                          "image=a b\ngen=1\ntree=t\n"}) {
    auto r = parse_board_marker(bad);
    EXPECT_FALSE(r) << "accepted: " << bad;
  }
  EXPECT_TRUE(parse_board_marker("image=a\ngen=1\n" + ok_tail));
}

TEST(LayoutBoardOwnedPaths, PersistIdentityAndSshKeys) {
  auto owned = board_owned_paths(image_settings{{"/home", "/srv/x"}, {"/tmp"}});
  auto has = [&](std::string const& p) { return std::find(owned.begin(), owned.end(), p) != owned.end(); };
  EXPECT_TRUE(has("home"));
  EXPECT_TRUE(has("srv/x"));
  EXPECT_FALSE(has("tmp")) << "volatile paths are not kept";
  EXPECT_TRUE(has("etc/hostname"));
  EXPECT_TRUE(has("etc/machine-id"));
  EXPECT_TRUE(has("etc/ssh/ssh_host_ed25519_key"));
  EXPECT_TRUE(has("etc/ssh/ssh_host_rsa_key.pub"));
}

// --- switching ------------------------------------------------------------------------------

class LayoutBoardSwitch : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.prefix = dir_.path();
    gen1_ = make(0, [](std::filesystem::path const& d) {
      test::write_text(d / "boot/kernel.img", "kernel-1");
      test::write_text(d / "boot/config.txt", "arm_64bit=1\n");
      test::write_text(d / "boot/overlays/x.dtbo", "dtbo");
      test::write_text(d / "root/etc/motd", "gen 1\n");
      test::write_text(d / "root/usr/bin/tool", "tool-1");
      test::write_text(d / "root/var/log/seed.log", "seeded\n");
      test::write_text(d / "root/home/pi/.profile", "# image profile\n");
    });
    gen2_ = make(gen1_, [](std::filesystem::path const& d) {
      test::write_text(d / "boot/kernel.img", "kernel-2");
      test::write_text(d / "root/usr/bin/tool", "tool-2");
      test::write_text(d / "root/etc/motd", "gen 2\n");
    });
  }

  template <class F>
  unsigned make(unsigned parent, F fill) {
    auto d = begin_generation(c_, "img");
    EXPECT_TRUE(d) << d.error().message();
    if (!d) return 0;
    if (parent != 0) {
      auto copied = copy_parent_generation(c_, *d, parent);
      EXPECT_TRUE(copied) << copied.error().message();
    } else {
      std::filesystem::create_directories(d->dir / "boot");
      std::filesystem::create_directories(d->dir / "root");
    }
    fill(d->dir);
    auto st = commit_generation(c_, *d, generation_info{0, 0, "test", "", ""}, false);
    EXPECT_TRUE(st) << st.error().message();
    return d->number;
  }

  client_record record(unsigned gen, root_model model = root_model::copy) const {
    client_record r;
    r.folder = "pi1";
    r.image = "img";
    r.generation = gen;
    r.model = model;
    return r;
  }

  // Hooks that write cmdline.txt and the hostname the way the provisioning tool does, and log.
  board_hooks hooks() {
    board_hooks h;
    h.customize = [this](client_record const& r, board_marker const& m, std::filesystem::path const& boot,
                         std::filesystem::path const& tree) -> std::error_code {
      ++customized_;
      customize_marker_ = m;
      EXPECT_EQ(r.folder, "pi1");
      EXPECT_TRUE(std::filesystem::is_directory(boot)) << boot;
      EXPECT_TRUE(std::filesystem::is_directory(tree)) << tree;
      EXPECT_EQ(tree.filename().string(), m.tree);
      test::write_text(boot / "cmdline.txt", "root=/dev/nfs gen=" + std::to_string(m.generation) + "\n");
      // Keeps what exists of the board's identity (the generation's is an empty placeholder).
      if (test::read_text(tree / "etc/hostname").empty()) test::write_text(tree / "etc/hostname", "pi1\n");
      return {};
    };
    h.switched = [this]() -> std::error_code {
      points_.emplace_back("switched-hook");
      return {};
    };
    h.note = [this](std::string const& s) { notes_.push_back(s); };
    h.at = [this](std::string_view p) { points_.emplace_back(p); };
    return h;
  }

  std::filesystem::path boot() const { return c_.boot_dir("pi1"); }
  std::filesystem::path board() const { return board_dir(c_, "pi1"); }

  test::temp_dir dir_;
  layout_config c_;
  unsigned gen1_ = 0, gen2_ = 0;
  int customized_ = 0;
  board_marker customize_marker_;
  std::vector<std::string> points_;
  std::vector<std::string> notes_;
};

TEST_F(LayoutBoardSwitch, FirstCopyBoardGetsMarkerAndTrees) {
  ASSERT_EQ(gen1_, 1U);
  ASSERT_EQ(gen2_, 2U);
  auto none = read_board_marker(c_, "pi1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_FALSE(switch_board(c_, record(1), hooks()));
  EXPECT_EQ(customized_, 1);
  EXPECT_EQ(customize_marker_, (board_marker{"img", 1, root_model::copy, "root.g1.1"}));
  EXPECT_EQ(points_, (std::vector<std::string>{"staged-root", "staged-boot", "switched", "switched-hook"}));
  auto m = read_board_marker(c_, "pi1");
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ(**m, (board_marker{"img", 1, root_model::copy, "root.g1.1"}));
  EXPECT_EQ(test::read_text(boot() / "kernel.img"), "kernel-1");
  EXPECT_EQ(test::read_text(boot() / "overlays/x.dtbo"), "dtbo");
  EXPECT_EQ(test::read_text(boot() / "cmdline.txt"), "root=/dev/nfs gen=1\n");
  EXPECT_EQ(inode(boot() / "kernel.img"), inode(generation_path(c_, "img", 1) / "boot/kernel.img"))
      << "boot files are the generation's, hard-linked";
  EXPECT_EQ(test::read_text(board() / "root.g1.1/etc/motd"), "gen 1\n");
  EXPECT_EQ(test::read_text(board() / "root.g1.1/etc/hostname"), "pi1\n");
  EXPECT_NE(inode(board() / "root.g1.1/etc/motd"), inode(generation_path(c_, "img", 1) / "root/etc/motd"))
      << "a copy board's root is its own";
  EXPECT_EQ(names_in(board()), std::vector<std::string>{"root.g1.1"});
  // Nothing left in staging (the journal included).
  EXPECT_TRUE(names_in(c_.root_staging_dir()).empty()) << names_in(c_.root_staging_dir()).front();
  EXPECT_TRUE(names_in(c_.boot_staging_dir()).empty()) << names_in(c_.boot_staging_dir()).front();
  // A fresh board matches its generation.
  auto v = verify_board(c_, record(1));
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_TRUE(v->empty()) << v->front();
}

TEST_F(LayoutBoardSwitch, MissingGenerationAndBadFolderAreRefused) {
  EXPECT_EQ(switch_board(c_, record(9), hooks()), errc::no_such_generation);
  auto r = record(1);
  r.folder = "../x";
  EXPECT_TRUE(switch_board(c_, r, hooks()));
  EXPECT_FALSE(exists_nofollow(board()));
  EXPECT_FALSE(exists_nofollow(boot()));
  EXPECT_EQ(customized_, 0);
}

TEST_F(LayoutBoardSwitch, ABootTreeNoGenerationMadeIsNotTaken) {
  test::write_text(boot() / "kernel.img", "hand-made");
  EXPECT_EQ(switch_board(c_, record(1), hooks()), errc::client_exists);
  EXPECT_EQ(test::read_text(boot() / "kernel.img"), "hand-made");
}

TEST_F(LayoutBoardSwitch, AFailingCustomizeLeavesNoBoard) {
  auto h = hooks();
  h.customize = [](auto const&, auto const&, auto const&, auto const&) {
    return std::error_code{EIO, std::generic_category()};
  };
  EXPECT_EQ(switch_board(c_, record(1), h), std::error_code(EIO, std::generic_category()));
  EXPECT_FALSE(exists_nofollow(boot()));
  EXPECT_FALSE(exists_nofollow(board()));
  EXPECT_TRUE(names_in(c_.root_staging_dir()).empty());
  EXPECT_TRUE(names_in(c_.boot_staging_dir()).empty());
}

TEST_F(LayoutBoardSwitch, CopyBoardMovesToGeneration2KeepingItsOwnPaths) {
  ASSERT_FALSE(switch_board(c_, record(1), hooks()));
  auto old_boot_kernel = inode(boot() / "kernel.img");
  // The board's own data, and a change outside its own paths.
  test::write_text(board() / "root.g1.1/home/pi/notes.txt", "mine\n");
  test::write_text(board() / "root.g1.1/etc/hostname", "renamed\n");
  test::write_text(board() / "root.g1.1/usr/bin/tool", "patched");
  points_.clear();
  auto r = record(2);
  r.previous = 1;
  ASSERT_FALSE(switch_board(c_, r, hooks()));
  EXPECT_EQ(points_, (std::vector<std::string>{"staged-root", "staged-boot", "switched", "switched-hook"}));
  auto m = read_board_marker(c_, "pi1");
  ASSERT_TRUE(m && m->has_value());
  EXPECT_EQ(**m, (board_marker{"img", 2, root_model::copy, "root.g2.2"}));
  EXPECT_EQ(test::read_text(boot() / "kernel.img"), "kernel-2");
  EXPECT_NE(inode(boot() / "kernel.img"), old_boot_kernel);
  EXPECT_EQ(test::read_text(boot() / "cmdline.txt"), "root=/dev/nfs gen=2\n");
  EXPECT_EQ(names_in(board()), std::vector<std::string>{"root.g2.2"}) << "clean_board removed root.g1.1";
  EXPECT_EQ(test::read_text(board() / "root.g2.2/home/pi/notes.txt"), "mine\n") << "/home is persistent";
  EXPECT_EQ(test::read_text(board() / "root.g2.2/etc/hostname"), "renamed\n") << "identity carried";
  EXPECT_EQ(test::read_text(board() / "root.g2.2/usr/bin/tool"), "tool-2") << "the new generation's file";
  EXPECT_EQ(test::read_text(board() / "root.g2.2/etc/motd"), "gen 2\n");
  EXPECT_EQ(test::read_text(generation_path(c_, "img", 1) / "boot/kernel.img"), "kernel-1");
  EXPECT_TRUE(names_in(c_.boot_staging_dir()).empty()) << "the old boot tree is deleted";
  // The change outside the board's own paths is reported, the owned ones are not.
  bool tool_noted = false;
  for (auto const& n : notes_) {
    if (n.find("root/usr/bin/tool") != std::string::npos) tool_noted = true;
    EXPECT_EQ(n.find("notes.txt"), std::string::npos) << n;
    EXPECT_EQ(n.find("hostname"), std::string::npos) << n;
  }
  EXPECT_TRUE(tool_noted) << notes_.size() << " notes";
  auto v = verify_board(c_, r);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->empty()) << v->front();
}

// A rollback must not bring back a root's old name: an NFS server's directory cache may
// still resolve it to the deleted directory (NFS-Ganesha 4.3 did, in the NFS-root e2e test).
TEST_F(LayoutBoardSwitch, ARollbackGetsARootNameTheBoardNeverHad) {
  ASSERT_FALSE(switch_board(c_, record(1), hooks()));
  ASSERT_FALSE(switch_board(c_, record(2), hooks()));
  ASSERT_FALSE(switch_board(c_, record(1), hooks()));
  auto m = read_board_marker(c_, "pi1");
  ASSERT_TRUE(m && m->has_value());
  EXPECT_EQ((*m)->tree, "root.g1.3");
  EXPECT_EQ(names_in(board()), std::vector<std::string>{"root.g1.3"});
}

TEST_F(LayoutBoardSwitch, CleanBoardKeepsTheMarkedTreeAndTheOperatorsFiles) {
  ASSERT_FALSE(switch_board(c_, record(1), hooks()));
  std::filesystem::create_directories(board() / "root.g0");
  std::filesystem::create_directories(board() / "state.new.123");
  std::filesystem::create_directories(board() / "state");
  test::write_text(board() / "operator-notes", "keep");
  ASSERT_FALSE(clean_board(c_, "pi1", board_marker{"img", 1, root_model::copy, "root.g1.1"}));
  EXPECT_EQ(names_in(board()), (std::vector<std::string>{"operator-notes", "root.g1.1"}));
  EXPECT_FALSE(clean_board(c_, "nobody", board_marker{"img", 1, root_model::copy, "root.g1.1"}));
}

TEST_F(LayoutBoardSwitch, SharedBoardGetsSeededStateKeptAcrossASwitch) {
  ASSERT_FALSE(switch_board(c_, record(1, root_model::shared), hooks()));
  EXPECT_EQ(points_, (std::vector<std::string>{"staged-root", "staged-boot", "switched", "switched-hook"}));
  auto m = read_board_marker(c_, "pi1");
  ASSERT_TRUE(m && m->has_value());
  EXPECT_EQ(**m, (board_marker{"img", 1, root_model::shared, "state"}));
  auto state = board() / "state";
  EXPECT_TRUE(std::filesystem::is_directory(state));
  EXPECT_EQ(test::read_text(state / "home/pi/.profile"), "# image profile\n") << "seeded from the generation";
  EXPECT_EQ(test::read_text(state / "var/log/seed.log"), "seeded\n");
  EXPECT_FALSE(exists_nofollow(state / "usr")) << "only persistent paths are the board's";
  EXPECT_FALSE(exists_nofollow(board() / "root.g1.1")) << "a shared board has no root copy";
  EXPECT_EQ(names_in(board()), std::vector<std::string>{"state"});
  auto v = verify_board(c_, record(1, root_model::shared));
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->empty()) << v->front();

  test::write_text(state / "home/pi/notes.txt", "mine\n");
  points_.clear();
  ASSERT_FALSE(switch_board(c_, record(2, root_model::shared), hooks()));
  EXPECT_EQ(points_, (std::vector<std::string>{"staged-root", "staged-boot", "switched", "switched-hook"}));
  m = read_board_marker(c_, "pi1");
  ASSERT_TRUE(m && m->has_value());
  EXPECT_EQ(**m, (board_marker{"img", 2, root_model::shared, "state"}));
  EXPECT_EQ(test::read_text(boot() / "kernel.img"), "kernel-2");
  EXPECT_EQ(test::read_text(state / "home/pi/notes.txt"), "mine\n");
  EXPECT_EQ(test::read_text(state / "etc/hostname"), "pi1\n");
  EXPECT_EQ(names_in(board()), std::vector<std::string>{"state"});
}

TEST_F(LayoutBoardSwitch, CopyToSharedCarriesTheBoardsOwnPaths) {
  ASSERT_FALSE(switch_board(c_, record(1), hooks()));
  test::write_text(board() / "root.g1.1/home/pi/notes.txt", "mine\n");
  test::write_text(board() / "root.g1.1/etc/ssh/ssh_host_ed25519_key", "KEY");
  ASSERT_FALSE(switch_board(c_, record(2, root_model::shared), hooks()));
  auto state = board() / "state";
  EXPECT_EQ(test::read_text(state / "home/pi/notes.txt"), "mine\n");
  EXPECT_EQ(test::read_text(state / "etc/hostname"), "pi1\n");
  EXPECT_EQ(test::read_text(state / "etc/ssh/ssh_host_ed25519_key"), "KEY");
  EXPECT_EQ(names_in(board()), std::vector<std::string>{"state"});
}

TEST_F(LayoutBoardSwitch, VerifyReportsDriftOfACopyBoard) {
  ASSERT_FALSE(switch_board(c_, record(1), hooks()));
  std::filesystem::remove(boot() / "overlays/x.dtbo");  // unlink only: the inode is the generation's
  test::write_text(board() / "root.g1.1/etc/motd", "changed\n");
  test::write_text(board() / "root.g1.1/home/pi/notes.txt", "owned: not drift\n");
  auto v = verify_board(c_, record(1));
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(*v, (std::vector<std::string>{"missing boot/overlays/x.dtbo", "changed root/etc/motd (content)"}));
  // The registry disagreeing with the marker is reported too.
  auto other = verify_board(c_, record(2));
  ASSERT_TRUE(other);
  ASSERT_FALSE(other->empty());
  EXPECT_NE(other->front().find("run `repair`"), std::string::npos) << other->front();
  // A lost root tree.
  ASSERT_FALSE(remove_tree(board() / "root.g1.1"));
  v = verify_board(c_, record(1));
  ASSERT_TRUE(v);
  ASSERT_FALSE(v->empty());
  EXPECT_NE(v->back().find("root tree missing"), std::string::npos) << v->back();
}

TEST_F(LayoutBoardSwitch, VerifyWithoutABootTree) {
  auto v = verify_board(c_, record(1));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, std::vector<std::string>{"boot tree missing"});
}

}  // namespace
}  // namespace pinetboot::layout
