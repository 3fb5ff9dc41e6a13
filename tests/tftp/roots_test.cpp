#include "pinetboot/tftp/roots.hpp"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pinetboot::tftp {
namespace {

namespace fs = std::filesystem;
using core::ipv4_address;
using core::mac_address;

mac_address const pi_mac = *mac_address::parse("b8:27:eb:5e:2a:2e");
ipv4_address const pi_ip{192, 168, 1, 17};

std::vector<std::string> names(dir_candidates const& c) {
  std::vector<std::string> out;
  for (auto const& n : c.items()) out.emplace_back(n.view());
  return out;
}

TEST(TftpRoots, CandidateNamesInLookupOrder) {
  client_info c{pi_ip, pi_mac};
  EXPECT_TRUE(names(candidate_dirs(root_mode::shared, c)).empty());
  EXPECT_EQ(names(candidate_dirs(root_mode::ip, c)), std::vector<std::string>{"192.168.1.17"});
  EXPECT_EQ(names(candidate_dirs(root_mode::mac_dash, c)),
            (std::vector<std::string>{"b8-27-eb-5e-2a-2e", "B8-27-EB-5E-2A-2E"}));
  EXPECT_EQ(names(candidate_dirs(root_mode::mac_colon, c)),
            (std::vector<std::string>{"b8:27:eb:5e:2a:2e", "B8:27:EB:5E:2A:2E"}));
  EXPECT_EQ(names(candidate_dirs(root_mode::mac_any, c)),
            (std::vector<std::string>{"b8-27-eb-5e-2a-2e", "b8:27:eb:5e:2a:2e", "B8-27-EB-5E-2A-2E",
                                      "B8:27:EB:5E:2A:2E"}));
  // Without a MAC, MAC modes have no candidate; an unspecified IP has none either.
  EXPECT_TRUE(names(candidate_dirs(root_mode::mac_any, client_info{pi_ip, {}})).empty());
  EXPECT_TRUE(names(candidate_dirs(root_mode::ip, client_info{})).empty());
  EXPECT_EQ(names(candidate_dirs(root_mode::ip, client_info{ipv4_address{10, 0, 0, 5}, {}})),
            std::vector<std::string>{"10.0.0.5"});
  EXPECT_EQ(names(candidate_dirs(root_mode::ip, client_info{ipv4_address{255, 255, 255, 255}, {}})),
            std::vector<std::string>{"255.255.255.255"});
  dir_name n{"0123456789abcdefXYZ"};  // longer than any real name: truncated, still terminated
  EXPECT_EQ(n.view(), "0123456789abcdefX");
  EXPECT_EQ(std::string_view{n.c_str()}, "0123456789abcdefX");
}

TEST(TftpRoots, ModesAreFolderNamingsPlusLookupPolicy) {
  using core::folder_naming;
  EXPECT_EQ(root_mode::shared.naming, std::nullopt);
  EXPECT_EQ(root_mode::mac_dash, root_mode::named_by(folder_naming::mac_dash));
  EXPECT_EQ(root_mode::mac_colon, root_mode::named_by(folder_naming::mac_colon));
  EXPECT_EQ(root_mode::ip, root_mode::named_by(folder_naming::ip));
  EXPECT_EQ(root_mode::mac_any.naming, folder_naming::mac_dash);
  EXPECT_TRUE(root_mode::mac_any.any_mac_spelling);
  EXPECT_TRUE(root_mode::mac_dash.needs_mac() && root_mode::mac_colon.needs_mac() &&
              root_mode::mac_any.needs_mac());
  EXPECT_FALSE(root_mode::shared.needs_mac() || root_mode::ip.needs_mac());
  // The board asks for <serial>/ itself and TFTP knows no host names: no candidate.
  client_info c{pi_ip, pi_mac};
  EXPECT_TRUE(names(candidate_dirs(root_mode::named_by(folder_naming::serial), c)).empty());
  EXPECT_TRUE(names(candidate_dirs(root_mode::named_by(folder_naming::hostname), c)).empty());
}

TEST(TftpRoots, ParsesThePerClientSetting) {
  EXPECT_EQ(parse_root_mode("shared"), root_mode::shared);
  EXPECT_EQ(parse_root_mode("mac"), root_mode::mac_any);
  EXPECT_EQ(parse_root_mode("mac-dash"), root_mode::mac_dash);
  EXPECT_EQ(parse_root_mode("mac-colon"), root_mode::mac_colon);
  EXPECT_EQ(parse_root_mode("ip"), root_mode::ip);
  for (auto bad : {"serial", "hostname", "mac_dash", "MAC", ""})
    EXPECT_EQ(parse_root_mode(bad), std::nullopt) << bad;
}

TEST(TftpRoots, JoinClientPath) {
  std::array<char, 64> buf{};
  auto shared = join_client_path(client_root{}, "start4.elf", buf);
  ASSERT_TRUE(shared);
  EXPECT_EQ(*shared, "start4.elf");
  auto own = join_client_path(client_root{dir_name{"10.0.0.5"}}, "a/b", buf);
  ASSERT_TRUE(own);
  EXPECT_EQ(*own, "10.0.0.5/a/b");
  EXPECT_EQ(buf[own->size()], '\0');
  std::array<char, 8> small{};
  EXPECT_EQ(join_client_path(client_root{dir_name{"10.0.0.5"}}, "a", small).error(),
            make_error_code(errc::buffer_too_small));
  std::string long_path(max_path_length - 3, 'x');
  std::vector<char> big(8192);
  EXPECT_EQ(join_client_path(client_root{dir_name{"10.0.0.5"}}, long_path, big).error(),
            make_error_code(errc::name_too_long));
}

class fake_lookup final : public mac_lookup {
 public:
  std::optional<mac_address> find(ipv4_address ip) const noexcept override {
    ++calls;
    auto it = table.find(ip.to_uint());
    if (it == table.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::uint32_t, mac_address> table;
  mutable int calls = 0;
};

void write_file(fs::path const& p, std::string_view content) {
  std::ofstream out{p, std::ios::binary};
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

class TftpClientRoots : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pinetboot-roots-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    root_path_ = base_ / "root";
    fs::create_directories(root_path_ / "b8-27-eb-5e-2a-2e");
    fs::create_directories(root_path_ / "AA:BB:CC:DD:EE:01");
    fs::create_directories(root_path_ / "192.168.1.17");
    fs::create_directories(root_path_ / "common");
    fs::create_directories(root_path_ / "abcd1234");
    fs::create_directories(base_ / "elsewhere");
    write_file(root_path_ / "config.txt", "shared-config");
    write_file(root_path_ / "start4.elf", "shared-firmware");
    write_file(root_path_ / "b8-27-eb-5e-2a-2e" / "config.txt", "pi-config");
    write_file(root_path_ / "AA:BB:CC:DD:EE:01" / "config.txt", "upper-colon-config");
    write_file(root_path_ / "192.168.1.17" / "config.txt", "ip-config");
    write_file(root_path_ / "common" / "kernel8.img", "common-kernel");
    write_file(root_path_ / "abcd1234" / "start4.elf", "serial-firmware");
    write_file(base_ / "elsewhere" / "config.txt", "escaped");
    fs::create_symlink("../common/kernel8.img", root_path_ / "b8-27-eb-5e-2a-2e" / "kernel8.img");
    fs::create_symlink("../elsewhere", root_path_ / "02-00-00-00-00-99");
    auto r = open_root(root_path_.c_str());
    ASSERT_TRUE(r);
    root_ = std::move(*r);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  std::string fetch(roots_policy const& policy, client_info const& who, std::string_view path) {
    auto src = open_for_client(cache_, root_.get(), policy, who, path);
    if (!src) return "error:" + src.error().message();
    std::array<std::byte, 256> buf{};
    auto n = src->read_at(0, buf);
    if (!n) return "error:" + n.error().message();
    return {reinterpret_cast<char const*>(buf.data()), *n};
  }

  fs::path base_;
  fs::path root_path_;
  unique_fd root_;
  file_cache cache_;
};

TEST_F(TftpClientRoots, SharedModeServesRoot) {
  roots_policy p;
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "config.txt"), "shared-config");
  auto r = select_client_root(root_.get(), p, {pi_ip, pi_mac});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_shared());
}

