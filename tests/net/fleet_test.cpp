#include "pinetboot/sim/fleet.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include "net/fleet_loopback.hpp"
#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/net/udp.hpp"

namespace pinetboot::net {
namespace {

using namespace std::chrono_literals;

TEST(NetFleet, ParsesGenerations) {
  EXPECT_EQ(parse_fleet_mix("pi3").value_or(fleet_mix::mix), fleet_mix::pi3);
  EXPECT_EQ(parse_fleet_mix("pi4").value_or(fleet_mix::mix), fleet_mix::pi4);
  EXPECT_EQ(parse_fleet_mix("pi5").value_or(fleet_mix::mix), fleet_mix::pi5);
  EXPECT_EQ(parse_fleet_mix("mix").value_or(fleet_mix::pi3), fleet_mix::mix);
  EXPECT_FALSE(parse_fleet_mix("pi6"));
  EXPECT_FALSE(parse_fleet_mix(""));
}

TEST(NetFleet, PlanMixesGenerationsWithTheirOuis) {
  fleet_config c;
  c.count = 7;
  c.generation = fleet_mix::mix;
  c.serial_base = 0x9ffefde0;
  auto p = plan_fleet(c);
  ASSERT_EQ(p.size(), 7U);
  std::array<tftp::pi_board, 3> order{tftp::pi_board::pi4, tftp::pi_board::pi3, tftp::pi_board::pi5};
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(p[i].index, i);
    EXPECT_EQ(p[i].board, order[i % 3]);
    EXPECT_EQ(p[i].serial, 0x9ffefde0U + i);
  }
  EXPECT_EQ(p[0].dhcp_generation, dhcp::pi_generation::pi4);
  EXPECT_EQ(p[1].dhcp_generation, dhcp::pi_generation::pi3_rom);
  EXPECT_EQ(p[2].dhcp_generation, dhcp::pi_generation::pi5);
  EXPECT_EQ(p[0].mac.to_string(), "dc:a6:32:00:00:00");
  EXPECT_EQ(p[1].mac.to_string(), "b8:27:eb:00:00:01");
  EXPECT_EQ(p[5].mac.to_string(), "2c:cf:67:00:00:05");
}

TEST(NetFleet, PlanCountsMacsUpFromTheBaseWithCarry) {
  fleet_config c;
  c.count = 3;
  c.generation = fleet_mix::pi5;
  c.mac_base = core::mac_address{{0x02, 0x00, 0x00, 0x00, 0xff, 0xfe}};
  auto p = plan_fleet(c);
  ASSERT_EQ(p.size(), 3U);
  EXPECT_EQ(p[0].mac.to_string(), "02:00:00:00:ff:fe");
  EXPECT_EQ(p[1].mac.to_string(), "02:00:00:00:ff:ff");
  EXPECT_EQ(p[2].mac.to_string(), "02:00:00:01:00:00");
  for (auto const& b : p) EXPECT_EQ(b.board, tftp::pi_board::pi5);
  c.count = 0;
  EXPECT_TRUE(plan_fleet(c).empty());
}

TEST(NetFleet, PercentileIsNearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile(v, 0), 1);
  EXPECT_EQ(percentile(v, 150), 100);
  std::vector<double> three{10, 20, 30};
  EXPECT_EQ(percentile(three, 50), 20);
  EXPECT_EQ(percentile(three, 99), 30);
  EXPECT_EQ(percentile({}, 50), 0);
}

file_record rec(std::string_view path, tftp::pi_file_result r, std::uint64_t bytes,
                std::uint64_t timeouts = 0) {
  file_record f;
  std::copy(path.begin(), path.end(), f.path_buffer.begin());
  f.path_size = path.size();
  f.result = r;
  f.bytes = bytes;
  f.timeouts = timeouts;
  f.retransmits = timeouts;
  return f;
}

