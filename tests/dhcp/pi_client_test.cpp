#include "pinetboot/sim/pi_client.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pinetboot/core/time.hpp"
#include "pinetboot/dhcp/builder.hpp"
#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/dhcp/options.hpp"
#include "support/hex.hpp"

namespace pinetboot::dhcp {
namespace {

using core::ipv4_address;
using core::mac_address;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test::load_hex;

constexpr ipv4_address kServer{10, 0, 0, 1};  // us (proxy or full)
constexpr ipv4_address kRouter{10, 0, 0, 254};
const core::time_point kT0 = core::time_point{} + std::chrono::hours{1};

mac_address mac(std::array<std::uint8_t, 6> b) { return mac_address{b}; }

std::vector<std::byte> discover_of(pi_client const& c) {
  std::vector<std::byte> out(1500);
  auto n = c.write_discover(out);
  EXPECT_TRUE(n) << n.error().message();
  out.resize(n ? *n : 0);
  return out;
}

std::vector<option> option_order(message_view const& m) {
  std::vector<option> v;
  for (auto o : m.options()) v.push_back(o.code);
  return v;
}

// ---- DISCOVER bytes -------------------------------------------------------------------------

TEST(PiClientDiscover, Pi3RomMatchesPublishedFrameByteForByte) {
  pi_client c{{.generation = pi_generation::pi3_rom, .mac = mac({0xb8, 0x27, 0xeb, 0x9d, 0xc1, 0x5a})}};
  EXPECT_EQ(c.xid(), 0x26f30339U);
  EXPECT_EQ(discover_of(c), load_hex("dhcp/rpi3b-rom-discover.hex"));
}

TEST(PiClientDiscover, Pi3BootcodeMatchesReconstructedVectorByteForByte) {
  pi_client c{{.generation = pi_generation::pi3_bootcode,
               .mac = mac({0xb8, 0x27, 0xeb, 0x64, 0x24, 0x7d}),
               .serial = 0x5564247d}};
  EXPECT_EQ(discover_of(c), load_hex("dhcp/rpi3bplus-bootcode-discover.hex"));
}

TEST(PiClientDiscover, Pi4LegacyGuidMatchesReconstructedVectorByteForByte) {
  pi_client c{{.generation = pi_generation::pi4,
               .mac = mac({0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03}),
               .serial = 0x6aee7243,
               .guid = pi_guid_layout::serial_repeated,
               .xid = 0xd383a6ac}};
  EXPECT_EQ(discover_of(c), load_hex("dhcp/rpi4-discover.hex"));
}

struct fourcc_case {
  pi_generation gen;
  bool reversed;
  std::array<std::uint8_t, 4> wire;
};

class PiClientFourcc : public ::testing::TestWithParam<fourcc_case> {};

TEST_P(PiClientFourcc, GuidLayoutDecodesAndClassifies) {
  auto p = GetParam();
  auto m = mac({0xe4, 0x5f, 0x01, 0x94, 0x25, 0x0e});
  pi_client c{{.generation = p.gen,
               .mac = m,
               .serial = 0x1234abcd,
               .revision = 0x00c03140,
               .fourcc_reversed = p.reversed,
               .xid = 7}};
  auto g = c.guid();
  EXPECT_EQ(g[0], std::byte{0});
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(std::to_integer<int>(g[1 + i]), p.wire[i]) << i;
  // Revision little-endian, MAC low 4 bytes in MAC order, serial little-endian (spec 3.8).
  std::array<std::uint8_t, 12> rest{0x40, 0x31, 0xc0, 0x00, 0x01, 0x94, 0x25, 0x0e, 0xcd, 0xab, 0x34, 0x12};
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(std::to_integer<int>(g[5 + i]), rest[i]) << i;

  auto d = discover_of(c);
  EXPECT_EQ(d.size(), 322U);  // BOOTP length of an EEPROM DISCOVER (spec 3.2)
  auto msg = message_view::parse(d);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->xid(), 7U);
  EXPECT_EQ(msg->flags(), 0);
  auto cls = classify(*msg);
  EXPECT_EQ(cls.kind, client_class::raspberry_pi);
  EXPECT_EQ(cls.pi, p.gen);
  ASSERT_TRUE(cls.guid);
  EXPECT_EQ(cls.guid->form, pi_guid_form::fourcc);
  EXPECT_EQ(cls.guid->reversed, p.reversed);
  EXPECT_EQ(cls.guid->revision, 0x00c03140U);
  EXPECT_EQ(cls.guid->serial, core::pi_serial{0x1234abcdU});
  EXPECT_EQ((std::vector<option>{option::message_type, option::parameter_list, option::client_arch,
                                 option::client_ndi, option::client_guid, option::vendor_class}),
            option_order(*msg));
}

INSTANTIATE_TEST_SUITE_P(All, PiClientFourcc,
                         ::testing::Values(fourcc_case{pi_generation::pi4, false, {0x52, 0x50, 0x69, 0x34}},
                                           fourcc_case{pi_generation::pi4, true, {0x34, 0x69, 0x50, 0x52}},
                                           fourcc_case{pi_generation::pi5, false, {0x52, 0x50, 0x69, 0x35}},
                                           fourcc_case{pi_generation::pi5, true, {0x35, 0x69, 0x50, 0x52}}));

TEST(PiClientDiscover, Pi4XidIsRandomPerBoardButPi3IsConstant) {
  pi_client a{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 0, 0, 1}), .seed = 1}};
  pi_client b{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 0, 0, 2}), .seed = 1}};
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 0, 0, 1}), .seed = 2}};
  EXPECT_NE(a.xid(), b.xid());
  EXPECT_NE(a.xid(), c.xid());
  pi_client p3{
      {.generation = pi_generation::pi3_bootcode, .mac = mac({0xb8, 0x27, 0xeb, 0, 0, 1}), .xid = 5}};
  EXPECT_EQ(p3.xid(), pi3_xid);
}

