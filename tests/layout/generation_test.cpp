#include "pinetboot/layout/generation.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

// The error of a result, or no error (never error() of a value: that terminates).
template <class R>
std::error_code err(R const& r) {
  return r ? std::error_code{} : r.error();
}

struct stat lstat_of(std::filesystem::path const& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

bool exists_nofollow(std::filesystem::path const& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

unsigned latest(layout_config const& c, std::string_view image) {
  auto r = latest_generation(c, image);
  return r ? *r : 0;
}

// --- image settings -------------------------------------------------------------------------

TEST(LayoutImageSettings, DefaultsRoundTripAndGoldenText) {
  image_settings s;
  auto text = format_image_settings(s);
  EXPECT_NE(text.find("\npersist=/home,/var/log\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nvolatile=/tmp,/var/tmp,/var/spool,/var/lib/dhcpcd,/var/lib/systemd\n"), std::string::npos)
      << text;
  auto parsed = parse_image_settings(text);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, s);
}

TEST(LayoutImageSettings, RoundTripsCustomAndEmptyLists) {
  image_settings s{{"/srv/data", "/opt/x.y-z_1"}, {}};
  auto parsed = parse_image_settings(format_image_settings(s));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, s);
  image_settings none{{}, {}};
  parsed = parse_image_settings(format_image_settings(none));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, none);
}

TEST(LayoutImageSettings, MissingKeysKeepDefaultsAndLastLineWins) {
  auto p = parse_image_settings("# only persist\npersist=/a\n\npersist=/b,/c\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->persist, (std::vector<std::string>{"/b", "/c"}));
  EXPECT_EQ(p->volatile_paths, image_settings{}.volatile_paths);
  auto empty = parse_image_settings("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, image_settings{});
}

TEST(LayoutImageSettings, RejectsBadLines) {
  for (std::string_view bad : {"persist\n", "other=/a\n", "persist=home\n", "persist=/a,,/b\n", "persist=/a b\n",
                               "volatile=/a/../b\n", "volatile=/\n", "persist=/a/\n", " persist=/a\n",
                               "persist=/$HOME\n", "persist=/a\tb\n"}) {
    auto r = parse_image_settings(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::bad_manifest) << bad;
  }
}

TEST(LayoutImageSettings, CheckStatePath) {
  for (std::string_view ok : {"/home", "/var/log", "/a", "/..x", "/x..", "/a.b/c-d_e", "/var/lib/.hidden"})
    EXPECT_FALSE(check_state_path(ok)) << ok;
  std::string long_path = "/" + std::string(255, 'a');
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "", "/", "home", "/home/", "//home", "/a//b", "/..", "/.", "/a/..", "/a/.", "/a/../b", "/a/./b", "/a b",
           "/a,b", "/a\tb", "/a\nb", "/a\"b", "/a'b", "/a\\b", "/a$b", "/a`b", "/a\x7f", std::string_view{"/a\0b", 4}})
    EXPECT_EQ(check_state_path(bad), errc::unsafe_path) << bad;
  EXPECT_EQ(check_state_path(long_path), errc::unsafe_path);
  EXPECT_FALSE(check_state_path(std::string_view{long_path}.substr(0, 255)));
}

// --- generation info ------------------------------------------------------------------------

TEST(LayoutGenerationInfo, RoundTripsAndGoldenText) {
  generation_info g{4, 3, "exec apt-get -y upgrade a=b", "2024-01-02T03:04:05Z", "hardlink"};
  auto text = format_generation_info(g);
  EXPECT_EQ(text,
            "generation=4\nparent=3\nsource=exec apt-get -y upgrade a=b\ncreated=2024-01-02T03:04:05Z\n"
            "sharing=hardlink\n");
  auto parsed = parse_generation_info(text);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, g);
}

TEST(LayoutGenerationInfo, NewlinesInFieldsStayOnOneLine) {
  generation_info g{1, 0, "exec sh -c 'a\nb'", "now", "none"};
  auto parsed = parse_generation_info(format_generation_info(g));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->source, "exec sh -c 'a b'");
  EXPECT_EQ(parsed->number, 1U);
}

