// Feeds arbitrary datagrams to the DHCP policy engine in both modes and on both ports:
// no crash, no reply larger than the buffer, every reply parses as a BOOTREPLY, and nothing
// ever answers a message that is not a BOOTREQUEST; the full pool's usage always adds up.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "pinetboot/dhcp/engine.hpp"

namespace {
using namespace pinetboot;

dhcp::engine_config make_config(dhcp::server_mode mode) {
  dhcp::engine_config c;
  c.mode = mode;
  c.server_address = core::ipv4_address{10, 0, 0, 1};
  dhcp::subnet_config net;
  net.network = core::ipv4_address{10, 0, 0, 0};
  net.prefix_length = 24;
  net.range_start = core::ipv4_address{10, 0, 0, 100};
  net.range_end = core::ipv4_address{10, 0, 0, 110};
  net.routers = {core::ipv4_address{10, 0, 0, 1}};
  c.subnets.push_back(net);
  dhcp::host_config h;
  h.mac = core::mac_address{{0xdc, 0xa6, 0x32, 1, 2, 3}};
  h.address = core::ipv4_address{10, 0, 0, 105};
  h.hostname = "pi";
  c.hosts.push_back(h);
  return c;
}

struct engines {
  dhcp::lease_store store = std::move(*dhcp::lease_store::open({}));
  dhcp::server_engine proxy{make_config(dhcp::server_mode::proxy), store};
  dhcp::server_engine full{make_config(dhcp::server_mode::full), store};
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static engines e;  // state carries over between inputs, as in a long-running server
  std::span<const std::byte> in{reinterpret_cast<std::byte const*>(data), size};
  auto request = dhcp::message_view::parse(in);
  bool is_request = request && request->op() == dhcp::bootp_op::request;
  std::array<std::byte, 1024> out{};
  std::int64_t now = 1'000'000 + static_cast<std::int64_t>(size);
  for (auto* engine : {&e.proxy, &e.full}) {
    for (std::uint16_t port : {std::uint16_t{67}, std::uint16_t{4011}}) {
      for (std::size_t cap : {out.size(), std::size_t{300}, std::size_t{64}}) {
        dhcp::packet_context ctx{.local_address = core::ipv4_address{10, 0, 0, 1},
                                 .source = core::ipv4_address{10, 0, 0, 50},
                                 .local_port = port,
                                 .now = now};
        auto r = engine->handle(in, ctx, std::span{out}.first(cap));
        if (r.size > cap) std::abort();
        if (r.size == 0) continue;
        if (!is_request) std::abort();
        auto reply = dhcp::message_view::parse(std::span{out}.first(r.size));
        if (!reply || reply->op() != dhcp::bootp_op::reply || reply->xid() != request->xid()) std::abort();
      }
    }
  }
  if (e.store.size() > 100000) std::abort();
  // Whatever the exchanges did to the leases, the pool's counts add up to its size (11).
  for (std::int64_t t : {now, now + 60, now + 100000}) {
    auto u = e.full.usage(0, t);
    if (u.size != 11 || u.leased + u.offered + u.declined + u.released + u.reserved + u.free != u.size) std::abort();
  }
  return 0;
}
