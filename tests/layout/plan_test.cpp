#include "pinetboot/layout/plan.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

client_record board(std::uint32_t serial, std::string host = {}) {
  client_record r;
  r.id.serial = core::pi_serial{serial};
  r.id.hostname = std::move(host);
  r.server = core::ipv4_address{10, 0, 0, 1};
  return r;
}

client_record registered(std::uint32_t serial, std::string host = {}) {
  auto r = board(serial, std::move(host));
  r.folder = r.id.serial->to_string();
  return r;
}

std::vector<std::string> kinds(std::vector<step> const& steps) {
  std::vector<std::string> out;
  for (auto const& s : steps) out.push_back(std::string{to_string(s.kind)} + " " + s.folder);
  return out;
}

using strings = std::vector<std::string>;

TEST(LayoutPlan, AddsNewClientToEmptyLayout) {
  std::vector<client_record> want{board(0xabcd1234)};
  auto steps = plan(want, snapshot{}, {});
  ASSERT_TRUE(steps) << steps.error().message();
  EXPECT_EQ(kinds(*steps), (strings{"stage abcd1234", "publish abcd1234", "write-registry "}));
  EXPECT_FALSE((*steps)[1].replace);
  ASSERT_EQ((*steps)[2].registry.size(), 1U);
  EXPECT_EQ((*steps)[2].registry[0].folder, "abcd1234");
  EXPECT_EQ((*steps)[0].client.folder, "abcd1234");
}

TEST(LayoutPlan, AddingTheSameClientTwicePlansNothing) {
  snapshot now;
  now.registered = {registered(0xabcd1234)};
  now.folders["abcd1234"] = {true, true};
  auto steps = plan(now.registered, now, {});
  ASSERT_TRUE(steps);
  EXPECT_TRUE(steps->empty());
  // A desired record without folder names the same folder.
  std::vector<client_record> want{board(0xabcd1234)};
  steps = plan(want, now, {});
  ASSERT_TRUE(steps);
  EXPECT_TRUE(steps->empty());
}

TEST(LayoutPlan, RefusesUnregisteredFolderWithoutForce) {
  snapshot now;
  now.folders["abcd1234"] = {true, false};
  std::vector<client_record> want{board(0xabcd1234)};
  EXPECT_EQ(plan(want, now, {}).error(), errc::client_exists);
  auto forced = plan(want, now, {core::folder_naming::serial, {"abcd1234"}});
  ASSERT_TRUE(forced);
  EXPECT_EQ(kinds(*forced), (strings{"stage abcd1234", "publish abcd1234", "write-registry "}));
  EXPECT_TRUE((*forced)[1].replace);
}

TEST(LayoutPlan, ForceRebuildsARegisteredClientWithoutRewritingTheRegistry) {
  snapshot now;
  now.registered = {registered(0xabcd1234)};
  now.folders["abcd1234"] = {true, true};
  auto steps = plan(now.registered, now, {core::folder_naming::serial, {"abcd1234"}});
  ASSERT_TRUE(steps);
  EXPECT_EQ(kinds(*steps), (strings{"stage abcd1234", "publish abcd1234"}));
  EXPECT_TRUE((*steps)[1].replace);
}

// The data-loss bug: `add --force` for one board rebuilt every registered board.
TEST(LayoutPlan, ForceRebuildsOnlyTheFoldersItNames) {
  snapshot now;
  now.registered = {registered(0xaaaa0001), registered(0xbbbb0002), registered(0xcccc0003)};
  for (auto const& r : now.registered) now.folders[r.folder] = {true, true};
  auto steps = plan(now.registered, now, {core::folder_naming::serial, {"aaaa0001"}});
  ASSERT_TRUE(steps);
  EXPECT_EQ(kinds(*steps), (strings{"stage aaaa0001", "publish aaaa0001"}));
  // An unregistered folder next to it is still refused unless it, too, is named.
  now.folders["dddd0004"] = {true, true};
  std::vector<client_record> want = now.registered;
  want.push_back(board(0xdddd0004));
  EXPECT_EQ(plan(want, now, {core::folder_naming::serial, {"aaaa0001"}}).error(), errc::client_exists);
}