TEST(PiClientDiscover, SmallBufferFailsCleanlyAndSendsNothing) {
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 0, 0, 1})}};
  std::array<std::byte, 100> small{};
  auto n = c.poll_transmit(small, kT0);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), make_error_code(errc::buffer_too_small));
  EXPECT_EQ(c.discovers_sent(), 0U);
  std::array<std::byte, 576> ok{};
  auto m = c.poll_transmit(ok, kT0);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, 322U);
}

// ---- against server_engine ------------------------------------------------------------------

engine_config full_config() {
  engine_config c;
  c.mode = server_mode::full;
  c.server_address = kServer;
  subnet_config net;
  net.network = ipv4_address{10, 0, 0, 0};
  net.prefix_length = 24;
  net.range_start = ipv4_address{10, 0, 0, 100};
  net.range_end = ipv4_address{10, 0, 0, 199};
  net.routers = {kRouter};
  net.lease_time = 3600;
  c.subnets.push_back(net);
  return c;
}

engine_config proxy_config() {
  engine_config c;
  c.mode = server_mode::proxy;
  c.server_address = kServer;
  return c;
}

/// A board and our server joined by a lossless, instant link; `extra` is a second server
/// (the site's router) answering by hand.
struct harness {
  explicit harness(engine_config cfg)
      : store{std::move(*lease_store::open({}))}, engine{std::move(cfg), store} {}

  /// Runs the client until it is done or `limit` has passed; returns the end time.
  core::time_point run(pi_client& c, seconds limit = seconds{60}) {
    core::time_point now = kT0;
    std::array<std::byte, 1500> tx{}, rx{};
    while (!c.is_done() && now - kT0 <= limit) {
      for (;;) {
        auto n = c.poll_transmit(tx, now);
        EXPECT_TRUE(n);
        if (!n || *n == 0) break;
        std::span<const std::byte> sent{tx.data(), *n};
        sent_types.push_back(*opt::message_type(*message_view::parse(sent)));
        if (before_server) before_server(c, sent, now);
        packet_context ctx{.local_address = kServer, .now = 1'000'000 + (now - kT0) / seconds{1}};
        auto r = engine.handle(sent, ctx, rx);
        outcomes.emplace_back(r.outcome);
        if (r.size > 0) c.on_datagram(std::span{rx}.first(r.size), now);
        if (after_server) after_server(c, sent, now);
      }
      auto d = c.next_deadline();
      if (!d) break;
      now = std::max(now, *d);
      c.on_timer(now);
    }
    return now;
  }

  lease_store store;
  server_engine engine;
  std::vector<message_type> sent_types;
  std::vector<std::string> outcomes;
  std::function<void(pi_client&, std::span<const std::byte>, core::time_point)> before_server, after_server;
};

struct model_case {
  pi_generation gen;
  pi_guid_layout guid;
  bool reversed;
  mac_address mac;
};

class PiClientFull : public ::testing::TestWithParam<model_case> {};

