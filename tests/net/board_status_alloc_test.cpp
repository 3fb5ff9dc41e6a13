// The per-board view's cost (issue 17): with 1000 boards booting, the records take at most
// 1 KiB per board, all of it reserved when the view is made, and the events of a boot (DHCP
// passes, a dozen files each) allocate nothing.
#include <gtest/gtest.h>
#include <malloc.h>

#include <memory>

#include "pinetboot/core/time.hpp"
#include "pinetboot/net/board_status.hpp"
#include "support/alloc_counter.hpp"

namespace pinetboot::net {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBoards = 1000;

core::mac_address mac_of(std::size_t i) {
  return core::mac_address{{0xdc, 0xa6, 0x32, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}};
}

void boot(board_status& s, core::mac_address m, core::time_point& t) {
  s.on_dhcp(m, dhcp_phase::eeprom, "pi4", {}, t += 10ms);
  s.on_dhcp(m, dhcp_phase::eeprom, "pi4", core::ipv4_address{0x0a4d0064}, t += 10ms);
  for (std::string_view f : {"start4.elf", "config.txt", "start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb",
                             "overlays/overlay_map.dtb", "cmdline.txt", "kernel8.img"})
    s.on_file(m, file_event{.file = f, .outcome = file_outcome::sent, .why = {}, .bytes = 4096, .retransmits = 0},
              t += 10ms);
  s.on_file(m, file_event{.file = "recover4.elf", .outcome = file_outcome::not_found, .why = {}, .bytes = 0,
                          .retransmits = 0},
            t += 10ms);
  s.on_dhcp(m, dhcp_phase::os, "pi4", core::ipv4_address{0x0a4d0064}, t += 10ms);
}

TEST(NetBoardStatusAlloc, AThousandBoardsCostAtMostOneKibibyteEachAndBootsAllocateNothing) {
  auto before = ::mallinfo2().uordblks;
  auto s = std::make_unique<board_status>(board_status_config{.max_unknown = kBoards});
  auto made = ::mallinfo2().uordblks - before;
  core::time_point t{std::chrono::hours(1000)};
  pinetboot::test::allocation_scope scope;
  for (std::size_t i = 0; i < kBoards; ++i) boot(*s, mac_of(i), t);
  EXPECT_EQ(scope.count(), 0U) << "allocations while 1000 boards booted";
  auto total = ::mallinfo2().uordblks - before;
  std::printf("board_status: %zu bytes for %zu boards (%zu per board; %zu at construction)\n", total, kBoards,
              total / kBoards, made);
  EXPECT_LE(total, kBoards * 1024) << total / kBoards << " bytes per board";
  ASSERT_EQ(s->records().size(), kBoards);
  for (auto const& r : s->records()) EXPECT_EQ(r.state, board_state::up) << r.mac.to_string();
}

}  // namespace
}  // namespace pinetboot::net
