#include "pinetboot/nfs/exports.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nfs = pinetboot::nfs;
using pinetboot::core::ipv4_address;

namespace {

nfs::export_entry board_entry(std::string path) {
  return {std::move(path), {nfs::board_client(ipv4_address{192, 168, 1, 50})}};
}

std::string format_ok(nfs::export_entry const& e, nfs::export_policy p = {}) {
  auto r = nfs::format_exports_line(e, p);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return r ? *r : std::string{};
}

std::error_code format_error(nfs::export_entry const& e, nfs::export_policy p = {}) {
  auto r = nfs::format_exports_line(e, p);
  return r.error();
}

}  // namespace

TEST(NfsExports, BoardRootGolden) {
  EXPECT_EQ(format_ok(board_entry("/nfs/dc-a6-32-01-36-c2")),
            "/nfs/dc-a6-32-01-36-c2 192.168.1.50(rw,sync,no_subtree_check,no_root_squash)\n");
}

TEST(NfsExports, SubnetClientClearsHostBits) {
  auto c = nfs::subnet_client(ipv4_address{192, 168, 1, 77}, 24, nfs::export_options::netboot_ro());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->host, "192.168.1.0/24");
  nfs::export_entry e{"/srv/os", {*c}};
  EXPECT_EQ(format_ok(e), "/srv/os 192.168.1.0/24(ro,sync,no_subtree_check,no_root_squash)\n");
  EXPECT_EQ(nfs::subnet_client(ipv4_address{10, 0, 0, 1}, 33).error(), nfs::errc::invalid_host);
}

TEST(NfsExports, AllOptionsInCanonicalOrder) {
  nfs::export_options o;
  o.sec = {nfs::sec_flavor::krb5p, nfs::sec_flavor::sys};
  o.anongid = 100;
  o.anonuid = 150;
  o.fsid = "root";
  o.nohide = true;
  o.crossmnt = true;
  o.port = nfs::port_mode::secure;
  o.squash = nfs::squash_mode::all_squash;
  o.subtree = nfs::subtree_mode::subtree_check;
  o.sync = nfs::sync_mode::async;
  o.access = nfs::access_mode::ro;
  nfs::export_entry e{"/srv", {{"pi-01.lab", o}, {"@pis", {}}}};
  EXPECT_EQ(format_ok(e),
            "/srv pi-01.lab(ro,async,subtree_check,all_squash,secure,crossmnt,nohide,fsid=root,anonuid=150,"
            "anongid=100,sec=krb5p:sys) @pis\n");
}

TEST(NfsExports, AppendLeavesOutputUntouchedOnError) {
  std::string out = "keep\n";
  EXPECT_FALSE(nfs::append_exports_line(out, board_entry("/a")));
  EXPECT_EQ(out, "keep\n/a 192.168.1.50(rw,sync,no_subtree_check,no_root_squash)\n");
  EXPECT_EQ(nfs::append_exports_line(out, board_entry("rel")), nfs::errc::relative_path);
  EXPECT_EQ(out, "keep\n/a 192.168.1.50(rw,sync,no_subtree_check,no_root_squash)\n");
}

TEST(NfsExports, EscapesPathLikeNfsUtilsReadsIt) {
  nfs::export_entry e{std::string{"/srv/my root\t\"q\"#1\\x"}, {{"10.0.0.1", {}}}};
  EXPECT_EQ(format_ok(e), "/srv/my\\040root\\011\\042q\\042\\0431\\134x 10.0.0.1\n");
  // Non-ASCII bytes are escaped too, so the file stays ASCII.
  e.path = "/srv/caf\xc3\xa9";
  EXPECT_EQ(format_ok(e), "/srv/caf\\303\\251 10.0.0.1\n");
}

TEST(NfsExports, BackslashFollowedByOctalDigitsRoundTrips) {
  // nfs-utils re-scans its decoded buffer: "\\134" + "101" would decode to "A". The third
  // digit is escaped so the path survives.
  nfs::export_entry e{std::string{"/a\\101b"}, {{"10.0.0.1", {}}}};
  auto line = format_ok(e);
  EXPECT_EQ(line, "/a\\13410\\061b 10.0.0.1\n");
  auto back = nfs::parse_exports_line(line);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, e);
}

