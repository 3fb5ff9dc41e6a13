// Differential test against nfs-utils' own parser: the real exportfs(8) reads a generated
// /etc/exports (in a private mount namespace with throw-away /etc, /var/lib and /srv) and the
// export table it writes (etab) must hold exactly our paths, clients and options.
// Needs root, `unshare -m` and an exportfs binary: /usr/sbin/exportfs, or PINETBOOT_EXPORTFS
// (e.g. from `apt-get download nfs-kernel-server && dpkg-deb -x`); skipped otherwise. No kernel
// nfsd is needed: exportfs writes etab before it talks to the kernel.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <string_view>

#include "pinetboot/nfs/exports.hpp"
#include "pinetboot/nfs/exports_file.hpp"

namespace nfs = pinetboot::nfs;
namespace fs = std::filesystem;
using pinetboot::core::ipv4_address;

namespace {

std::string find_exportfs() {
  if (char const* env = std::getenv("PINETBOOT_EXPORTFS"); env != nullptr && fs::exists(env)) return env;
  for (char const* p : {"/usr/sbin/exportfs", "/sbin/exportfs"})
    if (fs::exists(p)) return p;
  return {};
}

std::string run(std::string const& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// One etab line: "<escaped path>\t<client>(<opts>)".
struct etab_line {
  std::string path, host;
  std::vector<std::string> opts;
};

std::vector<etab_line> parse_etab(std::string const& text) {
  std::vector<etab_line> v;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    auto tab = line.find('\t');
    auto open = line.find('(', tab);
    if (tab == std::string::npos || open == std::string::npos || line.back() != ')') continue;
    etab_line e;
    e.path = line.substr(0, tab);
    e.host = line.substr(tab + 1, open - tab - 1);
    std::string opts = line.substr(open + 1, line.size() - open - 2);
    std::size_t p = 0;
    while (p <= opts.size()) {
      auto c = opts.find(',', p);
      if (c == std::string::npos) c = opts.size();
      e.opts.push_back(opts.substr(p, c - p));
      p = c + 1;
    }
    v.push_back(std::move(e));
  }
  return v;
}

// How exportfs escapes a path in etab: octal for blanks, controls, '"', '#', '\\' and non-ASCII.
// (Compared escaped: nfs-utils' reader would itself decode "\134101" in etab as "A".)
std::string etab_escape(std::string_view p) {
  std::string out;
  for (char ch : p) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || ch == '"' || ch == '#' || ch == '\\') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

bool has(std::vector<std::string> const& v, std::string const& s) {
  for (auto const& x : v)
    if (x == s) return true;
  return false;
}

}  // namespace

TEST(NfsExportfs, RealExportfsReadsGeneratedFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string exportfs = find_exportfs();
  if (exportfs.empty()) GTEST_SKIP() << "no exportfs (set PINETBOOT_EXPORTFS)";
  if (std::system("unshare -m true >/dev/null 2>&1") != 0) GTEST_SKIP() << "cannot unshare a mount namespace";

  nfs::export_options ro = nfs::export_options::netboot_ro();
  ro.fsid = "7";
  ro.anonuid = 5;
  ro.sec = {nfs::sec_flavor::krb5p, nfs::sec_flavor::sys};
  nfs::export_options squash;
  squash.access = nfs::access_mode::ro;
  squash.squash = nfs::squash_mode::all_squash;
  squash.subtree = nfs::subtree_mode::no_subtree_check;
  nfs::export_options world;
  world.access = nfs::access_mode::rw;
  world.sync = nfs::sync_mode::async;
  world.subtree = nfs::subtree_mode::no_subtree_check;
  world.port = nfs::port_mode::insecure;
  std::vector<nfs::export_entry> entries{
      {"/srv/pinetboot/dc-a6-32-01-36-c2", {nfs::board_client(ipv4_address{192, 168, 1, 50})}},
      {"/srv/pinetboot/sp ace\t\"q\"#\\101\\x",
       {*nfs::subnet_client(ipv4_address{10, 1, 2, 3}, 8, ro), {"@ng", squash}}},
      {"/srv/pinetboot/world", {nfs::world_client(world)}},
  };
  auto text = nfs::update_managed_block("# operator line\n", entries, {.allow_world = true});
  ASSERT_TRUE(text.has_value());

  std::string tmpl = (fs::temp_directory_path() / "pinetboot-exportfs-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  fs::path dir = tmpl;
  std::ofstream{dir / "exports", std::ios::binary} << *text;
  {
    std::ofstream dirs{dir / "dirs", std::ios::binary};
    for (auto const& e : entries) dirs << e.path << '\0';
  }
  std::string script =
      "set -e; D='" + dir.string() +
      "'; mount -t tmpfs pinetboot-test \"$D/ns\" 2>/dev/null || { mkdir -p \"$D/ns\"; "
      "mount -t tmpfs pinetboot-test \"$D/ns\"; }; "
      "cp -a /etc \"$D/ns/etc\"; cp \"$D/exports\" \"$D/ns/etc/exports\"; "
      "mount --bind \"$D/ns/etc\" /etc; mkdir -p \"$D/ns/lib/nfs\"; mount --bind \"$D/ns/lib\" /var/lib; "
      "mount -t tmpfs pinetboot-srv /srv; xargs -0 mkdir -p < \"$D/dirs\"; '" +
      exportfs + "' -ra 2>\"$D/stderr\" || true; cat /var/lib/nfs/etab";
  std::string etab = run("unshare -m sh -c '" + [&] {
    std::string s;
    for (char c : script) s += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
    return s;
  }() + "' 2>&1");
  std::string stderr_text;
  {
    std::ifstream in{dir / "stderr"};
    stderr_text.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
  }
  std::error_code ec;
  fs::remove_all(dir, ec);

  EXPECT_EQ(stderr_text, "") << "exportfs complained about the generated file";
  auto lines = parse_etab(etab);
  std::size_t clients = 0;
  for (auto const& e : entries) clients += e.clients.size();
  ASSERT_EQ(lines.size(), clients) << etab;
  for (auto const& e : entries)
    for (auto const& c : e.clients) {
      etab_line const* found = nullptr;
      for (auto const& l : lines)
        if (l.path == etab_escape(e.path) && l.host == c.host) found = &l;
      ASSERT_NE(found, nullptr) << e.path << " " << c.host << "\n" << etab;
      auto const& o = c.opts;
      std::vector<std::string> want;
      if (o.access) want.emplace_back(*o.access == nfs::access_mode::rw ? "rw" : "ro");
      if (o.sync) want.emplace_back(*o.sync == nfs::sync_mode::sync ? "sync" : "async");
      if (o.subtree) want.emplace_back("no_subtree_check");
      if (o.squash == nfs::squash_mode::no_root_squash) want.emplace_back("no_root_squash");
      if (o.squash == nfs::squash_mode::all_squash) want.emplace_back("all_squash");
      if (o.port) want.emplace_back("insecure");
      if (o.fsid) want.push_back("fsid=" + *o.fsid);
      if (o.anonuid) want.push_back("anonuid=" + std::to_string(*o.anonuid));
      if (!o.sec.empty()) want.emplace_back("sec=krb5p:sys");
      for (auto const& w : want)
        EXPECT_TRUE(has(found->opts, w)) << w << " missing for " << c.host << "\n" << etab;
    }
}