TEST_F(TftpClientRoots, MacDashDirectoryLikeDnsmasq) {
  roots_policy p;
  p.mode = root_mode::mac_dash;
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "config.txt"), "pi-config");
  // The whole client tree is used: a missing file is not found (dnsmasq), no per-file fallback.
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "start4.elf"), "error:file not found");
  // Operator symlinks to shared files inside the TFTP root are followed.
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "kernel8.img"), "common-kernel");
  // Another board without a directory falls back to the shared root.
  client_info other{ipv4_address{192, 168, 1, 99}, *mac_address::parse("dc-a6-32-01-36-c2")};
  EXPECT_EQ(fetch(p, other, "config.txt"), "shared-config");
}

TEST_F(TftpClientRoots, PerFileFallbackToSharedRoot) {
  roots_policy p;
  p.mode = root_mode::mac_dash;
  p.per_file_fallback = true;
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "config.txt"), "pi-config");
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "start4.elf"), "shared-firmware");
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "nothing.bin"), "error:file not found");
}

TEST_F(TftpClientRoots, ColonAndUpperCaseSpellings) {
  roots_policy p;
  p.mode = root_mode::mac_colon;
  client_info c{ipv4_address{10, 0, 0, 1}, *mac_address::parse("aa-bb-cc-dd-ee-01")};
  EXPECT_EQ(fetch(p, c, "config.txt"), "upper-colon-config");
  auto r = select_client_root(root_.get(), p, c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name.view(), "AA:BB:CC:DD:EE:01");
  p.mode = root_mode::mac_dash;  // dash spellings only: not found -> shared
  EXPECT_EQ(fetch(p, c, "config.txt"), "shared-config");
  p.mode = root_mode::mac_any;
  EXPECT_EQ(fetch(p, c, "config.txt"), "upper-colon-config");
  EXPECT_EQ(fetch(p, {pi_ip, pi_mac}, "config.txt"), "pi-config");
}