fleet_report sample_report() {
  fleet_report r;
  for (std::size_t i = 0; i < 4; ++i) {
    board_result b;
    b.plan.index = i;
    b.plan.serial = 0x10000000U + static_cast<std::uint32_t>(i);
    b.discovers = 1;
    b.requests = 1;
    b.booted = i != 3;
    if (b.booted)
      b.boot_ms = 100.0 * static_cast<double>(i + 1);
    else
      b.error = "tftp: \"kernel\"\n timed out";
    b.files.push_back(rec("10000000/start4.elf", tftp::pi_file_result::found, 0));
    b.files.push_back(rec("pieeprom.sig", tftp::pi_file_result::not_found, 0));
    b.files.push_back(rec("kernel8.img",
                          b.booted ? tftp::pi_file_result::received : tftp::pi_file_result::failed, 1000,
                          b.booted ? 0 : 5));
    r.boards.push_back(b);
  }
  r.boards[2].discovers = 3;  // two DHCP retransmissions
  return r;
}

TEST(NetFleet, SummaryCountsBoardsFilesAndTimeouts) {
  auto r = sample_report();
  r.summary.wall_ms = 1234;
  summarize(r);
  auto const& s = r.summary;
  EXPECT_EQ(s.boards, 4U);
  EXPECT_EQ(s.booted, 3U);
  EXPECT_EQ(s.failed, 1U);
  EXPECT_EQ(s.p50_ms, 200);
  EXPECT_EQ(s.p99_ms, 300);
  EXPECT_EQ(s.max_ms, 300);
  EXPECT_EQ(s.dhcp_retransmits, 2U);
  EXPECT_EQ(s.tftp_timeouts, 5U);
  EXPECT_EQ(s.tftp_retransmits, 5U);
  EXPECT_EQ(s.probes, 4U);
  EXPECT_EQ(s.not_found, 4U);
  EXPECT_EQ(s.files_received, 3U);
  EXPECT_EQ(s.files_failed, 1U);
  EXPECT_EQ(s.bytes, 4000U);
  EXPECT_EQ(s.wall_ms, 1234);
}

TEST(NetFleet, JsonAndTextReports) {
  auto r = sample_report();
  summarize(r);
  auto j = to_json(r);
  EXPECT_EQ(j.rfind("{\"summary\":{\"boards\":4,\"booted\":3,\"failed\":1,\"p50_ms\":200.0,", 0), 0U) << j;
  EXPECT_NE(
      j.find(
          "\"name\":\"10000000/start4.elf\",\"kind\":\"fetch\",\"role\":\"required\",\"result\":\"found\""),
      std::string::npos);
  EXPECT_NE(j.find("\"result\":\"not_found\""), std::string::npos);
  EXPECT_NE(j.find("\"error\":\"tftp: \\\"kernel\\\"\\u000a timed out\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"boot_ms\":null"), std::string::npos);
  EXPECT_NE(j.find("\"serial\":\"10000003\""), std::string::npos);
  EXPECT_EQ(std::count(j.begin(), j.end(), '{'), std::count(j.begin(), j.end(), '}'));
  EXPECT_EQ(std::count(j.begin(), j.end(), '['), std::count(j.begin(), j.end(), ']'));

  auto quiet = to_text(r, false);
  EXPECT_EQ(quiet.find("board "), std::string::npos);
  EXPECT_NE(quiet.find("boards 4 booted 3 failed 1\n"), std::string::npos) << quiet;
  EXPECT_NE(quiet.find("p50 200.0 ms, p99 300.0 ms, max 300.0 ms"), std::string::npos) << quiet;
  auto loud = to_text(r, true);
  std::size_t board_lines = 0;
  for (std::size_t pos = 0; (pos = loud.find("board ", pos)) != std::string::npos; ++pos)
    board_lines += pos == 0 || loud[pos - 1] == '\n';
  EXPECT_EQ(board_lines, 4U) << loud;
  EXPECT_NE(loud.find(quiet), std::string::npos);  // the summary follows the board lines
  EXPECT_NE(loud.find("booted in 100.0 ms"), std::string::npos);
  EXPECT_NE(loud.find("FAILED: tftp"), std::string::npos);
}

class NetFleetLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("pinetboot-fleet-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    for (auto const* f : {"bootcode.bin", "start.elf", "fixup.dat", "start4.elf", "fixup4.dat", "config.txt",
                          "bcm2710-rpi-3-b.dtb", "bcm2711-rpi-4-b.dtb", "bcm2712-rpi-5-b.dtb", "cmdline.txt",
                          "kernel8.img", "kernel_2712.img"})
      test::write_file(root_ / f, 3000 + std::string_view{f}.size() * 101);
    // Board 0 (a Pi 4, serial 0x10000000) has its own folder with a different kernel size.
    for (auto const* f : {"start4.elf", "fixup4.dat", "config.txt", "bcm2711-rpi-4-b.dtb", "cmdline.txt"})
      test::write_file(root_ / "10000000" / f, 2000);
    test::write_file(root_ / "10000000" / "kernel8.img", 12345);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  fleet_config config(test::loopback_servers const& s) const { return test::loopback_config(s); }
  std::filesystem::path root_;
};