TEST(NfsExports, RejectsBadPaths) {
  EXPECT_EQ(format_error(board_entry("")), nfs::errc::empty_path);
  EXPECT_EQ(format_error(board_entry("nfs/x")), nfs::errc::relative_path);
  EXPECT_EQ(format_error(board_entry("/nfs/../etc")), nfs::errc::path_traversal);
  EXPECT_EQ(format_error(board_entry("/nfs/..")), nfs::errc::path_traversal);
  EXPECT_EQ(format_error(board_entry("/nfs/x\ny")), nfs::errc::forbidden_character);
  EXPECT_EQ(format_error(board_entry(std::string{"/nfs/x\0y", 8})), nfs::errc::forbidden_character);
  EXPECT_EQ(format_error(board_entry("/" + std::string(1024, 'a'))), nfs::errc::path_too_long);
  EXPECT_FALSE(format_error(board_entry("/nfs/..x/.../a..")));  // only exact ".." components
}

TEST(NfsExports, RejectsBadClients) {
  nfs::export_entry e{"/srv", {}};
  EXPECT_EQ(format_error(e), nfs::errc::missing_client);
  for (char const* bad : {"", "10.0.0.1/33", "10.0.0.1/255.0.255.0", "300.1.1.1", "fe80::1", "host name",
                          "a..b", "-lead", "@", "@bad group", "pi[0-9", "1.2.3", "h(x)"}) {
    e.clients = {{bad, {}}};
    EXPECT_EQ(format_error(e), nfs::errc::invalid_host) << bad;
  }
}

TEST(NfsExports, WorldNeedsExplicitPolicyAndWarns) {
  nfs::export_entry e{"/nfs/client1", {nfs::world_client()}};
  EXPECT_EQ(format_error(e), nfs::errc::world_export_not_allowed);
  for (char const* world : {"*.lab", "pi-?", "0.0.0.0/0", "10.0.0.0/0.0.0.0"}) {
    nfs::export_entry w{"/x", {{world, {}}}};
    EXPECT_EQ(format_error(w), nfs::errc::world_export_not_allowed) << world;
    EXPECT_TRUE(nfs::is_world_host(world)) << world;
  }
  std::vector<std::string> warnings;
  auto line = nfs::format_exports_line(e, {.allow_world = true}, &warnings);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "/nfs/client1 *(rw,sync,no_subtree_check,no_root_squash)\n");
  ASSERT_EQ(warnings.size(), 2U);
  EXPECT_EQ(warnings[0], "export of /nfs/client1 to '*' matches every host on the network");
  EXPECT_EQ(warnings[1], "any host matching '*' can write /nfs/client1 as root (rw,no_root_squash)");
  // The board's own address is not world-wide and gives no warning.
  EXPECT_TRUE(nfs::export_warnings(board_entry("/a")).empty());
}

TEST(NfsExports, PolicyWithinConfinesClientsToTheLan) {
  nfs::export_policy lan{.within = nfs::ipv4_network{ipv4_address{192, 168, 1, 0}, 24}};
  nfs::export_entry e{"/nfs/x", {}};
  for (char const* inside :
       {"192.168.1.50", "192.168.1.0/24", "192.168.1.128/25", "192.168.1.64/255.255.255.192"}) {
    e.clients = {{inside, {}}};
    EXPECT_FALSE(format_error(e, lan)) << inside;
  }
  for (char const* outside :
       {"192.168.2.50", "192.168.0.0/16", "10.0.0.1", "pi4.lab", "@pis", "192.168.1.0/23"}) {
    e.clients = {{outside, {}}};
    EXPECT_EQ(format_error(e, lan), nfs::errc::client_outside_network) << outside;
  }
  e.clients = {nfs::world_client()};
  EXPECT_EQ(format_error(e, lan), nfs::errc::world_export_not_allowed);
  lan.allow_world = true;
  EXPECT_EQ(format_error(e, lan), nfs::errc::client_outside_network);
  lan.within->prefix_len = 33;
  e.clients = {{"192.168.1.50", {}}};
  EXPECT_EQ(format_error(e, lan), nfs::errc::invalid_option_value);
}

TEST(NfsExports, ClassifiesHosts) {
  EXPECT_EQ(*nfs::classify_host("192.168.1.50"), nfs::host_kind::ipv4_address);
  EXPECT_EQ(*nfs::classify_host("192.168.0.0/255.255.252.0"), nfs::host_kind::ipv4_subnet);
  EXPECT_EQ(*nfs::classify_host("192.168.0.0/22"), nfs::host_kind::ipv4_subnet);
  EXPECT_EQ(*nfs::classify_host("pi4.example.org"), nfs::host_kind::hostname);
  EXPECT_EQ(*nfs::classify_host("@trusted"), nfs::host_kind::netgroup);
  EXPECT_EQ(*nfs::classify_host("buildhost[0-9].local"), nfs::host_kind::wildcard);
  EXPECT_EQ(*nfs::classify_host("*"), nfs::host_kind::anyone);
}