TEST_P(PiClientFull, EachGenerationGetsAnAddressAndUsAsTftpServer) {
  auto p = GetParam();
  harness h{full_config()};
  pi_client c{{.generation = p.gen,
               .mac = p.mac,
               .serial = 0x00c0ffee,
               .guid = p.guid,
               .fourcc_reversed = p.reversed}};
  auto end = h.run(c);
  ASSERT_EQ(c.state(), pi_client_state::bound) << to_string(c.state());
  EXPECT_EQ(end, kT0);  // no retry needed
  auto const& o = c.outcome();
  EXPECT_GE(o.address, (ipv4_address{10, 0, 0, 100}));
  EXPECT_LE(o.address, (ipv4_address{10, 0, 0, 199}));
  EXPECT_EQ(o.tftp_server, kServer);
  EXPECT_EQ(o.address_server, kServer);
  EXPECT_EQ(o.subnet_mask, (ipv4_address{255, 255, 255, 0}));
  EXPECT_EQ(o.router, kRouter);
  ASSERT_EQ(c.offers().size(), 1U);
  EXPECT_TRUE(c.offers()[0].pi_menu);
  bool pi3 = p.gen == pi_generation::pi3_rom || p.gen == pi_generation::pi3_bootcode;
  if (pi3) {
    // Bound from the OFFER alone: one DISCOVER, no REQUEST, and the server stored the lease.
    EXPECT_EQ(h.sent_types, std::vector<message_type>{message_type::discover});
  } else {
    EXPECT_EQ(h.sent_types, (std::vector<message_type>{message_type::discover, message_type::request}));
    EXPECT_EQ(h.outcomes.back(), "ack");
  }
  auto const* l = h.store.find_by_ip(o.address);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, lease_state::bound);
  EXPECT_EQ(l->mac, p.mac);
}

INSTANTIATE_TEST_SUITE_P(All, PiClientFull,
                         ::testing::Values(model_case{pi_generation::pi3_rom, pi_guid_layout::fourcc, false,
                                                      mac_address{{0xb8, 0x27, 0xeb, 1, 2, 3}}},
                                           model_case{pi_generation::pi3_bootcode, pi_guid_layout::fourcc,
                                                      false, mac_address{{0xb8, 0x27, 0xeb, 1, 2, 4}}},
                                           model_case{pi_generation::pi4, pi_guid_layout::fourcc, false,
                                                      mac_address{{0xdc, 0xa6, 0x32, 1, 2, 5}}},
                                           model_case{pi_generation::pi4, pi_guid_layout::fourcc, true,
                                                      mac_address{{0xdc, 0xa6, 0x32, 1, 2, 6}}},
                                           model_case{pi_generation::pi4, pi_guid_layout::serial_repeated,
                                                      false, mac_address{{0xdc, 0xa6, 0x32, 1, 2, 7}}},
                                           model_case{pi_generation::pi5, pi_guid_layout::fourcc, false,
                                                      mac_address{{0x2c, 0xcf, 0x67, 1, 2, 8}}},
                                           model_case{pi_generation::pi5, pi_guid_layout::fourcc, true,
                                                      mac_address{{0x2c, 0xcf, 0x67, 1, 2, 9}}}));

TEST(PiClientFull, Pi4RequestHasNoOption60ButKeepsBootOptionsInAck) {
  harness h{full_config()};
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 9, 9, 9}), .serial = 42}};
  std::vector<std::byte> request;
  h.before_server = [&](pi_client&, std::span<const std::byte> sent, core::time_point) {
    auto m = message_view::parse(sent);
    if (*opt::message_type(*m) == message_type::request) request.assign(sent.begin(), sent.end());
  };
  h.run(c);
  ASSERT_EQ(c.state(), pi_client_state::bound);
  auto m = message_view::parse(request);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->find(option::vendor_class));
  EXPECT_EQ(opt::requested_address(*m).value_or(ipv4_address{}), c.outcome().address);
  EXPECT_EQ(opt::server_id(*m).value_or(ipv4_address{}), kServer);
  EXPECT_EQ(m->xid(), c.xid());
  EXPECT_TRUE(m->ciaddr().is_unspecified());
  auto g = c.guid();
  auto o97 = m->find(option::client_guid);
  ASSERT_TRUE(o97);
  EXPECT_TRUE(std::equal(g.begin(), g.end(), o97->data.begin(), o97->data.end()));
}