TEST_F(NetFleetLoopback, BootsAMixedFleet) {
  test::loopback_servers s{root_};
  auto c = config(s);
  c.count = 6;
  c.generation = fleet_mix::mix;
  c.concurrency = 4;
  auto rep = run_fleet(c);
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->summary.booted, 6U) << to_text(*rep, true);
  EXPECT_EQ(rep->summary.failed, 0U);
  EXPECT_GT(rep->summary.not_found, 0U);
  EXPECT_GT(rep->summary.p50_ms, 0);
  for (auto const& b : rep->boards) {
    SCOPED_TRACE(b.plan.index);
    EXPECT_TRUE(b.booted) << b.error;
    EXPECT_EQ(b.dhcp_state, dhcp::pi_client_state::bound);
    EXPECT_EQ(b.tftp_server, (core::ipv4_address{127, 0, 0, 1}));
    EXPECT_EQ(b.address.to_uint() & 0xffffff00U, (core::ipv4_address{127, 0, 1, 0}).to_uint());
    ASSERT_TRUE(b.offer_ms && b.ack_ms && b.boot_ms);
    EXPECT_LE(*b.offer_ms, *b.ack_ms);
    EXPECT_LE(*b.ack_ms, *b.boot_ms);
    EXPECT_EQ(b.requests, b.plan.board == tftp::pi_board::pi3 ? 0U : 1U);
    if (b.plan.board == tftp::pi_board::pi3) {
      // ROM, then bootcode.bin: two DHCP clients, each bound by its OFFER.
      EXPECT_EQ(b.dhcp_stages, 2);
      EXPECT_EQ(b.discovers, 2U);
      ASSERT_TRUE(b.stage2_ack_ms);
      EXPECT_LE(*b.ack_ms, *b.stage2_ack_ms);
      EXPECT_LE(*b.stage2_ack_ms, *b.boot_ms);
    } else {
      EXPECT_EQ(b.dhcp_stages, 1);
      EXPECT_FALSE(b.stage2_ack_ms);
    }
    for (auto const& f : b.files) {
      SCOPED_TRACE(std::string{f.path()});
      auto p = root_ / std::string{f.path()};
      switch (f.result) {
        case tftp::pi_file_result::received:
          ASSERT_TRUE(std::filesystem::exists(p));
          EXPECT_EQ(f.bytes, std::filesystem::file_size(p));
          EXPECT_EQ(f.blksize, tftp::pi_blksize(b.plan.board));
          break;
        case tftp::pi_file_result::found:
          EXPECT_EQ(f.kind, tftp::pi_step_kind::probe);
          EXPECT_TRUE(std::filesystem::exists(p));
          break;
        case tftp::pi_file_result::not_found:
          EXPECT_FALSE(std::filesystem::exists(p));
          break;
        case tftp::pi_file_result::failed:
          ADD_FAILURE() << f.error.message();
          break;
      }
    }
    auto const& kernel = b.files.back();
    EXPECT_EQ(kernel.role, tftp::pi_file_role::kernel);
    EXPECT_EQ(kernel.result, tftp::pi_file_result::received);
  }
  // Board 0 found its serial folder and took its kernel from there; board 3 (a Pi 4 too) fell back.
  EXPECT_EQ(rep->boards[0].files.back().path(), "10000000/kernel8.img");
  EXPECT_EQ(rep->boards[0].files.back().bytes, 12345U);
  EXPECT_EQ(rep->boards[3].files.back().path(), "kernel8.img");
  EXPECT_EQ(rep->boards[2].files.back().path(), "kernel_2712.img");
}

