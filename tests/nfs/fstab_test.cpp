#include "pinetboot/nfs/fstab.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "findmnt.hpp"

namespace nfs = pinetboot::nfs;
using pinetboot::test::findmnt_entries;
using pinetboot::test::findmnt_verify;

namespace {

// /etc/fstab of a stock Raspberry Pi OS Bookworm image.
constexpr char const* kStock =
    "proc            /proc           proc    defaults          0       0\n"
    "PARTUUID=4e639091-01  /boot/firmware  vfat    defaults          0       2\n"
    "PARTUUID=4e639091-02  /               ext4    defaults,noatime  0       1\n"
    "# a swapfile is not a swap partition, no line here\n"
    "#   use  dphys-swapfile swap[on|off]  for that\n";

nfs::netboot_fstab_options board() {
  nfs::netboot_fstab_options o;
  o.server = "192.168.1.3";
  o.boot_export = "/tftpboot/dc-a6-32-01-36-c2";
  return o;
}

std::vector<nfs::fstab_entry> entries_of(std::string const& text) {
  auto lines = nfs::parse_fstab(text);
  EXPECT_TRUE(lines.has_value()) << lines.error().message();
  std::vector<nfs::fstab_entry> v;
  if (lines)
    for (auto const& l : *lines)
      if (l.entry) v.push_back(*l.entry);
  return v;
}

// libmount must accept the text: no parse errors, no warnings, and the only errors are
// "target does not exist" for mount points absent on this build host (the fstab is for the
// board's root, not ours). libmount's own parse must equal ours.
void expect_libmount_accepts(std::string const& text) {
  if (!pinetboot::test::have_findmnt()) GTEST_SKIP() << "findmnt not installed";
  auto r = findmnt_verify(text);
  ASSERT_GE(r.parse_errors, 0) << r.output;
  EXPECT_EQ(r.parse_errors, 0) << r.output;
  EXPECT_EQ(r.warnings, 0) << r.output;
  auto ours = entries_of(text);
  int missing = 0;
  for (auto const& e : ours)
    if (!std::filesystem::exists(e.file)) ++missing;
  for (auto const& line : r.error_lines)
    EXPECT_EQ(line, "unreachable on boot required target: No such file or directory") << r.output;
  EXPECT_EQ(r.errors, missing) << r.output;
  EXPECT_EQ(r.exit_status, missing == 0 ? 0 : 1) << r.output;
  // With the board's mount points present (private mount namespace), findmnt exits 0.
  if (missing > 0 && pinetboot::test::can_unshare_mounts()) {
    std::vector<std::string> targets;
    for (auto const& e : ours) targets.push_back(e.file);
    if (auto ns = pinetboot::test::findmnt_verify_with_targets(text, targets)) {
      EXPECT_EQ(ns->exit_status, 0) << ns->output;
      EXPECT_EQ(ns->errors, 0) << ns->output;
      EXPECT_EQ(ns->warnings, 0) << ns->output;
    }
  }
  auto theirs = findmnt_entries(text);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(*theirs, ours);
}

}  // namespace

TEST(NfsFstab, StockImageBecomesNetbootGolden) {
  auto out = nfs::make_netboot_fstab(kStock, board());
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out,
            "proc            /proc           proc    defaults          0       0\n"
            "# a swapfile is not a swap partition, no line here\n"
            "#   use  dphys-swapfile swap[on|off]  for that\n"
            "192.168.1.3:/tftpboot/dc-a6-32-01-36-c2 /boot/firmware nfs defaults,vers=3,proto=tcp 0 0\n");
  expect_libmount_accepts(*out);
}

TEST(NfsFstab, OlderReleaseBootAndTmpfsGolden) {
  auto o = board();
  o.boot_at = nfs::boot_mountpoint::boot;
  o.server = "nfs.lab";
  o.tmpfs = {{"/tmp", "100m", std::nullopt}, {"/var/log", "50m", 0755}};
  std::string const old =
      "proc /proc proc defaults 0 0\n"
      "/dev/mmcblk0p1  /boot           vfat    defaults          0       2\n"
      "/dev/mmcblk0p2  /               ext4    defaults,noatime  0       1\n"
      "192.168.1.3:/srv/data /mnt/data nfs defaults,nofail 0 0\n"
      "tmpfs /tmp tmpfs size=1g 0 0";  // replaced by ours; no final newline
  auto out = nfs::make_netboot_fstab(old, o);
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out,
            "proc /proc proc defaults 0 0\n"
            "192.168.1.3:/srv/data /mnt/data nfs defaults,nofail 0 0\n"
            "nfs.lab:/tftpboot/dc-a6-32-01-36-c2 /boot nfs defaults,vers=3,proto=tcp 0 0\n"
            "tmpfs /tmp tmpfs defaults,nosuid,nodev,size=100m 0 0\n"
            "tmpfs /var/log tmpfs defaults,nosuid,nodev,mode=0755,size=50m 0 0\n");
  expect_libmount_accepts(*out);
}

