#include "pinetboot/layout/identity.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pinetboot::layout {
namespace {

TEST(LayoutIdentity, ChecksHostnameLabels) {
  std::string const longest(63, 'x');
  for (std::string_view ok : {std::string_view{"pi1"}, std::string_view{"a"}, std::string_view{"PI-42"},
                              std::string_view{"rack3-node07"}, std::string_view{longest}})
    EXPECT_FALSE(check_hostname(ok)) << ok;
  for (std::string_view bad : {std::string_view{""}, std::string_view{"-pi"}, std::string_view{"pi-"},
                               std::string_view{"pi.lab"}, std::string_view{"pi_1"}, std::string_view{"pi 1"},
                               std::string_view{"pi/1"}, std::string_view{"pi\0", 3}})
    EXPECT_EQ(check_hostname(bad), errc::invalid_hostname) << bad;
  EXPECT_EQ(check_hostname(std::string(64, 'x')), errc::invalid_hostname);
}

TEST(LayoutIdentity, ParsesSchemesAndPrintsThemBack) {
  for (auto s : {core::folder_naming::serial, core::folder_naming::mac_dash, core::folder_naming::mac_colon,
                 core::folder_naming::hostname}) {
    auto again = parse_scheme(to_string(s));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, s);
  }
  EXPECT_EQ(parse_scheme("mac").error(), errc::invalid_scheme);
  EXPECT_EQ(parse_scheme("Serial").error(), errc::invalid_scheme);
}

client_identity spec_board() {
  client_identity c;
  c.mac = *core::mac_address::parse("DC:A6:32:01:36:C2");
  c.serial = *core::pi_serial::parse("9ffefdef");
  c.hostname = "Pi-Rack1";
  return c;
}

TEST(LayoutIdentity, NamesFoldersPerScheme) {
  auto c = spec_board();
  // spec 4.2: TFTP_PREFIX=0 serial `9ffefdef/`, TFTP_PREFIX=2 `dc-a6-32-01-36-c2/`.
  EXPECT_EQ(*folder_name(c, core::folder_naming::serial), "9ffefdef");
  EXPECT_EQ(*folder_name(c, core::folder_naming::mac_dash), "dc-a6-32-01-36-c2");
  EXPECT_EQ(*folder_name(c, core::folder_naming::mac_colon), "dc:a6:32:01:36:c2");
  EXPECT_EQ(*folder_name(c, core::folder_naming::hostname), "pi-rack1");
}

TEST(LayoutIdentity, ReportsMissingIdentity) {
  client_identity none;
  for (auto s : {core::folder_naming::serial, core::folder_naming::mac_dash, core::folder_naming::mac_colon,
                 core::folder_naming::hostname})
    EXPECT_EQ(folder_name(none, s).error(), errc::missing_identity);
  none.hostname = "bad.name";
  EXPECT_EQ(folder_name(none, core::folder_naming::hostname).error(), errc::invalid_hostname);
}

TEST(LayoutIdentity, DetectsCollisions) {
  std::vector<client_identity> clients(4);
  clients[0].hostname = "node1";
  clients[0].serial = core::pi_serial{1};
  clients[1].hostname = "NODE1";  // same folder under `hostname`
  clients[1].serial = core::pi_serial{2};
  clients[2].hostname = "node2";
  clients[2].serial = core::pi_serial{1};  // same serial as clients[0]
  clients[3].serial = core::pi_serial{1};  // and again; no host name
  auto by_name = detect_collisions(clients, core::folder_naming::hostname);
  ASSERT_EQ(by_name.size(), 1U);
  EXPECT_EQ(by_name[0], (collision{"node1", 0, 1}));
  auto by_serial = detect_collisions(clients, core::folder_naming::serial);
  std::vector<collision> want{{"00000001", 0, 2}, {"00000001", 0, 3}, {"00000001", 2, 3}};
  EXPECT_EQ(by_serial, want);
  EXPECT_TRUE(detect_collisions(clients, core::folder_naming::mac_dash).empty());
}

}  // namespace
}  // namespace pinetboot::layout
