#include "pinetboot/nfs/ganesha.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace nfs = pinetboot::nfs;
using pinetboot::core::ipv4_address;

namespace {

nfs::export_entry board(std::string path, ipv4_address ip = {10, 77, 0, 50},
                        nfs::export_options o = nfs::export_options::netboot_rw()) {
  return {std::move(path), {nfs::board_client(ip, std::move(o))}};
}

std::string format_ok(std::vector<nfs::export_entry> const& es, nfs::export_policy p = {}) {
  auto r = nfs::format_ganesha_exports(es, p);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return r ? *r : std::string{};
}

std::error_code format_error(std::vector<nfs::export_entry> const& es, nfs::export_policy p = {}) {
  auto r = nfs::format_ganesha_exports(es, p);
  EXPECT_FALSE(r.has_value());
  return r ? std::error_code{} : r.error();
}

// The text after the header comment.
std::string body(std::string const& file) {
  auto pos = file.find("\nEXPORT {");
  return pos == std::string::npos ? std::string{} : file.substr(pos + 1);
}

}  // namespace

TEST(NfsGanesha, BoardRootGolden) {
  auto id = nfs::ganesha_home_export_id("/srv/nfs/52-54-00-e2-e0-01");
  EXPECT_EQ(body(format_ok({board("/srv/nfs/52-54-00-e2-e0-01")})),
            "EXPORT {\n"
            "    Export_Id = " +
                std::to_string(id) +
                ";\n"
                "    Path = \"/srv/nfs/52-54-00-e2-e0-01\";\n"
                "    Pseudo = \"/srv/nfs/52-54-00-e2-e0-01\";\n"
                "    Protocols = 3, 4;\n"
                "    Transports = TCP;\n"
                "    Access_Type = None;\n"
                "    Squash = Root_Squash;\n"
                "    Attr_Expiration_Time = 0;\n"
                "    CLIENT {\n"
                "        Clients = 10.77.0.50;\n"
                "        Access_Type = RW;\n"
                "        Squash = No_Root_Squash;\n"
                "    }\n"
                "    FSAL {\n"
                "        Name = VFS;\n"
                "    }\n"
                "}\n");
}

TEST(NfsGanesha, HomeSlotIsFnv1aOfThePath) {
  // FNV-1a-64("") = 0xcbf29ce484222325; "a" = 0xaf63dc4c8601ec8c (reference values).
  EXPECT_EQ(nfs::ganesha_home_export_id(""), 1 + 0xcbf29ce484222325ULL % 65000);
  EXPECT_EQ(nfs::ganesha_home_export_id("a"), 1 + 0xaf63dc4c8601ec8cULL % 65000);
}

TEST(NfsGanesha, HeaderSaysGeneratedAndHowToInclude) {
  auto f = format_ok({});
  EXPECT_TRUE(f.starts_with(std::string{nfs::ganesha_header} + "\n"));
  EXPECT_NE(f.find("%include \"/etc/ganesha/pinetboot-exports.conf\""), std::string::npos);
  EXPECT_NE(f.find("# 0 exports\n"), std::string::npos);
  EXPECT_EQ(f.find("EXPORT"), std::string::npos);
  // Every header line is a comment.
  for (std::size_t pos = 0; pos < f.size();) {
    auto nl = f.find('\n', pos);
    EXPECT_EQ(f[pos], '#') << f.substr(pos, nl - pos);
    pos = nl + 1;
  }
}

TEST(NfsGanesha, ReadOnlyAndDefaultsMapLikeExports) {
  // ro -> RO; an entry without options gets the exports(5) defaults: RO, Root_Squash.
  auto f = format_ok({board("/srv/os", {10, 0, 0, 0}, nfs::export_options::netboot_ro()),
                      {"/srv/plain", {{"pi1.lab", {}}}}});
  auto os = f.find("Path = \"/srv/os\"");
  auto plain = f.find("Path = \"/srv/plain\"");
  ASSERT_NE(os, std::string::npos);
  ASSERT_NE(plain, std::string::npos);
  ASSERT_LT(os, plain);  // sorted by path
  auto os_block = f.substr(os, plain - os);
  EXPECT_NE(os_block.find("Clients = 10.0.0.0;\n        Access_Type = RO;\n        Squash = No_Root_Squash;"),
            std::string::npos);
  EXPECT_NE(
      f.substr(plain).find("Clients = pi1.lab;\n        Access_Type = RO;\n        Squash = Root_Squash;"),
      std::string::npos);
}