TEST(NfsFstab, Idempotent) {
  auto o = board();
  o.tmpfs = {{"/tmp", "10%", std::nullopt}};
  auto first = nfs::make_netboot_fstab(kStock, o);
  ASSERT_TRUE(first.has_value());
  auto second = nfs::make_netboot_fstab(*first, o);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, *first);
  expect_libmount_accepts(*second);
}

TEST(NfsFstab, KeepsOperatorLinesAndNonSystemSdEntries) {
  std::string const text =
      "UUID=1234 /data ext4 defaults 0 2\n"
      "  # indented comment\n"
      "\n"
      "LABEL=x /boot/firmware/ vfat defaults 0 2\n"  // trailing slash: still the boot partition
      "server:/other / nfs defaults 0 0\n";          // an NFS root line is not an SD entry
  auto out = nfs::make_netboot_fstab(text, board());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out,
            "UUID=1234 /data ext4 defaults 0 2\n"
            "  # indented comment\n"
            "\n"
            "server:/other / nfs defaults 0 0\n"
            "192.168.1.3:/tftpboot/dc-a6-32-01-36-c2 /boot/firmware nfs defaults,vers=3,proto=tcp 0 0\n");
}

TEST(NfsFstab, EscapesFieldsPerFstab5) {
  nfs::fstab_entry e{"/srv/my share", "/mnt/a\tb\nc\\d#e", "none", "bind", 0, 0};
  auto line = nfs::format_fstab_entry(e);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "/srv/my\\040share /mnt/a\\011b\\012c\\134d\\043e none bind 0 0\n");
  auto back = nfs::parse_fstab_entry(*line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, e);
  expect_libmount_accepts(*line);
}

TEST(NfsFstab, ParsesLibmountVariants) {
  auto e = nfs::parse_fstab_entry("  a\t/b  c");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(*e, (nfs::fstab_entry{"a", "/b", "c", "", 0, 0}));
  EXPECT_EQ(*nfs::parse_fstab_entry("a /b c d 1"), (nfs::fstab_entry{"a", "/b", "c", "d", 1, 0}));
  EXPECT_EQ(*nfs::parse_fstab_entry("a /b c d 01 -1 # note\r"),
            (nfs::fstab_entry{"a", "/b", "c", "d", 1, -1}));
  EXPECT_EQ(nfs::parse_fstab_entry("a /b\\777 c")->file, "/b\xff");  // libmount keeps the low 8 bits
  EXPECT_EQ(nfs::parse_fstab_entry("a /b\\08 c")->file, "/b\\08");   // not an octal escape
  EXPECT_EQ(*nfs::format_fstab_entry(*nfs::parse_fstab_entry("a /b c")), "a /b c\n");
}