TEST_F(TftpClientRoots, ByClientIp) {
  roots_policy p;
  p.mode = root_mode::ip;
  EXPECT_EQ(fetch(p, {pi_ip, {}}, "config.txt"), "ip-config");
  EXPECT_EQ(fetch(p, {ipv4_address{192, 168, 1, 18}, {}}, "config.txt"), "shared-config");
}

TEST_F(TftpClientRoots, MacFromLookupWhenDhcpDidNotProvideIt) {
  fake_lookup lookup;
  lookup.table[pi_ip.to_uint()] = pi_mac;
  roots_policy p;
  p.mode = root_mode::mac_dash;
  p.lookup = &lookup;
  EXPECT_EQ(fetch(p, {pi_ip, {}}, "config.txt"), "pi-config");
  EXPECT_EQ(lookup.calls, 1);
  // A MAC from the DHCP side wins; the lookup is not consulted.
  EXPECT_EQ(fetch(p, {pi_ip, *mac_address::parse("dc:a6:32:01:36:c2")}, "config.txt"), "shared-config");
  EXPECT_EQ(lookup.calls, 1);
  // Unknown to the lookup: shared root.
  EXPECT_EQ(fetch(p, {ipv4_address{192, 168, 1, 50}, {}}, "config.txt"), "shared-config");
  // IP mode never asks for a MAC.
  p.mode = root_mode::ip;
  EXPECT_EQ(fetch(p, {pi_ip, {}}, "config.txt"), "ip-config");
  EXPECT_EQ(lookup.calls, 2);
}

TEST_F(TftpClientRoots, PiSerialPrefixIsJustAPath) {
  roots_policy p;
  p.mode = root_mode::mac_dash;
  client_info c{ipv4_address{192, 168, 1, 40}, *mac_address::parse("dc:a6:32:01:36:c2")};
  EXPECT_EQ(fetch(p, c, "abcd1234/start4.elf"), "serial-firmware");
  EXPECT_EQ(fetch(p, c, "9ffefdef/start4.elf"), "error:file not found");  // board then drops the prefix
}

TEST_F(TftpClientRoots, ClientDirectoryEscapingRootIsReported) {
  roots_policy p;
  p.mode = root_mode::mac_dash;
  client_info c{pi_ip, *mac_address::parse("02:00:00:00:00:99")};
  auto r = select_client_root(root_.get(), p, c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::access_violation));
  EXPECT_EQ(fetch(p, c, "config.txt"), "error:access violation");
}

TEST(TftpRoots, PiSerialPrefix) {
  EXPECT_EQ(pi_serial_prefix("abcd1234/start4.elf"), "abcd1234");
  EXPECT_EQ(pi_serial_prefix("9ffefdef/overlays/x.dtbo"), "9ffefdef");
  EXPECT_EQ(pi_serial_prefix("start4.elf"), std::nullopt);
  EXPECT_EQ(pi_serial_prefix("abcd1234/"), std::nullopt);            // no file after it
  EXPECT_EQ(pi_serial_prefix("ABCD1234/start4.elf"), std::nullopt);  // firmware uses lower case
  EXPECT_EQ(pi_serial_prefix("abcd123/start4.elf"), std::nullopt);
  EXPECT_EQ(pi_serial_prefix("abcd12345/start4.elf"), std::nullopt);
  EXPECT_EQ(pi_serial_prefix("dc-a6-32-01-36-c2/start4.elf"), std::nullopt);
  EXPECT_EQ(pi_serial_prefix("abcd123g/start4.elf"), std::nullopt);
}

}  // namespace
}  // namespace pinetboot::tftp