TEST(NfsGanesha, OptionalClientOptions) {
  nfs::export_options o;
  o.access = nfs::access_mode::rw;
  o.squash = nfs::squash_mode::all_squash;
  o.anonuid = 1000;
  o.anongid = 100;
  o.sec = {nfs::sec_flavor::krb5p, nfs::sec_flavor::sys};
  o.port = nfs::port_mode::insecure;
  o.sync = nfs::sync_mode::async;  // no Ganesha equivalent: not written
  o.fsid = "7";
  auto f = format_ok({{"/srv/x", {{"10.1.0.0/255.255.0.0", o}}}});
  EXPECT_NE(f.find("    CLIENT {\n"
                   "        Clients = 10.1.0.0/16;\n"
                   "        Access_Type = RW;\n"
                   "        Squash = All_Squash;\n"
                   "        Anonymous_Uid = 1000;\n"
                   "        Anonymous_Gid = 100;\n"
                   "        SecType = krb5p, sys;\n"
                   "        PrivilegedPort = false;\n"
                   "    }\n"),
            std::string::npos)
      << f;
  EXPECT_EQ(f.find("async"), std::string::npos);
  EXPECT_EQ(f.find("fsid"), std::string::npos);
}

TEST(NfsGanesha, SamePathMergesClientsIntoOneExport) {
  auto f = format_ok({board("/srv/shared", {10, 0, 0, 5}), board("/srv/shared", {10, 0, 0, 6})});
  EXPECT_EQ(std::count(f.begin(), f.end(), '{'), 3 + 1 /* second CLIENT */);
  auto a = f.find("Clients = 10.0.0.5;");
  auto b = f.find("Clients = 10.0.0.6;");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);  // entry order within the export
  EXPECT_NE(f.find("# 1 export\n"), std::string::npos);
  EXPECT_EQ(format_error({board("/srv/shared"), board("/srv/shared")}), nfs::errc::duplicate_export);
  EXPECT_EQ(format_error({{"/srv/x", {{"10.0.0.1", {}}, {"10.0.0.1", {}}}}}), nfs::errc::duplicate_export);
}

TEST(NfsGanesha, OutputDoesNotDependOnEntryOrder) {
  std::vector<nfs::export_entry> es{board("/srv/nfs/c"), board("/srv/nfs/a"), board("/srv/tftp/b"),
                                    board("/srv/nfs/b")};
  auto first = format_ok(es);
  std::sort(es.begin(), es.end(), [](auto const& x, auto const& y) { return x.path < y.path; });
  do {
    EXPECT_EQ(format_ok(es), first);
  } while (std::next_permutation(es.begin(), es.end(),
                                 [](auto const& x, auto const& y) { return x.path < y.path; }));
}

TEST(NfsGanesha, IdsAreStableWhenBoardsAreAdded) {
  std::vector<std::string> paths;
  for (int i = 0; i < 200; ++i) paths.push_back("/srv/nfs/board-" + std::to_string(i));
  auto ids = nfs::ganesha_export_ids(paths);
  ASSERT_TRUE(ids.has_value());
  std::set<std::uint16_t> unique(ids->begin(), ids->end());
  EXPECT_EQ(unique.size(), paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    EXPECT_GE((*ids)[i], nfs::ganesha_min_export_id);
    EXPECT_LE((*ids)[i], nfs::ganesha_max_export_id);
  }
  // Adding boards that do not collide leaves every existing id as it was.
  auto more = paths;
  for (int i = 200; i < 210; ++i) more.push_back("/srv/nfs/board-" + std::to_string(i));
  auto ids2 = nfs::ganesha_export_ids(more);
  ASSERT_TRUE(ids2.has_value());
  bool collided = false;
  for (std::size_t i = 200; i < more.size(); ++i)
    collided = collided || unique.contains(nfs::ganesha_home_export_id(more[i]));
  ASSERT_FALSE(collided) << "pick other test paths";
  for (std::size_t i = 0; i < paths.size(); ++i) EXPECT_EQ((*ids2)[i], (*ids)[i]) << paths[i];
  // A repeated path gets the same id.
  std::vector<std::string> rep{"/a", "/b", "/a"};
  auto r = nfs::ganesha_export_ids(rep);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)[0], (*r)[2]);
  EXPECT_NE((*r)[0], (*r)[1]);
}