// A value is one line of printable text: a '\r' (CRLF line ends) is refused, so
// format(parse(x)) always parses back to parse(x) (the fuzzer's first find).
TEST(LayoutGenerationInfo, ControlCharactersInAValueAreRefused) {
  EXPECT_FALSE(parse_generation_info("generation=1\nsource=x\r\n"));
  EXPECT_FALSE(parse_generation_info("generation=1\nsource=a\tb\n"));
  generation_info g;
  g.number = 2;
  g.source = "exec sh -c 'a\rb'";
  auto again = parse_generation_info(format_generation_info(g));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->source, "exec sh -c 'a b'");
}

TEST(LayoutGenerationInfo, OptionalFieldsAndErrors) {
  auto p = parse_generation_info("# c\ngeneration=7\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->number, 7U);
  EXPECT_EQ(p->parent, 0U);
  EXPECT_EQ(p->source, "");
  for (std::string_view bad : {"", "parent=1\n", "generation=0\n", "generation=x\n", "generation=-1\n",
                               "generation=1\nparent=y\n", "generation=1\nbogus=1\n", "generation=1\nsource\n",
                               "generation=99999999999\n", "generation= 1\n"}) {
    auto r = parse_generation_info(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::bad_manifest) << bad;
  }
}

// --- the store ------------------------------------------------------------------------------

class LayoutGenerationStore : public ::testing::Test {
 protected:
  void SetUp() override { c_.prefix = dir_.path(); }

  // A draft with boot/ and root/ filled by `fill`, committed; returns its number.
  template <class F>
  unsigned make(F fill, unsigned parent = 0) {
    auto d = begin_generation(c_, "img");
    EXPECT_TRUE(d) << d.error().message();
    if (!d) return 0;
    bool reflinked = false;
    if (parent != 0) {
      auto copied = copy_parent_generation(c_, *d, parent);
      EXPECT_TRUE(copied) << copied.error().message();
      EXPECT_EQ(d->parent, parent);
    } else {
      std::filesystem::create_directories(d->dir / "boot");
      std::filesystem::create_directories(d->dir / "root");
    }
    fill(d->dir);
    generation_info info;
    info.source = "test";
    auto st = commit_generation(c_, *d, info, reflinked);
    EXPECT_TRUE(st) << st.error().message();
    if (st) stats_ = *st;
    return d->number;
  }

  static void basic(std::filesystem::path const& d) {
    test::write_text(d / "boot/kernel.img", "kernel-1");
    test::write_text(d / "boot/config.txt", "arm_64bit=1\n");
    test::write_text(d / "root/etc/os-release", "ID=test\n");
    test::write_text(d / "root/usr/bin/same", std::string(5000, 's'));
    test::write_text(d / "root/usr/bin/changes", "v1");
  }

  test::temp_dir dir_;
  layout_config c_;
  commit_stats stats_;
};

TEST_F(LayoutGenerationStore, PathsAreBelowThePrefix) {
  EXPECT_EQ(image_path(c_, "img"), dir_.path() / "srv/pinetboot/images/img");
  EXPECT_EQ(generation_path(c_, "img", 3), dir_.path() / "srv/pinetboot/images/img/3");
  EXPECT_EQ(exported_generation_root(c_, "img", 3), std::filesystem::path{"/srv/pinetboot/images/img/3/root"});
}

TEST_F(LayoutGenerationStore, EmptyStoreAndMissingImage) {
  auto imgs = list_images(c_);
  ASSERT_TRUE(imgs);
  EXPECT_TRUE(imgs->empty());
  EXPECT_EQ(err(list_generations(c_, "img")), errc::no_such_image);
  EXPECT_EQ(err(latest_generation(c_, "img")), errc::no_such_image);
  EXPECT_EQ(err(list_generations(c_, "../x")), errc::bad_image_name);
  EXPECT_EQ(err(begin_generation(c_, "../x")), errc::bad_image_name);
  EXPECT_EQ(err(begin_generation(c_, ".hidden")), errc::bad_image_name);
  EXPECT_EQ(err(read_image_settings(c_, "img")), errc::no_such_image);
}

TEST_F(LayoutGenerationStore, NumbersGenerationsFromOneAndCommitsAtomically) {
  auto d = begin_generation(c_, "img");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->number, 1U);
  EXPECT_EQ(d->parent, 0U);
  EXPECT_EQ(d->image, "img");
  EXPECT_EQ(d->dir.parent_path(), image_path(c_, "img") / ".staging");
  EXPECT_EQ(d->dir.filename().string(), "1." + std::to_string(::getpid()));
  EXPECT_EQ(lstat_of(d->dir).st_mode & 07777, 0700U);
  EXPECT_EQ(lstat_of(d->dir.parent_path()).st_mode & 07777, 0700U);
  // Nothing is a generation yet.
  EXPECT_EQ(err(latest_generation(c_, "img")), errc::no_such_generation);
  ASSERT_TRUE(list_generations(c_, "img"));
  EXPECT_TRUE(list_generations(c_, "img")->empty());

  std::filesystem::create_directories(d->dir / "boot");
  std::filesystem::create_directories(d->dir / "root");
  basic(d->dir);
  generation_info info;
  info.source = "import tree a b";
  info.created = "2024-05-06T07:08:09Z";
  info.number = 77;  // overwritten by the draft's
  std::uint64_t told = 0;
  auto st = commit_generation(c_, *d, info, false, [&](std::uint64_t n) { told += n; });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->sharing, "none");
  EXPECT_EQ(st->shared_files, 0U);
  EXPECT_GE(st->files, 5U);
  EXPECT_EQ(told, st->bytes);
  EXPECT_FALSE(exists_nofollow(d->dir)) << "the draft was renamed into place";
  auto g1 = generation_path(c_, "img", 1);
  EXPECT_EQ(lstat_of(g1).st_mode & 07777, 0755U);
  EXPECT_EQ(test::read_text(g1 / "boot/kernel.img"), "kernel-1");

  auto gi = read_generation_info(c_, "img", 1);
  ASSERT_TRUE(gi) << gi.error().message();
  EXPECT_EQ(gi->number, 1U);
  EXPECT_EQ(gi->parent, 0U);
  EXPECT_EQ(gi->source, "import tree a b");
  EXPECT_EQ(gi->created, "2024-05-06T07:08:09Z");
  EXPECT_EQ(gi->sharing, "none");

  auto m = read_generation_manifest(c_, "img", 1);
  ASSERT_TRUE(m) << m.error().message();
  bool saw_kernel = false, saw_os = false;
  for (auto const& e : *m) {
    if (e.path == "boot/kernel.img") {
      saw_kernel = true;
      EXPECT_EQ(e.sha256, sha256_hex("kernel-1"));
    }
    if (e.path == "root/etc/os-release") saw_os = true;
    EXPECT_TRUE(e.path == "boot" || e.path.starts_with("boot/") || e.path == "root" || e.path.starts_with("root/"))
        << e.path;
  }
  EXPECT_TRUE(saw_kernel && saw_os);
  // The manifest is exactly what the trees hold now.
  auto boot = scan_manifest(g1 / "boot", "boot");
  auto root = scan_manifest(g1 / "root", "root");
  ASSERT_TRUE(boot && root);
  auto all = *boot;
  all.insert(all.end(), root->begin(), root->end());
  EXPECT_EQ(*m, all);

  auto d2 = begin_generation(c_, "img");
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->number, 2U);
  EXPECT_EQ(latest(c_, "img"), 1U);
  EXPECT_FALSE(abort_generation(*d2));
  EXPECT_FALSE(exists_nofollow(d2->dir));
  auto imgs = list_images(c_);
  ASSERT_TRUE(imgs);
  EXPECT_EQ(*imgs, std::vector<std::string>{"img"});
  EXPECT_EQ(err(read_generation_info(c_, "img", 9)), errc::no_such_generation);
  EXPECT_EQ(err(read_generation_manifest(c_, "img", 9)), errc::no_such_generation);
}