TEST(NfsExports, RejectsBadOptionValues) {
  nfs::export_entry e = board_entry("/a");
  e.clients[0].opts.fsid = "12345678901";
  EXPECT_EQ(format_error(e), nfs::errc::invalid_option_value);
  e.clients[0].opts.fsid = "abc";
  EXPECT_EQ(format_error(e), nfs::errc::invalid_option_value);
  e.clients[0].opts.fsid = "0123abcd-4567-89ef-0123-456789abcdef";
  EXPECT_FALSE(format_error(e));
  e.clients[0].opts.sec = {nfs::sec_flavor::sys, nfs::sec_flavor::sys};
  EXPECT_EQ(format_error(e), nfs::errc::invalid_option_value);
}

TEST(NfsExportsParse, OfficialTutorialLine) {
  auto e = nfs::parse_exports_line("/nfs/client1 *(rw,sync,no_subtree_check,no_root_squash)\n");
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ(e->path, "/nfs/client1");
  ASSERT_EQ(e->clients.size(), 1U);
  EXPECT_EQ(e->clients[0].host, "*");
  EXPECT_EQ(e->clients[0].opts, nfs::export_options::netboot_rw());
}

TEST(NfsExportsParse, ManPageSyntax) {
  std::size_t line = 0;
  auto all = nfs::parse_exports(
      "# sample /etc/exports file\n"
      "/               master(rw) trusty(rw,no_root_squash)\n"
      "\n"
      "/home/joe       pc001(rw,all_squash,anonuid=150,anongid=100)   # trailing comment\n"
      "/pub            *(ro,insecure,all_squash)\n"
      "/srv/www        -sync,rw server @trusted @external(ro)\n"
      "\"/srv/with space\" 192.0.2.0/24(rw) \\\n"
      "    10.1.0.0/16\n"
      "/srv/esc\\040aped host1\n",
      &line);
  ASSERT_TRUE(all.has_value()) << all.error().message() << " at line " << line;
  ASSERT_EQ(all->size(), 6U);
  auto const& v = *all;
  EXPECT_EQ(v[0].path, "/");
  EXPECT_EQ(v[0].clients[1].opts.squash, nfs::squash_mode::no_root_squash);
  EXPECT_EQ(v[1].clients[0].opts.anonuid, 150U);
  EXPECT_EQ(v[1].clients.size(), 1U);
  EXPECT_EQ(v[2].clients[0].opts.port, nfs::port_mode::insecure);
  // "-sync,rw" are defaults for every client after them; "(ro)" overrides rw only.
  ASSERT_EQ(v[3].clients.size(), 3U);
  EXPECT_EQ(v[3].clients[0].opts.access, nfs::access_mode::rw);
  EXPECT_EQ(v[3].clients[1].host, "@trusted");
  EXPECT_EQ(v[3].clients[2].opts.access, nfs::access_mode::ro);
  EXPECT_EQ(v[3].clients[2].opts.sync, nfs::sync_mode::sync);
  EXPECT_EQ(v[4].path, "/srv/with space");
  ASSERT_EQ(v[4].clients.size(), 2U);
  EXPECT_EQ(v[4].clients[1].host, "10.1.0.0/16");
  EXPECT_EQ(v[5].path, "/srv/esc aped");
}

