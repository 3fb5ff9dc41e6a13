// The fleet simulator allocates per board and per file, never per datagram: booting a board
// whose kernel is 64 times longer (thousands more DATA/ACK packets, both directions, simulator
// and server in this process) must not allocate measurably more.
#include <gtest/gtest.h>

#include <cstdio>

#include "net/fleet_loopback.hpp"
#include "pinetboot/sim/fleet.hpp"
#include "support/alloc_counter.hpp"

namespace pinetboot::net {
namespace {

std::size_t allocations_for_kernel(std::size_t kernel_size, std::uint64_t& bytes) {
  auto root =
      std::filesystem::temp_directory_path() / ("pinetboot-fleet-alloc-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  for (auto const* f : {"start4.elf", "fixup4.dat", "config.txt", "bcm2711-rpi-4-b.dtb", "cmdline.txt"})
    test::write_file(root / f, 4000);
  test::write_file(root / "kernel8.img", kernel_size);
  std::size_t count = 0;
  {
    test::loopback_servers s{root};
    auto c = test::loopback_config(s);
    c.count = 1;
    c.generation = fleet_mix::pi4;
    pinetboot::test::allocation_scope scope;
    auto rep = run_fleet(c);
    count = scope.count();
    EXPECT_TRUE(rep);
    if (rep) {
      EXPECT_EQ(rep->summary.booted, 1U) << to_text(*rep, true);
      bytes = rep->summary.bytes;
    }
  }
  std::filesystem::remove_all(root);
  return count;
}

TEST(NetFleetAlloc, NoAllocationPerDatagram) {
  std::uint64_t small_bytes = 0, big_bytes = 0;
  auto small = allocations_for_kernel(64 * 1024, small_bytes);
  auto big = allocations_for_kernel(4 * 1024 * 1024, big_bytes);
  std::printf("allocations: %zu for %llu bytes, %zu for %llu bytes\n", small,
              static_cast<unsigned long long>(small_bytes), big, static_cast<unsigned long long>(big_bytes));
  ASSERT_GT(big_bytes, small_bytes + 4'000'000);  // about 4000 more blocks of 1024 bytes
  // The runs differ only in the number of packets; allow a little slack for timer/handler churn.
  EXPECT_LE(big, small + 64) << "small kernel: " << small << " allocations, big kernel: " << big;
}

}  // namespace
}  // namespace pinetboot::net