TEST_F(LayoutGenerationStore, CreatedDefaultsToUtcNow) {
  ASSERT_EQ(make(basic), 1U);
  auto gi = read_generation_info(c_, "img", 1);
  ASSERT_TRUE(gi);
  ASSERT_EQ(gi->created.size(), 20U) << gi->created;
  EXPECT_EQ(gi->created[4], '-');
  EXPECT_EQ(gi->created[10], 'T');
  EXPECT_EQ(gi->created.back(), 'Z');
}

TEST_F(LayoutGenerationStore, BeginRemovesStaleStaging) {
  ASSERT_EQ(make(basic), 1U);
  auto staging = image_path(c_, "img") / ".staging";
  test::write_text(staging / "2.999999/root/etc/junk", "dead run");
  ASSERT_EQ(::chmod((staging / "2.999999/root/etc").c_str(), 0555), 0);  // read-only leftovers too
  test::write_text(staging / "1.rm.5", "x");
  auto d = begin_generation(c_, "img");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->number, 2U);
  EXPECT_FALSE(exists_nofollow(staging / "2.999999"));
  EXPECT_FALSE(exists_nofollow(staging / "1.rm.5"));
  EXPECT_TRUE(exists_nofollow(d->dir));
  EXPECT_TRUE(exists_nofollow(generation_path(c_, "img", 1) / "boot/kernel.img")) << "generations are untouched";
}

