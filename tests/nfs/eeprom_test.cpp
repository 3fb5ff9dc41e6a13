#include "pinetboot/nfs/eeprom.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nfs = pinetboot::nfs;
using pinetboot::core::ipv4_address;

namespace {
constexpr char const* kHeader =
    "# Raspberry Pi 4/5 bootloader: network boot. Apply with: rpi-eeprom-config --apply <this file>\n"
    "# Pi 3B/2B v1.2 have no EEPROM: put program_usb_boot_mode=1 in config.txt once (sets an OTP bit); a Pi "
    "3B+ "
    "netboots as shipped.\n"
    "[all]\n";

std::error_code err(nfs::eeprom_options const& o) { return nfs::format_eeprom_config(o).error(); }
}  // namespace

TEST(NfsEeprom, DefaultIsNetworkThenSd) {
  auto r = nfs::format_eeprom_config({});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, std::string{kHeader} + "BOOT_ORDER=0xf21\n");
}

TEST(NfsEeprom, AllKeysGolden) {
  nfs::eeprom_options o;
  o.boot_order = 0xf12;
  o.boot_uart = true;
  o.net_boot_max_retries = -1;
  o.dhcp_timeout_ms = 45000;
  o.dhcp_req_timeout_ms = 500;
  o.tftp_file_timeout_ms = 120000;
  o.tftp_ip = ipv4_address{192, 168, 1, 3};
  o.tftp_prefix = nfs::tftp_prefix_mode::string;
  o.tftp_prefix_str = "pi-fleet/rack_1.a";
  o.client_ip = ipv4_address{192, 168, 1, 50};
  o.subnet = ipv4_address{255, 255, 255, 0};
  o.gateway = ipv4_address{192, 168, 1, 1};
  auto r = nfs::format_eeprom_config(o);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, std::string{kHeader} +
                    "BOOT_UART=1\nBOOT_ORDER=0xf12\nNET_BOOT_MAX_RETRIES=-1\nDHCP_TIMEOUT=45000\n"
                    "DHCP_REQ_TIMEOUT=500\nTFTP_FILE_TIMEOUT=120000\nTFTP_IP=192.168.1.3\nTFTP_PREFIX=1\n"
                    "TFTP_PREFIX_STR=pi-fleet/rack_1.a\nCLIENT_IP=192.168.1.50\nSUBNET=255.255.255.0\n"
                    "GATEWAY=192.168.1.1\n");
}

TEST(NfsEeprom, MacPrefixAndHttpOrder) {
  nfs::eeprom_options o;
  o.boot_order = 0xf7621;
  o.boot_uart = false;
  o.tftp_prefix = nfs::tftp_prefix_mode::mac;
  auto r = nfs::format_eeprom_config(o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, std::string{kHeader} + "BOOT_UART=0\nBOOT_ORDER=0xf7621\nTFTP_PREFIX=2\n");
}

TEST(NfsEeprom, BootOrderValidation) {
  for (std::uint32_t bad : {0x0U, 0xf41U, 0xf1U, 0xf021U, 0xf821U, 0x2dU, 0x12a1U})
    EXPECT_EQ(err({.boot_order = bad}), nfs::errc::invalid_boot_order) << std::hex << bad;
  for (std::uint32_t good : {0x2U, 0xf21U, 0xe2U, 0xf2U, 0xf654321U, 0xfffffff2U})
    EXPECT_FALSE(err({.boot_order = good})) << std::hex << good;
}

TEST(NfsEeprom, MinimumsFromTheSpec) {
  nfs::eeprom_options o;
  o.dhcp_timeout_ms = 4999;
  EXPECT_EQ(err(o), nfs::errc::value_out_of_range);
  o.dhcp_timeout_ms = 5000;
  EXPECT_FALSE(err(o));
  o.dhcp_req_timeout_ms = 499;
  EXPECT_EQ(err(o), nfs::errc::value_out_of_range);
  o.dhcp_req_timeout_ms = 500;
  o.tftp_file_timeout_ms = 4999;
  EXPECT_EQ(err(o), nfs::errc::value_out_of_range);
  o.tftp_file_timeout_ms = 5000;
  o.net_boot_max_retries = -2;
  EXPECT_EQ(err(o), nfs::errc::value_out_of_range);
  o.net_boot_max_retries = -1;
  EXPECT_FALSE(err(o));
  o.tftp_prefix = static_cast<nfs::tftp_prefix_mode>(3);
  EXPECT_EQ(err(o), nfs::errc::value_out_of_range);
}