/// The site's router: a plain OFFER/ACK for `request`, no boot options.
std::vector<std::byte> router_reply(std::span<const std::byte> request, message_type type,
                                    ipv4_address yiaddr) {
  auto req = *message_view::parse(request);
  std::vector<std::byte> out(576);
  auto b = start_reply(out, req, type);
  b.yiaddr(yiaddr).siaddr(kRouter);
  b.add_ip(option::server_id, kRouter);
  b.add_u32(option::lease_time, 86400);
  b.add_ip(option::subnet_mask, ipv4_address{255, 255, 255, 0});
  b.add_ip(option::router, kRouter);
  auto n = b.finish();
  EXPECT_TRUE(n);
  out.resize(*n);
  return out;
}

constexpr ipv4_address kRouterGives{10, 0, 0, 17};

class PiClientProxy : public ::testing::TestWithParam<bool> {};

// Spec 3.2 / 12.7: the EEPROM takes the menu and TFTP server from the proxy's OFFER and the
// address from the router's, then REQUESTs from the router; our proxy stays silent on it.
TEST_P(PiClientProxy, Pi4MergesRouterOfferWithOurProxyOffer) {
  bool router_first = GetParam();
  harness h{proxy_config()};
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 4, 4, 4}), .serial = 1}};
  int router_acks = 0;
  auto router = [&](pi_client& cl, std::span<const std::byte> sent, core::time_point now) {
    auto t = *opt::message_type(*message_view::parse(sent));
    if (t == message_type::discover) {
      cl.on_datagram(router_reply(sent, message_type::offer, kRouterGives), now);
    } else if (t == message_type::request) {
      auto m = *message_view::parse(sent);
      EXPECT_EQ(opt::server_id(m).value_or(ipv4_address{}), kRouter);
      EXPECT_EQ(opt::requested_address(m).value_or(ipv4_address{}), kRouterGives);
      ++router_acks;
      cl.on_datagram(router_reply(sent, message_type::ack, kRouterGives), now);
    }
  };
  (router_first ? h.before_server : h.after_server) = router;
  h.run(c);
  ASSERT_EQ(c.state(), pi_client_state::bound);
  EXPECT_EQ(c.outcome().address, kRouterGives);
  EXPECT_EQ(c.outcome().address_server, kRouter);
  EXPECT_EQ(c.outcome().tftp_server, kServer);
  EXPECT_EQ(c.outcome().router, kRouter);
  EXPECT_EQ(router_acks, 1);
  ASSERT_EQ(c.offers().size(), 2U);
  auto const& proxy_offer = c.offers()[router_first ? 1 : 0];
  EXPECT_TRUE(proxy_offer.pi_menu);
  EXPECT_TRUE(proxy_offer.yiaddr.is_unspecified());
  EXPECT_EQ(proxy_offer.server_id, kServer);
  EXPECT_FALSE(c.offers()[router_first ? 0 : 1].pi_menu);
  // Our proxy answered the DISCOVER and ignored the REQUEST meant for the router.
  ASSERT_EQ(h.outcomes.size(), 2U);
  EXPECT_EQ(h.outcomes[0], "proxy offer");
  EXPECT_NE(h.outcomes[1].find("ignored"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(RouterFirstOrSecond, PiClientProxy, ::testing::Bool());

TEST(PiClientProxy, Pi3RomUsesRouterAddressAndProxyAsTftpServerWithoutRequest) {
  harness h{proxy_config()};
  pi_client c{{.generation = pi_generation::pi3_rom, .mac = mac({0xb8, 0x27, 0xeb, 3, 3, 3})}};
  h.before_server = [&](pi_client& cl, std::span<const std::byte> sent, core::time_point now) {
    cl.on_datagram(router_reply(sent, message_type::offer, kRouterGives), now);
  };
  h.run(c);
  ASSERT_EQ(c.state(), pi_client_state::bound);
  EXPECT_EQ(c.outcome().address, kRouterGives);
  EXPECT_EQ(c.outcome().tftp_server, kServer);
  EXPECT_EQ(c.requests_sent(), 0U);
}

TEST(PiClientProxy, ProxyAloneNeverBindsAndTheBoardGivesUp) {
  harness h{proxy_config()};
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 5, 5, 5})}};
  auto end = h.run(c);
  EXPECT_EQ(c.state(), pi_client_state::failed);
  EXPECT_EQ(end - kT0, seconds{45});
  EXPECT_EQ(c.requests_sent(), 0U);
  EXPECT_GT(c.offers_seen(), 1U);
}