TEST(LayoutPlan, RebuildsARegisteredClientWithAMissingTree) {
  snapshot now;
  now.registered = {registered(0xabcd1234)};
  now.folders["abcd1234"] = {false, true};
  auto steps = plan(now.registered, now, {});
  ASSERT_TRUE(steps);
  EXPECT_EQ(kinds(*steps), (strings{"stage abcd1234", "publish abcd1234"}));
  EXPECT_TRUE((*steps)[1].replace);
}

TEST(LayoutPlan, ReconfiguresChangedIdentity) {
  snapshot now;
  now.registered = {registered(0xabcd1234, "old")};
  now.folders["abcd1234"] = {true, true};
  std::vector<client_record> want{registered(0xabcd1234, "new")};
  auto steps = plan(want, now, {});
  ASSERT_TRUE(steps);
  EXPECT_EQ(kinds(*steps), (strings{"reconfigure abcd1234", "write-registry "}));
  EXPECT_EQ((*steps)[0].client.id.hostname, "new");
}

TEST(LayoutPlan, RemovesClientsNoLongerDesired) {
  snapshot now;
  now.registered = {registered(1), registered(2)};
  now.folders["00000001"] = {true, true};
  now.folders["00000002"] = {true, true};
  std::vector<client_record> want{registered(2)};
  auto steps = plan(want, now, {});
  ASSERT_TRUE(steps);
  EXPECT_EQ(kinds(*steps), (strings{"remove 00000001", "write-registry "}));
  EXPECT_EQ((*steps)[1].registry, want);
}

TEST(LayoutPlan, RollsJournalsForwardAndCleansStaleStagingFirst) {
  snapshot now;
  now.registered = {registered(1)};
  now.folders["00000001"] = {false, true};  // root published, boot still staged
  now.journals = {
      {"00000001", "/t/.pinetboot-staging/00000001.7", "/n/.pinetboot-staging/00000001.7", false}};
  now.stale = {"/t/.pinetboot-staging/00000002.9"};
  auto steps = plan(now.registered, now, {});
  ASSERT_TRUE(steps);
  EXPECT_EQ(kinds(*steps), (strings{"finish-publish 00000001", "remove-stale "}));
  EXPECT_EQ((*steps)[1].path, "/t/.pinetboot-staging/00000002.9");
}

TEST(LayoutPlan, AdoptsJournaledFolderThatMissedTheRegistryWrite) {
  snapshot now;  // published, then killed before the registry write
  now.folders["00000001"] = {true, true};
  now.journals = {
      {"00000001", "/t/.pinetboot-staging/00000001.7", "/n/.pinetboot-staging/00000001.7", false}};
  std::vector<client_record> want{board(1)};
  auto steps = plan(want, now, {});
  ASSERT_TRUE(steps) << steps.error().message();
  EXPECT_EQ(kinds(*steps), (strings{"finish-publish 00000001", "reconfigure 00000001", "write-registry "}));
  // Not desired any more (e.g. `remove` after the crash): finished, then removed.
  steps = plan({}, now, {});
  ASSERT_TRUE(steps);
  EXPECT_EQ(kinds(*steps), (strings{"finish-publish 00000001", "remove 00000001"}));
}

TEST(LayoutPlan, RejectsCollisionsAndUnnamedClients) {
  std::vector<client_record> want{board(1, "a"), board(2, "A")};
  EXPECT_EQ(plan(want, snapshot{}, {core::folder_naming::hostname, {}}).error(), errc::folder_collision);
  EXPECT_TRUE(plan(want, snapshot{}, {core::folder_naming::serial, {}}));
  EXPECT_EQ(plan(want, snapshot{}, {core::folder_naming::mac_dash, {}}).error(), errc::missing_identity);
  client_record evil = board(3);
  evil.folder = "../etc";
  std::vector<client_record> bad{evil};
  EXPECT_EQ(plan(bad, snapshot{}, {}).error(), errc::unsafe_path);
}

