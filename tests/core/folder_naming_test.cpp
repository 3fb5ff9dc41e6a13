#include "pinetboot/core/folder_naming.hpp"

#include <gtest/gtest.h>

namespace pinetboot::core {
namespace {

constexpr folder_naming kAll[] = {folder_naming::serial, folder_naming::mac_dash, folder_naming::mac_colon,
                                  folder_naming::hostname, folder_naming::ip};

TEST(CoreFolderNaming, PrintsAndParsesBack) {
  for (auto n : kAll) {
    auto again = parse_folder_naming(to_string(n));
    ASSERT_TRUE(again) << to_string(n);
    EXPECT_EQ(*again, n);
  }
  EXPECT_EQ(to_string(folder_naming::mac_dash), "mac-dash");
  EXPECT_EQ(to_string(folder_naming::mac_colon), "mac-colon");
  EXPECT_EQ(parse_folder_naming("mac"), std::nullopt);
  EXPECT_EQ(parse_folder_naming("Serial"), std::nullopt);
  EXPECT_EQ(parse_folder_naming("mac_dash"), std::nullopt);
  EXPECT_EQ(parse_folder_naming(""), std::nullopt);
}

TEST(CoreFolderNaming, OnlyTheMacSpellingsNameByMac) {
  EXPECT_TRUE(names_by_mac(folder_naming::mac_dash));
  EXPECT_TRUE(names_by_mac(folder_naming::mac_colon));
  EXPECT_FALSE(names_by_mac(folder_naming::serial));
  EXPECT_FALSE(names_by_mac(folder_naming::hostname));
  EXPECT_FALSE(names_by_mac(folder_naming::ip));
}

}  // namespace
}  // namespace pinetboot::core
