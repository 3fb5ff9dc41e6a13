#include "pinetboot/layout/registry.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "temp_dir.hpp"

namespace pinetboot::layout {
namespace {

client_record sample() {
  client_record r;
  r.folder = "abcd1234";
  r.id.serial = core::pi_serial{0xabcd1234};
  r.id.mac = *core::mac_address::parse("dc-a6-32-01-36-c2");
  r.id.hostname = "pi1";
  r.id.ip = *core::ipv4_address::parse("10.0.0.5");
  r.server = *core::ipv4_address::parse("10.0.0.1");
  return r;
}

TEST(LayoutRegistry, FormatsGoldenLine) {
  std::string line;
  append_registry_line(line, sample());
  EXPECT_EQ(line,
            "client folder=abcd1234 serial=abcd1234 mac=dc:a6:32:01:36:c2 hostname=pi1 ip=10.0.0.5 "
            "server=10.0.0.1\n");
  client_record bare;
  bare.folder = "x";
  line.clear();
  append_registry_line(line, bare);
  EXPECT_EQ(line, "client folder=x\n");
}

TEST(LayoutRegistry, RoundTrips) {
  client_record other;
  other.folder = "dc-a6-32-01-36-c3";
  other.id.mac = *core::mac_address::parse("dc:a6:32:01:36:c3");
  std::vector<client_record> records{sample(), other};
  auto text = format_registry(records);
  auto parsed = parse_registry(text);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, records);
}

TEST(LayoutRegistry, AcceptsCommentsBlankLinesAndAnyFieldOrder) {
  auto parsed = parse_registry("# hi\n\n  client  ip=1.2.3.4\tfolder=a  # trailing\n");
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 1U);
  EXPECT_EQ((*parsed)[0].folder, "a");
  EXPECT_EQ((*parsed)[0].id.ip, core::ipv4_address(1, 2, 3, 4));
}

TEST(LayoutRegistry, RejectsMalformedLines) {
  for (std::string_view bad :
       {"host folder=a\n", "client\n", "client folder=a mac=zz\n", "client folder=a x=1\n",
        "client folder=a serial\n", "client folder=a hostname=a.b\n", "client folder=a ip=1.2.3\n",
        "client folder=a server=300.1.1.1\n"})
    EXPECT_EQ(parse_registry(bad).error(), errc::bad_registry) << bad;
  for (std::string_view bad : {"client folder=..\n", "client folder=a/b\n", "client folder=.\n"})
    EXPECT_EQ(parse_registry(bad).error(), errc::unsafe_path) << bad;
}

TEST(LayoutRegistry, ChecksFolderNames) {
  EXPECT_FALSE(check_folder("dc:a6:32:01:36:c2"));
  EXPECT_FALSE(check_folder("abcd1234"));
  for (std::string_view bad :
       {std::string_view{""}, std::string_view{"."}, std::string_view{".."}, std::string_view{"a/b"},
        std::string_view{"a\nb"}, std::string_view{"a b"}, std::string_view{"a\0b", 3}})
    EXPECT_EQ(check_folder(bad), errc::unsafe_path);
  EXPECT_EQ(check_folder(std::string(256, 'a')), errc::unsafe_path);
}

TEST(LayoutRegistry, WritesAtomicallyAndReadsBack) {
  test::temp_dir dir;
  auto file = dir / "var/lib/pinetboot/clients.conf";
  auto missing = read_registry(file);
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->empty());
  std::vector<client_record> records{sample()};
  ASSERT_FALSE(write_file_atomic(file, format_registry(records), 0640));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640U);
  auto back = read_registry(file);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, records);
  // No temp file left next to it.
  std::size_t n = 0;
  for ([[maybe_unused]] auto const& e : std::filesystem::directory_iterator{file.parent_path()}) ++n;
  EXPECT_EQ(n, 1U);
}

}  // namespace
}  // namespace pinetboot::layout