TEST(NfsEeprom, PrefixStringValidation) {
  nfs::eeprom_options o;
  o.tftp_prefix = nfs::tftp_prefix_mode::string;
  EXPECT_EQ(err(o), nfs::errc::missing_dependency);  // mode 1 without a string
  o.tftp_prefix_str = std::string(32, 'a');
  EXPECT_FALSE(err(o));
  o.tftp_prefix_str = std::string(33, 'a');
  EXPECT_EQ(err(o), nfs::errc::value_out_of_range);
  for (char const* bad : {"a b", "a=b", "a\nb", "x/../y", "..", "caf\xc3\xa9", "a#b"}) {
    o.tftp_prefix_str = bad;
    EXPECT_EQ(err(o), nfs::errc::forbidden_character) << bad;
  }
  o.tftp_prefix = nfs::tftp_prefix_mode::mac;
  o.tftp_prefix_str = "x";
  EXPECT_EQ(err(o), nfs::errc::missing_dependency);  // a string without mode 1
}

TEST(NfsEeprom, StaticAddressDependencies) {
  nfs::eeprom_options o;
  o.client_ip = ipv4_address{10, 0, 0, 5};
  EXPECT_EQ(err(o), nfs::errc::missing_dependency);
  o.tftp_ip = ipv4_address{10, 0, 0, 1};
  EXPECT_EQ(err(o), nfs::errc::missing_dependency);  // still no SUBNET
  o.subnet = ipv4_address{255, 255, 0, 255};
  EXPECT_EQ(err(o), nfs::errc::invalid_option_value);
  o.subnet = ipv4_address{255, 255, 255, 0};
  EXPECT_FALSE(err(o));
  o.gateway = ipv4_address{10, 0, 1, 1};
  EXPECT_EQ(err(o), nfs::errc::invalid_option_value);
  o.gateway = ipv4_address{10, 0, 0, 254};
  EXPECT_FALSE(err(o));
  nfs::eeprom_options g;
  g.gateway = ipv4_address{10, 0, 0, 1};
  EXPECT_EQ(err(g), nfs::errc::missing_dependency);
  nfs::eeprom_options s;
  s.subnet = ipv4_address{255, 0, 0, 0};
  EXPECT_EQ(err(s), nfs::errc::missing_dependency);
}

TEST(NfsEeprom, TftpPrefixFromFolderNaming) {
  using pinetboot::core::folder_naming;
  EXPECT_EQ(nfs::tftp_prefix_for(folder_naming::serial), nfs::tftp_prefix_mode::serial);
  EXPECT_EQ(nfs::tftp_prefix_for(folder_naming::mac_dash), nfs::tftp_prefix_mode::mac);
  EXPECT_EQ(nfs::tftp_prefix_for(folder_naming::mac_colon), std::nullopt);
  EXPECT_EQ(nfs::tftp_prefix_for(folder_naming::hostname), std::nullopt);
  EXPECT_EQ(nfs::tftp_prefix_for(folder_naming::ip), std::nullopt);
  EXPECT_EQ(nfs::folder_naming_of(nfs::tftp_prefix_mode::serial), folder_naming::serial);
  EXPECT_EQ(nfs::folder_naming_of(nfs::tftp_prefix_mode::mac), folder_naming::mac_dash);
  EXPECT_EQ(nfs::folder_naming_of(nfs::tftp_prefix_mode::string), std::nullopt);
  EXPECT_EQ(nfs::folder_naming_of(static_cast<nfs::tftp_prefix_mode>(3)), std::nullopt);
}