// ---- timing -------------------------------------------------------------------------------

std::vector<milliseconds> send_times_without_server(pi_client& c, core::time_point& end) {
  std::vector<milliseconds> at;
  std::array<std::byte, 1500> tx{};
  core::time_point now = kT0;
  for (int guard = 0; guard < 1000 && !c.is_done(); ++guard) {
    auto n = c.poll_transmit(tx, now);
    if (n && *n > 0) at.push_back(std::chrono::duration_cast<milliseconds>(now - kT0));
    auto d = c.next_deadline();
    if (!d) break;
    EXPECT_GE(*d, now);
    now = *d;
    c.on_timer(now);
  }
  end = now;
  return at;
}

TEST(PiClientTiming, Pi3RomSendsFiveDiscoversFiveSecondsApartThenGivesUp) {
  pi_client c{{.generation = pi_generation::pi3_rom, .mac = mac({0xb8, 0x27, 0xeb, 1, 1, 1})}};
  core::time_point end;
  auto at = send_times_without_server(c, end);
  EXPECT_EQ(at, (std::vector<milliseconds>{milliseconds{0}, milliseconds{5000}, milliseconds{10000},
                                           milliseconds{15000}, milliseconds{20000}}));
  EXPECT_EQ(c.state(), pi_client_state::failed);
  EXPECT_EQ(end - kT0, seconds{25});
  EXPECT_EQ(c.discovers_sent(), 5U);
  EXPECT_FALSE(c.next_deadline());
}

TEST(PiClientTiming, Pi4ResendsEveryFourSecondsAndGivesUpAt45) {
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 1, 1, 1})}};
  core::time_point end;
  auto at = send_times_without_server(c, end);
  ASSERT_EQ(at.size(), 12U);  // 0, 4, ..., 44
  for (std::size_t i = 0; i < at.size(); ++i) EXPECT_EQ(at[i], milliseconds{4000 * static_cast<int>(i)});
  EXPECT_EQ(c.state(), pi_client_state::failed);
  EXPECT_EQ(end - kT0, seconds{45});
}

TEST(PiClientTiming, EarlyTimerDoesNothing) {
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 1, 1, 1})}};
  std::array<std::byte, 1500> tx{};
  EXPECT_FALSE(c.next_deadline());
  ASSERT_GT(*c.poll_transmit(tx, kT0), 0U);
  EXPECT_EQ(*c.next_deadline(), kT0 + seconds{4});
  c.on_timer(kT0 + seconds{3});
  EXPECT_EQ(*c.poll_transmit(tx, kT0 + seconds{3}), 0U);
  c.on_timer(kT0 + seconds{4});
  EXPECT_GT(*c.poll_transmit(tx, kT0 + seconds{4}), 0U);
  EXPECT_EQ(c.discovers_sent(), 2U);
}

TEST(PiClientTiming, OfferWithoutMenuIsIgnoredAndDiscoverRepeats) {
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 1, 1, 2})}};
  std::array<std::byte, 1500> tx{};
  auto n = *c.poll_transmit(tx, kT0);
  c.on_datagram(router_reply(std::span{tx}.first(n), message_type::offer, kRouterGives), kT0);
  EXPECT_EQ(c.state(), pi_client_state::selecting);
  EXPECT_EQ(*c.poll_transmit(tx, kT0), 0U);
  c.on_timer(kT0 + seconds{4});
  EXPECT_GT(*c.poll_transmit(tx, kT0 + seconds{4}), 0U);
  EXPECT_EQ(c.offers_seen(), 1U);
}