TEST_F(LayoutGenerationStore, PrepareRootAddsBoardInitAndRemovesIdentity) {
  ASSERT_EQ(make([](std::filesystem::path const& d) {
              basic(d);
              test::write_text(d / "root/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
              test::write_text(d / "root/etc/hostname", "golden\n");
              test::write_text(d / "root/etc/ssh/ssh_host_ed25519_key", "PRIVATE");
              test::write_text(d / "root/etc/ssh/ssh_host_ed25519_key.pub", "PUBLIC");
              test::write_text(d / "root/etc/ssh/sshd_config", "Port 22\n");
            }),
            1U);
  auto root = generation_path(c_, "img", 1) / "root";
  auto init = root / std::string{board_init_path};
  auto st = lstat_of(init);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755U);
  EXPECT_EQ(::access(init.c_str(), X_OK), 0);
  EXPECT_EQ(test::read_text(init), std::string{board_init_script()});
  EXPECT_TRUE(test::read_text(init).starts_with("#!/bin/sh\n"));
  EXPECT_NE(test::read_text(init).find("exec /sbin/init"), std::string::npos);
  for (char const* d : {"proc", "sys", "dev", "run", "tmp", "etc", "home"})
    EXPECT_TRUE(S_ISDIR(lstat_of(root / d).st_mode)) << d;
  EXPECT_EQ(test::read_text(root / "etc/machine-id"), "");
  EXPECT_EQ(lstat_of(root / "etc/machine-id").st_mode & 07777, 0444U);
  EXPECT_EQ(test::read_text(root / "etc/hostname"), "golden\n") << "an existing hostname stays (a placeholder)";
  EXPECT_TRUE(exists_nofollow(root / "etc/hosts")) << "a missing identity file gets an empty placeholder";
  EXPECT_EQ(test::read_text(root / "etc/hosts"), "");
  for (char const* k : {"ssh_host_ed25519_key", "ssh_host_ecdsa_key", "ssh_host_rsa_key"}) {
    std::string key{k};
    EXPECT_EQ(test::read_text(root / "etc/ssh" / key), "") << key;
    EXPECT_EQ(test::read_text(root / "etc/ssh" / (key + ".pub")), "") << key;
    EXPECT_EQ(lstat_of(root / "etc/ssh" / key).st_mode & 07777, 0600U) << key;
    EXPECT_EQ(lstat_of(root / "etc/ssh" / (key + ".pub")).st_mode & 07777, 0644U) << key;
  }
  EXPECT_EQ(test::read_text(root / "etc/ssh/sshd_config"), "Port 22\n");
  // The manifest records the prepared root, not what the caller put there.
  auto m = read_generation_manifest(c_, "img", 1);
  ASSERT_TRUE(m);
  bool saw = false;
  for (auto const& e : *m)
    if (e.path == "root/etc/machine-id") {
      saw = true;
      EXPECT_EQ(e.size, 0U);
    }
  EXPECT_TRUE(saw);
}

TEST_F(LayoutGenerationStore, PrepareRootWithoutSshMakesNoKeysAndKeepsSymlinkedIdentity) {
  ASSERT_EQ(make([](std::filesystem::path const& d) {
              basic(d);
              std::filesystem::create_directories(d / "root/etc");
              std::filesystem::create_symlink("/run/machine-id", d / "root/etc/machine-id");
            }),
            1U);
  auto root = generation_path(c_, "img", 1) / "root";
  EXPECT_FALSE(exists_nofollow(root / "etc/ssh"));
  EXPECT_TRUE(S_ISLNK(lstat_of(root / "etc/machine-id").st_mode)) << "a symlinked identity file is the image's";
}