TEST(NfsGanesha, CollisionsProbeLinearlyInSortedOrderAndWrap) {
  // Find two and three paths that share a home slot (65000 slots: a few hundred thousand tries).
  std::vector<std::string> same;
  std::uint16_t target = nfs::ganesha_home_export_id("/srv/nfs/x0");
  same.push_back("/srv/nfs/x0");
  for (int i = 1; same.size() < 3 && i < 5'000'000; ++i) {
    std::string p = "/srv/nfs/x" + std::to_string(i);
    if (nfs::ganesha_home_export_id(p) == target) same.push_back(p);
  }
  ASSERT_EQ(same.size(), 3U);
  std::vector<std::string> rev{same.rbegin(), same.rend()};
  auto ids = nfs::ganesha_export_ids(rev);
  ASSERT_TRUE(ids.has_value());
  std::vector<std::string> sorted = same;
  std::sort(sorted.begin(), sorted.end());
  auto next = [](std::uint16_t id) {
    return id == nfs::ganesha_max_export_id ? nfs::ganesha_min_export_id : static_cast<std::uint16_t>(id + 1);
  };
  for (std::size_t i = 0; i < rev.size(); ++i) {
    auto rank = static_cast<std::size_t>(std::find(sorted.begin(), sorted.end(), rev[i]) - sorted.begin());
    std::uint16_t want = target;
    for (std::size_t k = 0; k < rank; ++k) want = next(want);
    EXPECT_EQ((*ids)[i], want) << rev[i];
  }
  // Two paths in the last slot: the second (in sorted order) wraps around to the first slot.
  std::vector<std::string> last;
  for (int i = 0; last.size() < 2 && i < 5'000'000; ++i) {
    std::string p = "/srv/nfs/y" + std::to_string(i);
    if (nfs::ganesha_home_export_id(p) == nfs::ganesha_max_export_id) last.push_back(p);
  }
  ASSERT_EQ(last.size(), 2U);
  auto w = nfs::ganesha_export_ids(last);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ((*w)[0], nfs::ganesha_max_export_id);
  EXPECT_EQ((*w)[1], nfs::ganesha_min_export_id);
}

TEST(NfsGanesha, RejectsWhatWouldBreakTheConfigSyntax) {
  for (std::string bad : std::vector<std::string>{"/srv/a\"b", "/srv/a{b", "/srv/a}b", "/srv/a;b", "/srv/a#b",
                                                  "/srv/a%b", "/srv/a\\b", "/srv/a\tb", "/srv/a\x7f",
                                                  "/srv/caf\xc3\xa9", std::string{"/srv/a\0b", 8}})
    EXPECT_EQ(format_error({board(bad)}), nfs::errc::forbidden_character) << bad;
  EXPECT_EQ(format_error({board("/srv/a\nb")}), nfs::errc::forbidden_character);
  EXPECT_EQ(format_error({board("/srv/a\rb")}), nfs::errc::forbidden_character);
  // Spaces are fine inside the quoted value.
  EXPECT_NE(format_ok({board("/srv/my root")}).find("Path = \"/srv/my root\";"), std::string::npos);
  // The exports(5) checks apply too.
  EXPECT_EQ(format_error({board("")}), nfs::errc::empty_path);
  EXPECT_EQ(format_error({board("srv")}), nfs::errc::relative_path);
  EXPECT_EQ(format_error({board("/srv/../etc")}), nfs::errc::path_traversal);
  EXPECT_EQ(format_error({board("/" + std::string(1100, 'a'))}), nfs::errc::path_too_long);
  EXPECT_EQ(format_error({{"/srv", {}}}), nfs::errc::missing_client);
  for (std::string host : std::vector<std::string>{"a\"b", "a;b", "{x}", "10.0.0.1\n", "a b", ""})
    EXPECT_EQ(format_error({{"/srv", {{host, {}}}}}), nfs::errc::invalid_host) << host;
  EXPECT_EQ(format_error({{"/srv", {nfs::world_client()}}}), nfs::errc::world_export_not_allowed);
  EXPECT_EQ(nfs::validate_ganesha(board("/srv/a;b")), nfs::errc::forbidden_character);
  EXPECT_FALSE(nfs::validate_ganesha(board("/srv/ok")));
}

