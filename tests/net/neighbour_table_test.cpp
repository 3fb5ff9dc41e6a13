#include "pinetboot/net/neighbour_table.hpp"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace pinetboot::net {
namespace {

namespace fs = std::filesystem;
using core::ipv4_address;
using core::mac_address;

mac_address const pi_mac = *mac_address::parse("b8:27:eb:5e:2a:2e");
ipv4_address const pi_ip{192, 168, 1, 17};

void write_file(fs::path const& p, std::string_view content) {
  std::ofstream out{p, std::ios::binary};
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

constexpr std::string_view arp_sample =
    "IP address       HW type     Flags       HW address            Mask     Device\n"
    "192.168.1.1      0x1         0x2         00:11:22:33:44:55     *        eth0\n"
    "192.168.1.17     0x1         0x0         00:00:00:00:00:00     *        eth0\n"
    "192.168.1.17     0x1         0x2         b8:27:eb:5e:2a:2e     *        eth1\n"
    "192.168.1.17     0x1         0x6         dc:a6:32:01:36:c2     *        eth2\n"
    "10.0.0.9         0x1         0x2         02:42:ac:11:00:02     *        docker0\n"
    "garbage line\n"
    "10.0.0.10 0x1 0x2 zz:zz:zz:zz:zz:zz * eth0\n"
    "10.0.0.11        0x1         0x2         02:42:ac:11:00:03     *        br0";  // no final newline

TEST(NetNeighbourTable, ParsesArpLines) {
  EXPECT_FALSE(
      parse_arp_line("IP address       HW type     Flags       HW address            Mask     Device"));
  EXPECT_FALSE(parse_arp_line(""));
  EXPECT_FALSE(parse_arp_line("192.168.1.1 0x1 0x2 00:11:22:33:44:55 *"));  // no device
  EXPECT_FALSE(parse_arp_line("192.168.1.1 0x1 2 00:11:22:33:44:55 * eth0"));
  EXPECT_FALSE(parse_arp_line("192.168.1.1 0x1 0x2 00:11:22:33:44:55 * eth0 extra"));
  auto e = parse_arp_line("192.168.1.1      0x1         0x2         00:11:22:33:44:55     *        eth0\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ip, (ipv4_address{192, 168, 1, 1}));
  EXPECT_EQ(e->mac, *mac_address::parse("00:11:22:33:44:55"));
  EXPECT_EQ(e->flags, 2u);
  EXPECT_EQ(e->device, "eth0");
}

TEST(NetNeighbourTable, FindsCompleteEntries) {
  EXPECT_EQ(find_in_arp_table(arp_sample, ipv4_address{192, 168, 1, 1}),
            *mac_address::parse("00:11:22:33:44:55"));
  // The incomplete entry (flags 0x0) is skipped.
  EXPECT_EQ(find_in_arp_table(arp_sample, pi_ip), pi_mac);
  EXPECT_EQ(find_in_arp_table(arp_sample, pi_ip, "eth2"), *mac_address::parse("dc:a6:32:01:36:c2"));
  EXPECT_EQ(find_in_arp_table(arp_sample, pi_ip, "eth0"), std::nullopt);
  EXPECT_EQ(find_in_arp_table(arp_sample, ipv4_address{10, 0, 0, 10}), std::nullopt);
  EXPECT_EQ(find_in_arp_table(arp_sample, ipv4_address{10, 0, 0, 11}),
            *mac_address::parse("02:42:ac:11:00:03"));
  EXPECT_EQ(find_in_arp_table(arp_sample, ipv4_address{10, 9, 9, 9}), std::nullopt);
  // Every prefix of the table parses without reading past it.
  for (std::size_t n = 0; n <= arp_sample.size(); ++n)
    (void)find_in_arp_table(arp_sample.substr(0, n), pi_ip);
}

TEST(NetNeighbourTable, ReadsFileThroughSmallBuffer) {
  std::string tmpl = (fs::temp_directory_path() / "pinetboot-arp-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  fs::path dir{tmpl};
  std::string text{arp_sample.substr(0, arp_sample.find('\n') + 1)};
  // Push the interesting entries past several 4 KiB buffer refills, plus an overlong line.
  for (int i = 0; i < 200; ++i)
    text += "172.16.0." + std::to_string(i % 250) + "  0x1  0x2  02:00:00:00:00:01  *  eth0\n";
  text += std::string(10000, 'x') + " 192.168.1.17 0x1 0x2 00:00:00:00:00:01 * eth0\n";
  text += std::string{arp_sample.substr(arp_sample.find('\n') + 1)};
  write_file(dir / "arp", text);
  neighbour_table table{(dir / "arp").string()};
  EXPECT_EQ(table.find(pi_ip), pi_mac);
  EXPECT_EQ(table.find(ipv4_address{10, 0, 0, 11}), *mac_address::parse("02:42:ac:11:00:03"));
  EXPECT_EQ(table.find(ipv4_address{10, 9, 9, 9}), std::nullopt);
  neighbour_table eth2{(dir / "arp").string(), "eth2"};
  EXPECT_EQ(eth2.find(pi_ip), *mac_address::parse("dc:a6:32:01:36:c2"));
  neighbour_table missing{(dir / "nope").string()};
  EXPECT_EQ(missing.find(pi_ip), std::nullopt);
  // The real table is readable (contents depend on the host).
  neighbour_table real;
  (void)real.find(ipv4_address{127, 0, 0, 1});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pinetboot::net