TEST_F(LayoutGenerationStore, CommitSharesUnchangedFilesWithTheParentByHardLinks) {
  ASSERT_EQ(make([](std::filesystem::path const& d) {
              basic(d);
              test::write_text(d / "root/usr/bin/capped", "cap-file");
              test::write_text(d / "root/usr/bin/modechange", "mode");
            }),
            1U);
  auto g1 = generation_path(c_, "img", 1);
  bool xattrs = ::setxattr((g1 / "root/usr/bin/capped").c_str(), "user.pinetboot", "v", 1, 0) == 0;
  ASSERT_EQ(make(
                [](std::filesystem::path const& d) {
                  test::write_text(d / "root/usr/bin/changes", "v2");
                  test::write_text(d / "root/usr/bin/new", "new");
                  ASSERT_EQ(::chmod((d / "root/usr/bin/modechange").c_str(), 0600), 0);
                },
                1),
            2U);
  auto g2 = generation_path(c_, "img", 2);
  auto ino = [](std::filesystem::path const& p) { return lstat_of(p).st_ino; };
  EXPECT_EQ(ino(g1 / "root/usr/bin/same"), ino(g2 / "root/usr/bin/same"));
  EXPECT_EQ(ino(g1 / "boot/kernel.img"), ino(g2 / "boot/kernel.img"));
  EXPECT_EQ(ino(g1 / "root/etc/os-release"), ino(g2 / "root/etc/os-release"));
  EXPECT_EQ(ino(g1 / "root" / std::string{board_init_path}), ino(g2 / "root" / std::string{board_init_path}));
  EXPECT_NE(ino(g1 / "root/usr/bin/changes"), ino(g2 / "root/usr/bin/changes"));
  EXPECT_NE(ino(g1 / "root/usr/bin/modechange"), ino(g2 / "root/usr/bin/modechange")) << "other mode: not shared";
  EXPECT_EQ(test::read_text(g1 / "root/usr/bin/changes"), "v1") << "the parent is never written";
  EXPECT_EQ(test::read_text(g2 / "root/usr/bin/changes"), "v2");
  EXPECT_EQ(lstat_of(g1 / "root/usr/bin/modechange").st_mode & 07777, 0644U);
  if (xattrs) {
    EXPECT_NE(ino(g1 / "root/usr/bin/capped"), ino(g2 / "root/usr/bin/capped")) << "a file with xattrs keeps a copy";
  }
  EXPECT_EQ(stats_.sharing, "hardlink");
  EXPECT_GE(stats_.shared_files, 5U);
  EXPECT_LT(stats_.shared_files, stats_.files);
  EXPECT_GE(stats_.shared_bytes, 5000U);
  // No temporary link names are left behind.
  for (auto const& e : std::filesystem::recursive_directory_iterator(g2))
    EXPECT_EQ(e.path().string().find(".pinetboot-link"), std::string::npos) << e.path();
  auto gi = read_generation_info(c_, "img", 2);
  ASSERT_TRUE(gi);
  EXPECT_EQ(gi->parent, 1U);
  EXPECT_EQ(gi->sharing, "hardlink");
  auto m = read_generation_manifest(c_, "img", 2);
  ASSERT_TRUE(m);
  bool saw_new = false;
  for (auto const& e : *m)
    if (e.path == "root/usr/bin/new") saw_new = true;
  EXPECT_TRUE(saw_new);
}