TEST(NfsGanesha, WorldExportOnlyWithPolicyAndWarns) {
  std::vector<std::string> w;
  auto r = nfs::format_ganesha_exports(std::vector<nfs::export_entry>{{"/srv/os", {nfs::world_client()}}},
                                       {.allow_world = true}, &w);
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->find("Clients = *;"), std::string::npos);
  EXPECT_FALSE(w.empty());
  // `within` is enforced as for exports(5).
  nfs::export_policy lan{.within = nfs::ipv4_network{ipv4_address{10, 77, 0, 0}, 24}};
  EXPECT_FALSE(format_ok({board("/srv/a", {10, 77, 0, 9})}, lan).empty());
  EXPECT_EQ(format_error({board("/srv/a", {10, 78, 0, 9})}, lan), nfs::errc::client_outside_network);
}

TEST(NfsGanesha, ErrorReportsFirstBadEntryAndWritesNothing) {
  std::vector<std::string> w;
  auto r = nfs::format_ganesha_exports(std::vector<nfs::export_entry>{board("/srv/ok"), board("/srv/bad\"")},
                                       {}, &w);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), nfs::errc::forbidden_character);
  EXPECT_TRUE(w.empty());
}

TEST(NfsGanesha, BracesAndQuotesBalance) {
  std::vector<nfs::export_entry> es;
  for (int i = 0; i < 20; ++i) es.push_back(board("/srv/nfs/b" + std::to_string(i)));
  auto f = format_ok(es);
  EXPECT_EQ(std::count(f.begin(), f.end(), '{'), std::count(f.begin(), f.end(), '}'));
  EXPECT_EQ(std::count(f.begin(), f.end(), '{'), 20 * 3);
  EXPECT_EQ(std::count(f.begin(), f.end(), '"') % 2, 0);
  EXPECT_NE(f.find("# 20 exports\n"), std::string::npos);
}

TEST(NfsGanesha, ClientsAreWrittenUnquotedAsGaneshaLexesThem) {
  // Ganesha refuses a quoted client, so every client must lex as the right bare token.
  for (std::string host : {"10.77.0.50", "10.0.0.0/8", "*", "@pis", "@_x.y-z", "pi4.lab", "_srv", "pi-*.lab",
                           "pi[0-9].lab", "pi[!0-4]*", "10.0.0.*", "p?"}) {
    auto f = format_ok({{"/srv", {{host, {}}}}}, {.allow_world = true});
    EXPECT_NE(f.find("        Clients = " + host + ";\n"), std::string::npos) << host;
  }
  for (std::string host : {"4pi.lab", "@4pis", "on", "Yes", "false", "?pi", "pi[^0].lab", "pi[].lab"})
    EXPECT_EQ(format_error({{"/srv", {{host, {}}}}}, {.allow_world = true}), nfs::errc::invalid_host) << host;
}

