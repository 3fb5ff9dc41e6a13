// DHCP codec throughput on a captured-style Raspberry Pi 4 DISCOVER (tests/data/dhcp):
// parse + walk every option, parse + classify, and build the proxyDHCP OFFER a Pi needs.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

#include "pinetboot/dhcp.hpp"
#include "support/hex.hpp"

namespace {

using namespace pinetboot;
using namespace pinetboot::dhcp;

std::vector<std::byte> const& rpi4_discover() {
  static auto const bytes = test::load_hex("dhcp/rpi4-discover.hex");
  return bytes;
}

void BM_ParseAndIterate(benchmark::State& state) {
  auto const& in = rpi4_discover();
  for (auto _ : state) {
    auto m = message_view::parse(in);
    std::size_t total = 0;
    if (m)
      for (option_view o : m->options()) total += o.data.size() + static_cast<std::size_t>(o.code);
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_ParseAndIterate);

// Every fixture (real clients and Pi vectors) in a shuffled order, so branch prediction cannot
// learn one packet.
void BM_ParseMixedFixtures(benchmark::State& state) {
  std::vector<std::vector<std::byte>> inputs;
  for (char const* f : {"dhcp/dhclient-discover.hex", "dhcp/dhclient-request.hex", "dhcp/udhcpc-discover.hex",
                        "dhcp/udhcpc-request.hex", "dhcp/dhcpcd-discover.hex", "dhcp/dhcpcd-request.hex",
                        "dhcp/rpi3b-rom-discover.hex", "dhcp/rpi3bplus-bootcode-discover.hex",
                        "dhcp/rpi4-discover.hex", "dhcp/dnsmasq-proxy-offer.hex"})
    inputs.push_back(test::load_hex(f));
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < 64; ++i) order.push_back(i % inputs.size());
  std::shuffle(order.begin(), order.end(), std::mt19937{42});
  std::size_t bytes = 0, i = 0;
  for (auto _ : state) {
    auto const& in = inputs[order[i++ % order.size()]];
    auto m = message_view::parse(in);
    std::size_t total = 0;
    if (m)
      for (option_view o : m->options()) total += o.data.size();
    benchmark::DoNotOptimize(total);
    bytes += in.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_ParseMixedFixtures);

void BM_ParseAndClassify(benchmark::State& state) {
  auto const& in = rpi4_discover();
  for (auto _ : state) {
    auto m = message_view::parse(in);
    auto c = m ? classify(*m) : classification{};
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_ParseAndClassify);

void BM_BuildProxyOffer(benchmark::State& state) {
  auto const& in = rpi4_discover();
  auto request = *message_view::parse(in);
  auto guid = *request.find(option::client_guid);
  std::array<std::byte, 576> out{};
  std::array<std::byte, 64> menu{};
  std::size_t written = 0;
  for (auto _ : state) {
    auto menu_len = write_pi_boot_menu(menu);
    auto b = start_reply(out, request, message_type::offer);
    b.broadcast(true)
        .add_ip(option::server_id, core::ipv4_address(192, 168, 1, 3))
        .add_string(option::vendor_class, "PXEClient")
        .add(guid)
        .add_raw(option::vendor_specific, std::span{menu}.first(menu_len.value_or(0)));
    auto n = b.finish();
    written += n.value_or(0);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(written));
}
BENCHMARK(BM_BuildProxyOffer);

}  // namespace