TEST_F(LayoutGenerationStore, ListLatestAndRemove) {
  ASSERT_EQ(make(basic), 1U);
  ASSERT_EQ(make([](auto const&) {}, 1), 2U);
  ASSERT_EQ(make([](auto const&) {}, 2), 3U);
  // Names that are not generations are ignored.
  auto img = image_path(c_, "img");
  std::filesystem::create_directories(img / "010");
  std::filesystem::create_directories(img / "0");
  std::filesystem::create_directories(img / "x7");
  test::write_text(img / "12", "not a dir");
  auto gens = list_generations(c_, "img");
  ASSERT_TRUE(gens);
  EXPECT_EQ(*gens, (std::vector<unsigned>{1, 2, 3}));
  EXPECT_EQ(latest(c_, "img"), 3U);

  EXPECT_FALSE(remove_generation(c_, "img", 3));
  EXPECT_FALSE(exists_nofollow(generation_path(c_, "img", 3)));
  EXPECT_EQ(latest(c_, "img"), 2U);
  EXPECT_FALSE(remove_generation(c_, "img", 1));
  EXPECT_EQ(*list_generations(c_, "img"), std::vector<unsigned>{2});
  EXPECT_EQ(test::read_text(generation_path(c_, "img", 2) / "boot/kernel.img"), "kernel-1")
      << "the shared inode survives the parent's removal";
  EXPECT_EQ(remove_generation(c_, "img", 1), errc::no_such_generation);
  EXPECT_EQ(remove_generation(c_, "img", 42), errc::no_such_generation);
  // Nothing left in staging by the removals.
  for (auto const& e : std::filesystem::directory_iterator(img / ".staging")) ADD_FAILURE() << e.path();
  // The next generation follows the highest that exists.
  auto d = begin_generation(c_, "img");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->number, 3U);
  EXPECT_FALSE(abort_generation(*d));
  EXPECT_FALSE(remove_generation(c_, "img", 2));
  EXPECT_EQ(err(latest_generation(c_, "img")), errc::no_such_generation);
}

TEST_F(LayoutGenerationStore, ImageSettingsFile) {
  ASSERT_EQ(make(basic), 1U);
  auto s = read_image_settings(c_, "img");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, image_settings{}) << "a missing image.conf gives the defaults";
  image_settings mine{{"/srv"}, {"/tmp"}};
  ASSERT_FALSE(write_image_settings(c_, "img", mine));
  s = read_image_settings(c_, "img");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, mine);
  test::write_text(image_path(c_, "img") / "image.conf", "persist=relative\n");
  EXPECT_EQ(err(read_image_settings(c_, "img")), errc::bad_manifest);
  EXPECT_EQ(*list_generations(c_, "img"), std::vector<unsigned>{1}) << "image.conf is not a generation";
}

TEST_F(LayoutGenerationStore, GenerationBytesCountsASharedInodeOnce) {
  std::string const big(1 << 20, 'b');
  ASSERT_EQ(make([&](std::filesystem::path const& d) {
              basic(d);
              test::write_text(d / "root/big", big);
              ASSERT_EQ(::link((d / "root/big").c_str(), (d / "root/big-again").c_str()), 0);
            }),
            1U);
  ASSERT_EQ(make([](auto const&) {}, 1), 2U);
  ASSERT_EQ(make(
                [&](std::filesystem::path const& d) {
                  std::filesystem::remove(d / "root/big");  // big-again keeps the shared content
                  test::write_text(d / "root/big", big + "x");
                },
                2),
            3U);
  auto g1 = generation_path(c_, "img", 1), g2 = generation_path(c_, "img", 2);
  ASSERT_EQ(lstat_of(g1 / "root/big").st_ino, lstat_of(g2 / "root/big").st_ino);
  auto bytes = generation_bytes(c_, "img");
  ASSERT_TRUE(bytes) << bytes.error().message();
  ASSERT_EQ(bytes->size(), 3U);
  EXPECT_EQ((*bytes)[0].first, 1U);
  EXPECT_EQ((*bytes)[1].first, 2U);
  EXPECT_EQ((*bytes)[2].first, 3U);
  std::uint64_t const mib = 1 << 20;
  EXPECT_GE((*bytes)[0].second, mib);
  EXPECT_LT((*bytes)[0].second, 2 * mib) << "the two names of big are one inode";
  EXPECT_LT((*bytes)[1].second, mib) << "generation 2 shares big with generation 1";
  EXPECT_GE((*bytes)[2].second, mib) << "generation 3 has a big of its own";
  EXPECT_LT((*bytes)[2].second, 2 * mib) << "its big-again is still generation 1's";
  EXPECT_EQ(err(generation_bytes(c_, "nope")), errc::no_such_image);
}

}  // namespace
}  // namespace pinetboot::layout