TEST(NfsExportsParse, Rejections) {
  struct bad_case {
    char const* text;
    nfs::errc want;
  };
  for (auto const& [text, want] : std::vector<bad_case>{
           {"/a host(rw,frobnicate)", nfs::errc::unknown_option},
           {"/a host(wdelay)", nfs::errc::unknown_option},
           {"/a host(rw,ro)", nfs::errc::conflicting_options},
           {"/a host(root_squash,all_squash)", nfs::errc::conflicting_options},
           {"/a host(sec=sys,sec=krb5)", nfs::errc::conflicting_options},
           {"/a host(sec=sys:foo)", nfs::errc::invalid_option_value},
           {"/a host(sec=)", nfs::errc::invalid_option_value},
           {"/a host(anonuid=-1)", nfs::errc::invalid_option_value},
           {"/a host(anonuid=4294967296)", nfs::errc::invalid_option_value},
           {"/a host(fsid=)", nfs::errc::invalid_option_value},
           {"/a host(rw,,sync)", nfs::errc::invalid_syntax},
           {"/a host(rw", nfs::errc::invalid_syntax},
           {"/a host(rw)x", nfs::errc::invalid_syntax},
           {"/a host((rw))", nfs::errc::invalid_syntax},
           {"/a - host", nfs::errc::invalid_syntax},
           {"\"/a b host", nfs::errc::invalid_syntax},
           {"/a", nfs::errc::missing_client},
           {"/a # only a comment", nfs::errc::missing_client},
           {"/a (rw)", nfs::errc::invalid_host},
           {"/a fe80::1(rw)", nfs::errc::invalid_host},
           {"a host", nfs::errc::relative_path},
           {"/a/../b host", nfs::errc::path_traversal},
           {"/a\\012b host", nfs::errc::forbidden_character},
           {"/a\\000b host", nfs::errc::forbidden_character},
       }) {
    auto r = nfs::parse_exports(text);
    EXPECT_EQ(r.error(), want) << text;
  }
  EXPECT_EQ(nfs::parse_exports_line("").error(), nfs::errc::invalid_syntax);
  EXPECT_EQ(nfs::parse_exports_line("/a h\n/b h\n").error(), nfs::errc::invalid_syntax);
  std::size_t line = 0;
  EXPECT_EQ(nfs::parse_exports("/a h\n\n/b h(bogus)\n", &line).error(), nfs::errc::unknown_option);
  EXPECT_EQ(line, 3U);
}

TEST(NfsExportsParse, FormatParseRoundTrip) {
  std::vector<nfs::export_entry> entries;
  entries.push_back(board_entry("/nfs/dc-a6-32-01-36-c2"));
  entries.push_back(
      {"/tftpboot/dc a6\t\"x\"\\0123\\7777", {{"10.0.0.0/8", nfs::export_options::netboot_ro()}}});
  nfs::export_options all;
  all.access = nfs::access_mode::rw;
  all.fsid = "1055";
  all.anonuid = 0;
  all.sec = {nfs::sec_flavor::krb5i};
  all.crossmnt = true;
  entries.push_back({"/x", {{"*", all}, {"h", {}}, {"@ng", nfs::export_options::netboot_rw()}}});
  std::string text;
  for (auto const& e : entries) ASSERT_FALSE(nfs::append_exports_line(text, e, {.allow_world = true}));
  auto back = nfs::parse_exports(text);
  ASSERT_TRUE(back.has_value()) << back.error().message() << "\n" << text;
  EXPECT_EQ(*back, entries);
}

TEST(NfsExportsParse, EveryPrefixAndMutationStaysInBounds) {
  std::string const text =
      "/nfs/a\\040b 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash,fsid=7,sec=krb5:sys) \\\n"
      "  \"@ng\"(ro) # c\n/x -rw h(anonuid=1)\n";
  ASSERT_TRUE(nfs::parse_exports(text).has_value());
  for (std::size_t n = 0; n <= text.size(); ++n) {
    auto r = nfs::parse_exports(std::string_view{text}.substr(0, n));
    if (r) {
      // Whatever parses formats and parses back to the same entries.
      std::string again;
      for (auto const& e : *r) ASSERT_FALSE(nfs::append_exports_line(again, e, {.allow_world = true}));
      auto back = nfs::parse_exports(again);
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(*back, *r);
    }
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (char c : {'\0', '\n', '"', '\\', '(', ')', ',', '#', ' ', 'x', '7'}) {
      std::string m = text;
      m[i] = c;
      auto r = nfs::parse_exports(m);
      if (!r) continue;
      std::string again;
      for (auto const& e : *r) ASSERT_FALSE(nfs::append_exports_line(again, e, {.allow_world = true}));
      auto back = nfs::parse_exports(again);
      ASSERT_TRUE(back.has_value()) << m;
      EXPECT_EQ(*back, *r) << m;
    }
  }
}

TEST(NfsErrors, CategoryHasMessages) {
  std::error_code ec = nfs::errc::world_export_not_allowed;
  EXPECT_STREQ(ec.category().name(), "pinetboot.nfs");
  EXPECT_NE(ec.message().find("allow_world"), std::string::npos);
  for (int i = 1; i <= static_cast<int>(nfs::errc::client_outside_network); ++i)
    EXPECT_NE(std::error_code(i, nfs::nfs_category()).message(), "unknown nfs error") << i;
  EXPECT_EQ(std::error_code(0xff, nfs::nfs_category()).message(), "unknown nfs error");
}