TEST_F(NetFleetLoopback, MissingKernelFailsTheBoard) {
  std::filesystem::remove(root_ / "kernel_2712.img");
  std::filesystem::remove(root_ / "kernel8.img");
  test::loopback_servers s{root_};
  auto c = config(s);
  c.count = 1;
  c.generation = fleet_mix::pi5;
  c.serial_base = 0x20000000;
  auto rep = run_fleet(c);
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->summary.failed, 1U);
  EXPECT_EQ(rep->summary.booted, 0U);
  ASSERT_EQ(rep->boards.size(), 1U);
  auto const& b = rep->boards[0];
  EXPECT_FALSE(b.booted);
  EXPECT_FALSE(b.boot_ms);
  EXPECT_FALSE(b.error.empty());
  ASSERT_GE(b.files.size(), 3U);
  // The 16 K-page kernel, then its fallback: both missing.
  EXPECT_EQ(b.files[b.files.size() - 2].path(), "kernel_2712.img");
  EXPECT_EQ(b.files.back().path(), "kernel8.img");
  EXPECT_EQ(b.files.back().result, tftp::pi_file_result::not_found);
  // The prefix probe missed (no folder for this serial) and config.txt came from the root.
  EXPECT_EQ(b.files[0].path(), "20000000/config.txt");
  EXPECT_EQ(b.files[0].result, tftp::pi_file_result::not_found);
  EXPECT_EQ(b.files[1].path(), "config.txt");
  EXPECT_EQ(b.files[1].result, tftp::pi_file_result::received);
}

TEST_F(NetFleetLoopback, NoDhcpAnswerFailsWithinTheGiveUpTime) {
  asio::io_context io;
  asio::ip::udp::socket silent{io};
  ASSERT_FALSE(open_udp(silent, {.address = core::ipv4_address{127, 0, 0, 1}}));
  fleet_config c;
  c.local_address = core::ipv4_address{127, 0, 0, 1};
  c.dhcp_client_port = 0;
  c.dhcp_destination = core::ipv4_address{127, 0, 0, 1};
  c.dhcp_server_port = silent.local_endpoint().port();
  c.count = 2;
  c.dhcp_retry = 50ms;
  c.dhcp_give_up = 300ms;
  auto t0 = std::chrono::steady_clock::now();
  auto rep = run_fleet(c);
  ASSERT_TRUE(rep);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(rep->summary.failed, 2U);
  for (auto const& b : rep->boards) {
    EXPECT_EQ(b.dhcp_state, dhcp::pi_client_state::failed);
    EXPECT_GE(b.discovers, 3U);  // retransmitted every 50 ms
    EXPECT_TRUE(b.files.empty());
    EXPECT_NE(b.error.find("dhcp"), std::string::npos) << b.error;
  }
  EXPECT_GE(rep->summary.dhcp_retransmits, 4U);
}

TEST_F(NetFleetLoopback, RunTimeoutEndsStartedAndWaitingBoards) {
  asio::io_context io;
  asio::ip::udp::socket silent{io};
  ASSERT_FALSE(open_udp(silent, {.address = core::ipv4_address{127, 0, 0, 1}}));
  fleet_config c;
  c.local_address = core::ipv4_address{127, 0, 0, 1};
  c.dhcp_client_port = 0;
  c.dhcp_destination = core::ipv4_address{127, 0, 0, 1};
  c.dhcp_server_port = silent.local_endpoint().port();
  c.count = 3;
  c.concurrency = 1;  // boards 1 and 2 wait for board 0, which never gets an answer
  c.timeout = 300ms;
  auto t0 = std::chrono::steady_clock::now();
  auto rep = run_fleet(c);
  ASSERT_TRUE(rep);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(rep->summary.failed, 3U);
  ASSERT_EQ(rep->boards.size(), 3U);
  EXPECT_EQ(rep->boards[0].discovers, 1U);  // the Pi 4 retries only after 4 s
  EXPECT_NE(rep->boards[0].error.find("timeout"), std::string::npos) << rep->boards[0].error;
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(rep->boards[i].discovers, 0U);
    EXPECT_EQ(rep->boards[i].dhcp_state, dhcp::pi_client_state::idle);
    EXPECT_NE(rep->boards[i].error.find("not started"), std::string::npos) << rep->boards[i].error;
  }
}

TEST(NetFleet, SetupErrorsAreReported) {
  fleet_config c;
  c.interface = "pnb-no-such-if";
  auto rep = run_fleet(c);
  EXPECT_FALSE(rep);
}

}  // namespace
}  // namespace pinetboot::net
