#include "pinetboot/net/board_status.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pinetboot::net {
namespace {

using namespace std::chrono_literals;

core::mac_address mac(std::uint8_t a, std::uint8_t b = 0) {
  return core::mac_address{{0xdc, 0xa6, 0x32, 0, a, b}};
}

struct clock_sim {
  core::time_point t{std::chrono::hours(1000)};
  core::time_point step(std::chrono::milliseconds d = 100ms) { return t += d; }
};

void file(board_status& s, core::mac_address m, std::string_view name, file_outcome o, core::time_point now,
          std::string_view why = {}) {
  s.on_file(m, file_event{.file = name, .outcome = o, .why = why, .bytes = 1000, .retransmits = 1}, now);
}

/// The Pi 4 sequence of spec 4.3 up to (and including) `last`, all found.
void pi4_until(board_status& s, core::mac_address m, clock_sim& c, std::string_view last) {
  s.on_dhcp(m, dhcp_phase::eeprom, "pi4", {}, c.step());
  s.on_dhcp(m, dhcp_phase::eeprom, "pi4", core::ipv4_address{0x0a4d0064}, c.step());
  struct step {
    std::string_view f;
    file_outcome o;
  };
  for (auto [f, o] : {step{"start4.elf", file_outcome::ended_by_client},
                      step{"pieeprom.sig", file_outcome::not_found}, step{"config.txt", file_outcome::sent},
                      step{"recover4.elf", file_outcome::not_found}, step{"start4.elf", file_outcome::sent},
                      step{"fixup4.dat", file_outcome::sent}, step{"bcm2711-rpi-4-b.dtb", file_outcome::sent},
                      step{"cmdline.txt", file_outcome::sent}, step{"kernel8.img", file_outcome::sent}}) {
    file(s, m, f, o, c.step());
    if (f == last && o == file_outcome::sent) return;
  }
}

TEST(NetBoardStatus, RecordFitsInOneKibibyte) {
  EXPECT_LE(sizeof(board_record), 1024U);
  // Every text field is bounded whatever comes in.
  board_record r;
  std::string huge(10000, 'x');
  r.name = huge;
  r.at = huge;
  r.failure = huge;
  EXPECT_EQ(r.name.view().size(), decltype(r.name)::capacity);
  EXPECT_EQ(r.failure.view().size(), decltype(r.failure)::capacity);
  EXPECT_LE(decltype(r.name)::capacity + decltype(r.at)::capacity + decltype(r.failure)::capacity +
                decltype(r.model)::capacity + decltype(r.image)::capacity + decltype(r.serial)::capacity,
            512U);
}

TEST(NetBoardStatus, NormalBootGoesThroughEveryState) {
  board_status s;
  clock_sim c;
  auto m = mac(1);
  auto e = s.on_dhcp(m, dhcp_phase::eeprom, "pi4", {}, c.step());
  ASSERT_NE(e.board, nullptr);
  EXPECT_TRUE(e.new_boot);
  EXPECT_EQ(e.board->state, board_state::dhcp);
  EXPECT_FALSE(s.on_dhcp(m, dhcp_phase::eeprom, "pi4", {}, c.step()).new_boot);  // its REQUEST
  s.set_tree_generation(m, 6);
  file(s, m, "start4.elf", file_outcome::ended_by_client, c.step());
  EXPECT_EQ(s.find(m)->state, board_state::firmware);
  pi4_until(s, m, c, "kernel8.img");  // a second boot, complete
  auto const* r = s.find(m);
  EXPECT_EQ(r->state, board_state::kernel);
  EXPECT_EQ(r->boots, 2U);
  ASSERT_TRUE(r->to_kernel);
  EXPECT_EQ(*r->to_kernel, 1000ms);  // 10 steps of 100 ms after its first DISCOVER
  EXPECT_EQ(r->booted_generation, 6U);
  EXPECT_TRUE(r->booted_once);
  EXPECT_EQ(r->last_boot_duration, 1000ms);
  c.step(5s);
  s.on_dhcp(m, dhcp_phase::os, "", core::ipv4_address{0x0a4d0064}, c.t);
  EXPECT_EQ(r->state, board_state::up);
  ASSERT_TRUE(r->to_os);
  EXPECT_EQ(*r->to_os, 6000ms);
  EXPECT_EQ(r->files, 1U + 9U);
  EXPECT_EQ(r->bytes, 10U * 1000U);
  // Long after, nothing turns an up board stuck.
  EXPECT_EQ(s.on_timer(c.step(1h)), 0U);
  EXPECT_EQ(r->state, board_state::up);
}

TEST(NetBoardStatus, BoardThatNeverGetsPastStart4ElfBecomesStuckWithThatFileNamed) {
  board_status_config cfg;
  cfg.stuck_after = 30s;
  board_status s{cfg};
  clock_sim c;
  auto m = mac(2);
  pi4_until(s, m, c, "start4.elf");
  EXPECT_EQ(s.on_timer(c.step(29s)), 0U);
  EXPECT_EQ(s.find(m)->state, board_state::firmware);
  EXPECT_EQ(s.on_timer(c.step(2s)), 1U);
  EXPECT_EQ(s.find(m)->state, board_state::stuck);
  EXPECT_EQ(s.find(m)->at.view(), "start4.elf");
  auto json = render_status_json(s, c.t, 1'700'000'000'000);
  EXPECT_NE(json.find(R"("state":"stuck","detail":"no progress for 31 s after start4.elf")"),
            std::string::npos)
      << json;
  // Progress again (its watchdog rebooted it): a new boot.
  EXPECT_TRUE(s.on_dhcp(m, dhcp_phase::eeprom, "pi4", {}, c.step()).new_boot);
  EXPECT_EQ(s.find(m)->state, board_state::dhcp);
}

TEST(NetBoardStatus, MissingDeviceTreeFailsWithTheReason) {
  board_status s;
  clock_sim c;
  auto m = mac(3);
  s.on_dhcp(m, dhcp_phase::rom, "pi3", {}, c.step());
  file(s, m, "bootcode.bin", file_outcome::sent, c.step());
  file(s, m, "bootsig.bin", file_outcome::not_found, c.step());  // normally missing: no failure
  s.on_dhcp(m, dhcp_phase::bootcode, "pi3", {}, c.step());       // same boot
  EXPECT_EQ(s.find(m)->boots, 1U);
  EXPECT_EQ(s.find(m)->state, board_state::firmware);
  file(s, m, "overlays/overlay_map.dtb", file_outcome::not_found, c.step());  // optional
  EXPECT_EQ(s.find(m)->state, board_state::firmware);
  file(s, m, "10000001/bcm2710-rpi-3-b.dtb", file_outcome::not_found, c.step());
  auto const* r = s.find(m);
  EXPECT_EQ(r->state, board_state::failed);
  EXPECT_EQ(r->failure.view(), "asked for 10000001/bcm2710-rpi-3-b.dtb: not in its boot tree");
  // The firmware goes on to the kernel without its device tree: still failed.
  file(s, m, "10000001/kernel8.img", file_outcome::sent, c.step());
  EXPECT_EQ(r->state, board_state::failed);
  EXPECT_EQ(s.on_timer(c.step(1h)), 0U);  // failed is not stuck
  auto json = render_status_json(s, c.t, 1'700'000'000'000);
  EXPECT_NE(
      json.find(
          R"("state":"failed","detail":"asked for 10000001/bcm2710-rpi-3-b.dtb: not in its boot tree")"),
      std::string::npos)
      << json;
}

TEST(NetBoardStatus, FailedTransferRetriedSuccessfullyResumes) {
  board_status s;
  clock_sim c;
  auto m = mac(4);
  s.on_dhcp(m, dhcp_phase::eeprom, "pi4", {}, c.step());
  file(s, m, "start4.elf", file_outcome::failed, c.step(), "retransmissions exhausted");
  EXPECT_EQ(s.find(m)->state, board_state::failed);
  EXPECT_EQ(s.find(m)->failure.view(), "start4.elf: retransmissions exhausted");
  file(s, m, "start4.elf", file_outcome::sent, c.step());
  EXPECT_EQ(s.find(m)->state, board_state::firmware);
  EXPECT_EQ(s.find(m)->failure.view(), "start4.elf: retransmissions exhausted");  // the last failure stays
  EXPECT_EQ(s.find(m)->files_failed, 1U);
}

TEST(NetBoardStatus, UnprovisionedFloodDoesNotEvictProvisionedBoards) {
  board_status_config cfg;
  cfg.max_unknown = 8;
  board_status s{cfg};
  std::vector<board_identity> reg{
      {.mac = mac(10), .name = "pi-a", .serial = "10000000", .image = "os", .generation = 7},
      {.mac = mac(11), .name = "pi-b"}};
  s.set_provisioned(reg);
  clock_sim c;
  for (unsigned i = 0; i < 1000; ++i)
    s.on_dhcp(
        core::mac_address{{0x02, 0, 0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}},
        dhcp_phase::rom, "x86_bios", {}, c.step(1ms));
  EXPECT_EQ(s.records().size(), 2U + 8U);
  EXPECT_EQ(s.provisioned_count(), 2U);
  EXPECT_EQ(s.evicted(), 1000U - 8U);
  ASSERT_NE(s.find(mac(10)), nullptr);
  EXPECT_EQ(s.find(mac(10))->name.view(), "pi-a");
  ASSERT_NE(s.find(mac(11)), nullptr);
  // The newest unknown ones are kept, the oldest went.
  EXPECT_NE(s.find(core::mac_address{{0x02, 0, 0, 0, 3, 0xe7}}), nullptr);
  EXPECT_EQ(s.find(core::mac_address{{0x02, 0, 0, 0, 0, 0}}), nullptr);
  // A provisioned board still boots and is tracked.
  pi4_until(s, mac(10), c, "kernel8.img");
  EXPECT_EQ(s.find(mac(10))->state, board_state::kernel);
}

TEST(NetBoardStatus, OsDhcpOfStrangersIsNotTracked) {
  board_status s;
  clock_sim c;
  EXPECT_EQ(s.on_dhcp(mac(20), dhcp_phase::os, "", {}, c.step()).board, nullptr);
  EXPECT_TRUE(s.records().empty());
}

TEST(NetBoardStatus, StaleGenerationAfterUpgrade) {
  board_status s;
  std::vector<board_identity> reg{{.mac = mac(30), .name = "pi-a", .image = "os", .generation = 6}};
  s.set_provisioned(reg);
  clock_sim c;
  s.on_dhcp(mac(30), dhcp_phase::eeprom, "pi4", {}, c.step());
  s.set_tree_generation(mac(30), 6);
  pi4_until(s, mac(30), c, "kernel8.img");
  EXPECT_FALSE(s.find(mac(30))->stale());
  // Upgrade: the registry now assigns 7; the board keeps its history and is stale until it reboots.
  reg[0].generation = 7;
  s.set_provisioned(reg);
  auto const* r = s.find(mac(30));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->booted_generation, 6U);
  EXPECT_TRUE(r->stale());
  auto json = render_status_json(s, c.t, 0);
  EXPECT_NE(json.find(R"("stale":true,"stale_reason":"stale: reboot to run generation 7")"),
            std::string::npos)
      << json;
  // It reboots into its new tree.
  s.on_dhcp(mac(30), dhcp_phase::eeprom, "pi4", {}, c.step(1min));
  s.set_tree_generation(mac(30), 7);
  pi4_until(s, mac(30), c, "kernel8.img");
  EXPECT_FALSE(s.find(mac(30))->stale());
  EXPECT_EQ(s.find(mac(30))->booted_generation, 7U);
}