TEST(LayoutPlan, DescribesStepsForDryRun) {
  layout_config cfg;
  cfg.prefix = "/tmp/p";
  std::vector<client_record> want{board(0xabcd1234, "pi1")};
  auto steps = plan(want, snapshot{}, {});
  ASSERT_TRUE(steps);
  EXPECT_EQ(describe((*steps)[0], cfg),
            "stage abcd1234 (serial=abcd1234 hostname=pi1 server=10.0.0.1) -> /tmp/p/srv/tftp/abcd1234, "
            "/tmp/p/srv/nfs/abcd1234");
  EXPECT_EQ(describe((*steps)[1], cfg), "publish abcd1234");
  EXPECT_EQ(describe((*steps)[2], cfg), "write-registry /tmp/p/var/lib/pinetboot/clients.conf (1 clients)");
}

TEST(LayoutPlan, JournalRoundTrips) {
  publish_journal j{"dc:a6:32:01:36:c2", "/a/.pinetboot-staging/x.1", "/b/.pinetboot-staging/x.1", true};
  auto back = parse_journal(format_journal(j));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, j);
  EXPECT_EQ(parse_journal("folder=a\nboot=rel\nroot=/b\n").error(), errc::bad_registry);
  EXPECT_EQ(parse_journal("folder=../x\nboot=/a\nroot=/b\n").error(), errc::unsafe_path);
}

TEST(LayoutPlan, ScanSeesTreesJournalsAndStaleStaging) {
  test::temp_dir dir;
  layout_config cfg;
  cfg.prefix = dir.path();
  std::filesystem::create_directories(cfg.boot_dir("00000001"));
  std::filesystem::create_directories(cfg.root_dir("00000001"));
  std::filesystem::create_directories(cfg.root_dir("00000002"));
  test::write_text(cfg.tftp_dir() / "bootcode.bin", "x");  // files at the root are not clients
  std::filesystem::create_directories(cfg.boot_staging_dir() / "00000003.42");
  std::filesystem::create_directories(cfg.boot_staging_dir() / "00000002.7");
  publish_journal j{"00000002", cfg.boot_staging_dir() / "00000002.7", cfg.root_staging_dir() / "00000002.7",
                    false};
  test::write_text(cfg.root_staging_dir() / "00000002.journal", format_journal(j));
  ASSERT_FALSE(write_file_atomic(cfg.registry_file(), format_registry({registered(1)})));
  auto snap = scan(cfg);
  ASSERT_TRUE(snap) << snap.error().message();
  EXPECT_EQ(snap->registered, (std::vector<client_record>{registered(1)}));
  ASSERT_EQ(snap->folders.size(), 2U);
  EXPECT_EQ(snap->folders.at("00000001"), (folder_state{true, true}));
  EXPECT_EQ(snap->folders.at("00000002"), (folder_state{false, true}));
  ASSERT_EQ(snap->journals.size(), 1U);
  EXPECT_EQ(snap->journals[0], j);
  EXPECT_EQ(snap->stale, (std::vector<std::filesystem::path>{cfg.boot_staging_dir() / "00000003.42"}));

  // A journal pointing outside the staging folders is not trusted: it is stale, not replayed.
  publish_journal evil{"00000004", "/etc", cfg.root_staging_dir() / "00000004.1", false};
  test::write_text(cfg.root_staging_dir() / "00000004.journal", format_journal(evil));
  snap = scan(cfg);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->journals.size(), 1U);
  EXPECT_EQ(snap->stale, (std::vector<std::filesystem::path>{cfg.root_staging_dir() / "00000004.journal",
                                                             cfg.boot_staging_dir() / "00000003.42"}));
}

}  // namespace
}  // namespace pinetboot::layout