TEST(PiClientTiming, NakRestartsWithDiscoverAndRequestIsRetried) {
  harness h{full_config()};
  pi_client c{{.generation = pi_generation::pi4, .mac = mac({0xdc, 0xa6, 0x32, 7, 7, 7})}};
  std::array<std::byte, 1500> tx{}, rx{};
  auto n = *c.poll_transmit(tx, kT0);
  packet_context ctx{.local_address = kServer, .now = 1'000'000};
  auto r = h.engine.handle(std::span{tx}.first(n), ctx, rx);
  c.on_datagram(std::span{rx}.first(r.size), kT0);
  ASSERT_EQ(c.state(), pi_client_state::requesting);
  n = *c.poll_transmit(tx, kT0);
  ASSERT_GT(n, 0U);
  // Lost: the REQUEST is sent again after 4 s.
  EXPECT_EQ(*c.next_deadline(), kT0 + seconds{4});
  c.on_timer(kT0 + seconds{4});
  n = *c.poll_transmit(tx, kT0 + seconds{4});
  ASSERT_GT(n, 0U);
  EXPECT_EQ(*opt::message_type(*message_view::parse(std::span{tx}.first(n))), message_type::request);
  EXPECT_EQ(c.requests_sent(), 2U);
  // A NAK from the address server: back to DISCOVER.
  auto req = *message_view::parse(std::span{tx}.first(n));
  std::array<std::byte, 576> nak{};
  auto b = start_reply(nak, req, message_type::nak);
  b.add_ip(option::server_id, kServer);
  auto nn = *b.finish();
  c.on_datagram(std::span{nak}.first(nn), kT0 + seconds{5});
  EXPECT_EQ(c.state(), pi_client_state::selecting);
  n = *c.poll_transmit(tx, kT0 + seconds{5});
  EXPECT_EQ(*opt::message_type(*message_view::parse(std::span{tx}.first(n))), message_type::discover);
}

// ---- robustness ---------------------------------------------------------------------------

TEST(PiClientInput, IgnoresRepliesForOtherBoardsAndMalformedOrTruncatedOffers) {
  harness h{full_config()};
  auto m1 = mac({0xb8, 0x27, 0xeb, 0, 0, 1});
  pi_client c{{.generation = pi_generation::pi3_rom, .mac = m1}};
  std::array<std::byte, 1500> tx{}, rx{};
  auto n = *c.poll_transmit(tx, kT0);
  packet_context ctx{.local_address = kServer, .now = 1'000'000};
  // Another Pi 3 with the same constant xid but another MAC: its OFFER must not bind us.
  pi_client other{{.generation = pi_generation::pi3_rom, .mac = mac({0xb8, 0x27, 0xeb, 0, 0, 2})}};
  std::array<std::byte, 1500> otx{};
  auto on = *other.poll_transmit(otx, kT0);
  auto ro = h.engine.handle(std::span{otx}.first(on), ctx, rx);
  ASSERT_GT(ro.size, 0U);
  c.on_datagram(std::span{rx}.first(ro.size), kT0);
  EXPECT_EQ(c.state(), pi_client_state::selecting);
  EXPECT_EQ(c.ignored(), 1U);
  // Our own request echoed back (op = BOOTREQUEST) is ignored too.
  c.on_datagram(std::span{tx}.first(n), kT0);
  EXPECT_EQ(c.ignored(), 2U);

  auto r = h.engine.handle(std::span{tx}.first(n), ctx, rx);
  ASSERT_GT(r.size, 0U);
  std::vector<std::byte> offer(rx.begin(), rx.begin() + static_cast<std::ptrdiff_t>(r.size));
  std::size_t rejected = 0;
  for (std::size_t len = 0; len < offer.size(); ++len) {
    pi_client t{c.config()};
    (void)t.poll_transmit(tx, kT0);
    std::vector<std::byte> prefix(offer.begin(), offer.begin() + static_cast<std::ptrdiff_t>(len));
    t.on_datagram(prefix, kT0);  // ASan/UBSan watch the reads
    if (!message_view::parse(prefix)) {
      ++rejected;
      EXPECT_EQ(t.state(), pi_client_state::selecting) << len;
      EXPECT_EQ(t.ignored(), 1U);
    }
  }
  EXPECT_GE(rejected, layout::options);
  for (std::size_t i = 0; i < offer.size(); ++i) {
    for (int v : {0x00, 0xff, 0x01, 0x80}) {
      auto mutated = offer;
      mutated[i] = static_cast<std::byte>(v);
      pi_client t{c.config()};
      (void)t.poll_transmit(tx, kT0);
      t.on_datagram(mutated, kT0);
      EXPECT_NE(t.state(), pi_client_state::failed);
    }
  }
  c.on_datagram(offer, kT0);
  EXPECT_EQ(c.state(), pi_client_state::bound);
}

TEST(PiClientInput, StateNames) {
  EXPECT_EQ(to_string(pi_client_state::idle), "idle");
  EXPECT_EQ(to_string(pi_client_state::selecting), "selecting");
  EXPECT_EQ(to_string(pi_client_state::requesting), "requesting");
  EXPECT_EQ(to_string(pi_client_state::bound), "bound");
  EXPECT_EQ(to_string(pi_client_state::failed), "failed");
}

}  // namespace
}  // namespace pinetboot::dhcp