TEST(NetBoardStatus, ReloadKeepsRecordsOfRemovedBoardsAsUnknown) {
  board_status s;
  std::vector<board_identity> reg{{.mac = mac(40), .name = "pi-a"}, {.mac = mac(41), .name = "pi-b"}};
  s.set_provisioned(reg);
  clock_sim c;
  s.on_dhcp(mac(41), dhcp_phase::eeprom, "pi4", {}, c.step());
  reg.pop_back();
  s.set_provisioned(reg);
  EXPECT_EQ(s.provisioned_count(), 1U);
  ASSERT_NE(s.find(mac(41)), nullptr);
  EXPECT_FALSE(s.find(mac(41))->provisioned);
  EXPECT_TRUE(s.find(mac(41))->name.empty());
}

TEST(NetBoardStatus, JsonEscapesWhatComesFromTheNetwork) {
  board_status s;
  clock_sim c;
  s.on_dhcp(mac(50), dhcp_phase::eeprom, "pi4", {}, c.step());
  file(s, mac(50), "a\"b\\c\n\x01\xff.dtb", file_outcome::not_found, c.step());
  auto json = render_status_json(s, c.t, 0);
  EXPECT_NE(json.find(R"(asked for a\"b\\c\u000a\u0001\u00ff.dtb)"), std::string::npos) << json;
  EXPECT_NE(
      json.find(R"("by_state":{"dhcp":0,"firmware":0,"kernel":0,"up":0,"stuck":0,"failed":1,"unseen":0})"),
      std::string::npos)
      << json;
}

}  // namespace
}  // namespace pinetboot::net