TEST(NfsFstab, Rejections) {
  for (char const* bad : {"", "   ", "# comment", "a", "a /b", "a /b c d x 0", "a /b c d 0 x",
                          "a /b c d 0 0 extra", "a /b # c", "a /b c d 1234567890 0"})
    EXPECT_EQ(nfs::parse_fstab_entry(bad).error(), nfs::errc::invalid_syntax) << bad;
  EXPECT_EQ(nfs::parse_fstab_entry("a\\000 /b c").error(), nfs::errc::forbidden_character);
  std::size_t line = 0;
  EXPECT_EQ(nfs::parse_fstab("proc /proc proc\n#x\nbroken\n", &line).error(), nfs::errc::invalid_syntax);
  EXPECT_EQ(line, 3U);

  EXPECT_EQ(nfs::format_fstab_entry({"", "/b", "c", "d", 0, 0}).error(), nfs::errc::empty_field);
  EXPECT_EQ(nfs::format_fstab_entry({"a", "", "c", "d", 0, 0}).error(), nfs::errc::empty_field);
  EXPECT_EQ(nfs::format_fstab_entry({"a", "/b", "", "d", 0, 0}).error(), nfs::errc::empty_field);
  EXPECT_EQ(nfs::format_fstab_entry({"a", "/b", "c", "", 1, 0}).error(), nfs::errc::empty_field);
  EXPECT_EQ(nfs::format_fstab_entry({std::string{"a\0b", 3}, "/b", "c", "d", 0, 0}).error(),
            nfs::errc::forbidden_character);

  auto o = board();
  o.server = "bad host";
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::invalid_host);
  o = board();
  o.boot_export = "tftpboot/x";
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::relative_path);
  o.boot_export = "/tftpboot/../etc";
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::path_traversal);
  o = board();
  o.nfs_options = "";
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::empty_field);
  o = board();
  o.tmpfs = {{"/tmp", "lots", std::nullopt}};
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::invalid_option_value);
  o.tmpfs = {{"/tmp", "1m", 010000}};
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::invalid_option_value);
  o.tmpfs = {{"/tmp", "1m", std::nullopt}, {"/tmp/", "2m", std::nullopt}};
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::conflicting_options);
  o.tmpfs = {{"/boot/firmware", "1m", std::nullopt}};
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::conflicting_options);
  o.tmpfs = {{"var/log", "1m", std::nullopt}};
  EXPECT_EQ(nfs::make_netboot_fstab(kStock, o).error(), nfs::errc::relative_path);
  EXPECT_EQ(nfs::make_netboot_fstab("proc /proc\n", board()).error(), nfs::errc::invalid_syntax);
}

TEST(NfsFstab, EveryPrefixAndMutationStaysInBounds) {
  auto full = nfs::make_netboot_fstab(kStock, board());
  ASSERT_TRUE(full.has_value());
  std::string const text = *full + "a\\040b /x\\134 none bind,ro 1 2 # c\n";
  auto round_trip = [](std::string_view t) {
    auto lines = nfs::parse_fstab(t);
    if (!lines) return;
    std::string again;
    std::vector<nfs::fstab_entry> want;
    for (auto const& l : *lines)
      if (l.entry) {
        want.push_back(*l.entry);
        ASSERT_FALSE(nfs::append_fstab_entry(again, *l.entry));
      }
    EXPECT_EQ(entries_of(again), want) << t;
  };
  for (std::size_t n = 0; n <= text.size(); ++n) round_trip(std::string_view{text}.substr(0, n));
  for (std::size_t i = 0; i < text.size(); ++i)
    for (char c : {'\0', '\n', '\\', '#', ' ', '\t', '-', '7', 'x'}) {
      std::string m = text;
      m[i] = c;
      round_trip(m);
    }
}

TEST(NfsFstab, GeneratedVariantsPassFindmntVerify) {
  for (auto at : {nfs::boot_mountpoint::boot_firmware, nfs::boot_mountpoint::boot}) {
    auto o = board();
    o.boot_at = at;
    o.boot_export = "/srv/tftp boot/b8-27-eb-9d-c1-5a";  // a space in the export path
    o.tmpfs = {{"/tmp", "64m", std::nullopt}, {"/var/log", "32m", 0755}, {"/var/tmp", "5%", std::nullopt}};
    auto out = nfs::make_netboot_fstab(kStock, o);
    ASSERT_TRUE(out.has_value());
    EXPECT_NE(out->find("192.168.1.3:/srv/tftp\\040boot/b8-27-eb-9d-c1-5a"), std::string::npos);
    expect_libmount_accepts(*out);
  }
}

TEST(NfsFstab, FindmntOracleDetectsBrokenFiles) {
  // The oracle used above is not vacuous: libmount reports a bad line and an SD source.
  if (!pinetboot::test::have_findmnt()) GTEST_SKIP() << "findmnt not installed";
  auto bad = findmnt_verify("proc /proc proc defaults 0 0\nfoo /x\n");
  EXPECT_EQ(bad.parse_errors, 1) << bad.output;
  EXPECT_NE(bad.exit_status, 0);
  auto sd = findmnt_verify("PARTUUID=00000000-02 /proc ext4 defaults 0 1\n");
  EXPECT_EQ(sd.parse_errors, 0) << sd.output;
  EXPECT_GE(sd.errors, 1) << sd.output;
}
