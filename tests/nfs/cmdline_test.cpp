#include "pinetboot/nfs/cmdline.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nfs = pinetboot::nfs;
using pinetboot::core::ipv4_address;

namespace {

// cmdline.txt of a stock Raspberry Pi OS Bookworm image (first boot not yet done).
constexpr char const* kBookworm =
    "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait "
    "quiet init=/usr/lib/raspberrypi-sys-mods/firstboot splash plymouth.ignore-serial-consoles "
    "cfg80211.ieee80211_regdom=DE\n";

nfs::cmdline_options board() {
  nfs::cmdline_options o;
  o.server = ipv4_address{192, 168, 1, 3};
  o.root_path = "/nfs/dc-a6-32-01-36-c2";
  return o;
}

std::string make(std::string_view original, nfs::cmdline_options const& o = board()) {
  auto r = nfs::make_netboot_cmdline(original, o);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return r ? *r : std::string{};
}

}  // namespace

TEST(NfsCmdline, BookwormImageGolden) {
  EXPECT_EQ(make(kBookworm),
            "console=serial0,115200 console=tty1 root=/dev/nfs "
            "nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3 rw "
            "ip=dhcp rootwait quiet splash plymouth.ignore-serial-consoles cfg80211.ieee80211_regdom=DE\n");
}

TEST(NfsCmdline, OlderImageWithInitResize) {
  EXPECT_EQ(make("console=serial0,115200 console=tty1 root=/dev/mmcblk0p2 rootfstype=ext4 elevator=deadline "
                 "fsck.repair=yes rootwait quiet init=/usr/lib/raspi-config/init_resize.sh"),
            "console=serial0,115200 console=tty1 root=/dev/nfs "
            "nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3 rw "
            "ip=dhcp rootwait elevator=deadline quiet\n");
}

TEST(NfsCmdline, IdempotentAndKeepsOtherInit) {
  auto once = make(kBookworm);
  EXPECT_EQ(make(once), once);
  auto custom = make("console=tty1 init=/bin/systemd root=/dev/sda2");
  EXPECT_EQ(
      custom,
      "console=tty1 init=/bin/systemd root=/dev/nfs nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3 rw "
      "ip=dhcp rootwait\n");
}

TEST(NfsCmdline, EmptyOriginalAndQuotedTokens) {
  EXPECT_EQ(make(""),
            "root=/dev/nfs nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3 rw ip=dhcp rootwait\n");
  EXPECT_EQ(
      make("\tdyndbg=\"file drivers/x.c +p\"\r\n\nquiet  "),
      "dyndbg=\"file drivers/x.c +p\" quiet root=/dev/nfs nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3 "
      "rw ip=dhcp rootwait\n");
}

TEST(NfsCmdline, WithoutInitramfsUsesTcpAndAllowsV4) {
  auto o = board();
  o.initramfs = false;
  EXPECT_EQ(
      make("console=tty1", o),
      "console=tty1 root=/dev/nfs nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3,proto=tcp rw ip=dhcp "
      "rootwait\n");
  o.version = nfs::nfs_version::v4_1;
  o.ip = "192.168.1.50::192.168.1.1:255.255.255.0:pi4:eth0:off";
  EXPECT_EQ(make("", o),
            "root=/dev/nfs nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=4.1,proto=tcp rw "
            "ip=192.168.1.50::192.168.1.1:255.255.255.0:pi4:eth0:off rootwait\n");
  o.version = nfs::nfs_version::v3;
  o.proto = nfs::nfs_proto::udp;
  o.ip = "dhcp";
  EXPECT_EQ(
      make("", o),
      "root=/dev/nfs nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3,proto=udp rw ip=dhcp rootwait\n");
}

TEST(NfsCmdline, Rejections) {
  auto err = [](nfs::cmdline_options const& o, std::string_view original = kBookworm) {
    return nfs::make_netboot_cmdline(original, o).error();
  };
  auto o = board();
  o.version = nfs::nfs_version::v4_1;
  EXPECT_EQ(err(o), nfs::errc::nfs_version_needs_no_initramfs);
  o = board();
  o.proto = nfs::nfs_proto::tcp;
  EXPECT_EQ(err(o), nfs::errc::nfs_version_needs_no_initramfs);
  o.initramfs = false;
  o.version = nfs::nfs_version::v4_1;
  o.proto = nfs::nfs_proto::udp;
  EXPECT_EQ(err(o), nfs::errc::conflicting_options);

  struct path_case {
    std::string path;
    nfs::errc want;
  };
  for (auto const& [path, want] : {path_case{"", nfs::errc::empty_path},
                                   {"nfs/x", nfs::errc::relative_path},
                                   {"/nfs/../x", nfs::errc::path_traversal},
                                   {"/nfs/a b", nfs::errc::forbidden_character},
                                   {"/nfs/a,b", nfs::errc::forbidden_character},
                                   {"/nfs/%s", nfs::errc::forbidden_character},
                                   {"/nfs/\"x", nfs::errc::forbidden_character},
                                   {"/nfs/a\tb", nfs::errc::forbidden_character},
                                   {"/nfs/a\nb", nfs::errc::forbidden_character},
                                   {"/nfs/caf\xc3\xa9", nfs::errc::forbidden_character},
                                   {"/" + std::string(1024, 'a'), nfs::errc::path_too_long}}) {
    o = board();
    o.root_path = path;
    EXPECT_EQ(err(o), want) << path;
  }
  o = board();
  o.ip = "";
  EXPECT_EQ(err(o), nfs::errc::empty_field);
  o.ip = "dhcp extra";
  EXPECT_EQ(err(o), nfs::errc::forbidden_character);
  EXPECT_EQ(err(board(), "console=tty1 dyndbg=\"open"), nfs::errc::invalid_syntax);
  EXPECT_EQ(err(board(), std::string_view{"quiet\0x", 7}), nfs::errc::forbidden_character);
  EXPECT_EQ(err(board(), std::string(2000, 'x')), nfs::errc::too_long);
  EXPECT_EQ(err(board(), "quiet dyndbg=\"a\nb\" splash"), nfs::errc::forbidden_character);
}

TEST(NfsCmdline, EveryPrefixAndMutationStaysInBounds) {
  std::string const text = kBookworm;
  auto check = [](std::string_view t) {
    auto r = nfs::make_netboot_cmdline(t, board());
    if (!r) return;
    ASSERT_FALSE(r->empty());
    EXPECT_EQ(r->back(), '\n');
    EXPECT_EQ(r->find('\n'), r->size() - 1);
    EXPECT_NE(r->find(" nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=3 "), std::string::npos);
    auto again = nfs::make_netboot_cmdline(*r, board());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *r);
  };
  for (std::size_t n = 0; n <= text.size(); ++n) check(std::string_view{text}.substr(0, n));
  for (std::size_t i = 0; i < text.size(); ++i)
    for (char c : {'\0', '\n', '"', ' ', '=', 'x'}) {
      std::string m = text;
      m[i] = c;
      check(m);
    }
}