TEST(NfsGanesha, ReadsBackTheIdsOfItsOwnFile) {
  std::vector<nfs::export_entry> es{board("/srv/nfs/a"), board("/srv/nfs/b"), board("/srv/tftp/a")};
  auto f = format_ok(es);
  auto ids = nfs::read_ganesha_export_ids(f);
  ASSERT_EQ(ids.size(), 3U);
  std::vector<std::string> paths{"/srv/nfs/a", "/srv/nfs/b", "/srv/tftp/a"};
  auto want = nfs::ganesha_export_ids(paths);
  ASSERT_TRUE(want.has_value());
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(ids[i], (nfs::ganesha_id{paths[i], (*want)[i]}));
  // Rewriting with the file's own ids changes nothing.
  auto again = nfs::format_ganesha_exports(es, {}, nullptr, ids);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, f);
  // Text that is not ours yields nothing (and never fails).
  EXPECT_TRUE(nfs::read_ganesha_export_ids("").empty());
  EXPECT_TRUE(nfs::read_ganesha_export_ids("Path = \"/x\";\nExport_Id = 5;\n").empty());
  EXPECT_TRUE(nfs::read_ganesha_export_ids("EXPORT {\nExport_Id = 0;\nPath = \"/x\";\n").empty());
  EXPECT_TRUE(nfs::read_ganesha_export_ids("EXPORT {\nExport_Id = 65001;\nPath = \"/x\";\n").empty());
  EXPECT_TRUE(nfs::read_ganesha_export_ids("EXPORT {\nExport_Id = 7;\nEXPORT {\nPath = \"/x\";\n").empty());
  EXPECT_EQ(nfs::read_ganesha_export_ids("EXPORT {\n\tExport_Id = 7;\n\tPath = \"/x\";\n"),
            (std::vector<nfs::ganesha_id>{{"/x", 7}}));
}

TEST(NfsGanesha, KeptIdsNeverMoveEvenOnCollision) {
  // Two paths with the same home slot; the one that sorts last exists first.
  std::uint16_t home = nfs::ganesha_home_export_id("/srv/nfs/x0");
  std::string other;
  for (int i = 1; other.empty() && i < 5'000'000; ++i) {
    std::string p = "/srv/nfs/x" + std::to_string(i);
    if (nfs::ganesha_home_export_id(p) == home) other = p;
  }
  ASSERT_FALSE(other.empty());
  std::string first = std::max<std::string>("/srv/nfs/x0", other),
              second = std::min<std::string>("/srv/nfs/x0", other);
  std::vector<std::string> before{first};
  auto old = nfs::ganesha_export_ids(before);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ((*old)[0], home);
  std::vector<std::string> after{first, second};
  // Without the old ids the earlier-sorting newcomer takes the slot and the board moves ...
  auto moved = nfs::ganesha_export_ids(after);
  ASSERT_TRUE(moved.has_value());
  EXPECT_NE((*moved)[0], home);
  // ... with them it keeps its id and the newcomer probes past it.
  std::vector<nfs::ganesha_id> keep{{first, home}};
  auto kept = nfs::ganesha_export_ids(after, keep);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ((*kept)[0], home);
  EXPECT_EQ((*kept)[1], home == nfs::ganesha_max_export_id ? nfs::ganesha_min_export_id : home + 1);
}

TEST(NfsGanesha, BadKeptIdsAreIgnored) {
  std::vector<std::string> paths{"/a", "/b", "/c"};
  std::vector<nfs::ganesha_id> keep{{"/b", 7},     {"/a", 7},     {"/a", 9}, {"/c", 0},
                                    {"/c", 65001}, {"/gone", 11}, {"/b", 12}};
  auto ids = nfs::ganesha_export_ids(paths, keep);
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ((*ids)[0], 7);   // "/a" sorts first: its smallest claim wins
  EXPECT_EQ((*ids)[1], 12);  // 7 is taken; "/b"'s other claim
  EXPECT_EQ((*ids)[2], nfs::ganesha_home_export_id("/c"));
  std::set<std::uint16_t> unique(ids->begin(), ids->end());
  EXPECT_EQ(unique.size(), 3U);
  // The order of `keep` does not matter.
  std::reverse(keep.begin(), keep.end());
  auto again = nfs::ganesha_export_ids(paths, keep);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *ids);
}
