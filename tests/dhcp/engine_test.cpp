#include "pinetboot/dhcp/engine.hpp"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pinetboot/dhcp/builder.hpp"
#include "pinetboot/dhcp/options.hpp"
#include "support/hex.hpp"

namespace pinetboot::dhcp {
namespace {

using core::ipv4_address;
using core::mac_address;
using test::from_hex;
using test::load_hex;

constexpr ipv4_address kServer{192, 168, 1, 117};

/// Builds a client request the way a DHCP client would.
struct request_spec {
  message_type type = message_type::discover;
  mac_address mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
  std::uint32_t xid = 0x11223344;
  std::string vendor_class;
  std::string user_class;
  std::optional<ipv4_address> requested, server_id;
  ipv4_address ciaddr, giaddr;
  std::vector<std::byte> guid;   // option 97 value
  std::vector<std::byte> relay;  // option 82 value
  std::optional<std::uint16_t> arch;
};

std::vector<std::byte> make_request(request_spec const& s) {
  std::vector<std::byte> buf(600);
  message_builder b{buf};
  b.op(bootp_op::request).xid(s.xid).mac(s.mac).ciaddr(s.ciaddr).giaddr(s.giaddr);
  b.add_message_type(s.type);
  if (s.requested) b.add_ip(option::requested_address, *s.requested);
  if (s.server_id) b.add_ip(option::server_id, *s.server_id);
  if (s.arch) b.add_u16(option::client_arch, *s.arch);
  if (!s.guid.empty()) b.add_raw(option::client_guid, s.guid);
  if (!s.vendor_class.empty()) b.add_string(option::vendor_class, s.vendor_class);
  if (!s.user_class.empty()) b.add_string(option::user_class, s.user_class);
  if (!s.relay.empty()) b.add_raw(option::relay_agent, s.relay);
  auto n = b.finish();
  EXPECT_TRUE(n);
  buf.resize(*n);
  return buf;
}

/// Rewrites a request's message type (option 53 value) in place.
void set_type(std::vector<std::byte>& msg, message_type t) {
  for (std::size_t i = layout::options; i + 2 < msg.size(); ++i) {
    if (msg[i] == std::byte{53} && msg[i + 1] == std::byte{1}) {
      msg[i + 2] = static_cast<std::byte>(t);
      return;
    }
  }
  FAIL() << "no option 53";
}

struct engine_fixture {
  explicit engine_fixture(engine_config cfg) : store{std::move(*lease_store::open({}))}, engine{std::move(cfg), store} {}
  reply send(std::vector<std::byte> const& req, packet_context ctx = {}) {
    if (ctx.local_address.is_unspecified()) ctx.local_address = kServer;
    if (ctx.now == 0) ctx.now = 1'000'000;
    out.fill(std::byte{0xee});
    auto r = engine.handle(req, ctx, out);
    EXPECT_LE(r.size, out.size());
    if (r.size > 0) {
      auto parsed = message_view::parse(std::span{out}.first(r.size));
      EXPECT_TRUE(parsed) << parsed.error().message();
      if (parsed) last = *parsed;
    }
    return r;
  }
  lease_store store;
  server_engine engine;
  std::array<std::byte, 1500> out{};
  std::optional<message_view> last;
};

engine_config proxy_config() {
  engine_config c;
  c.mode = server_mode::proxy;
  c.server_address = kServer;
  return c;
}

engine_config full_config() {
  engine_config c;
  c.mode = server_mode::full;
  c.server_address = kServer;
  subnet_config net;
  net.network = ipv4_address{192, 168, 1, 0};
  net.prefix_length = 24;
  net.range_start = ipv4_address{192, 168, 1, 100};
  net.range_end = ipv4_address{192, 168, 1, 149};
  net.routers = {ipv4_address{192, 168, 1, 1}};
  net.dns_servers = {ipv4_address{192, 168, 1, 1}};
  net.domain_name = "lab";
  net.lease_time = 3600;
  c.subnets.push_back(net);
  return c;
}

std::span<const std::byte> option_value(message_view const& m, option code) {
  auto o = m.find(code);
  return o ? o->data : std::span<const std::byte>{};
}

std::vector<option> option_order(message_view const& m) {
  std::vector<option> v;
  for (auto o : m.options()) v.push_back(o.code);
  return v;
}

// ---- proxy mode ------------------------------------------------------------------------------

TEST(DhcpEngineProxy, AnswersPi4DiscoverWithBootMenuAndNoAddress) {
  engine_fixture f{proxy_config()};
  auto req = load_hex("dhcp/rpi4-discover.hex");
  auto r = f.send(req);
  ASSERT_GT(r.size, 0U) << r.outcome;
  EXPECT_EQ(r.reply_type, message_type::offer);
  EXPECT_EQ(r.client.kind, client_class::raspberry_pi);
  EXPECT_TRUE(r.broadcast);
  EXPECT_EQ(r.port, 68);
  auto const& m = *f.last;
  EXPECT_EQ(m.op(), bootp_op::reply);
  EXPECT_TRUE(m.yiaddr().is_unspecified());
  EXPECT_EQ(m.siaddr(), kServer);
  EXPECT_TRUE(m.broadcast());
  auto request = *message_view::parse(req);
  EXPECT_EQ(m.xid(), request.xid());
  EXPECT_EQ(m.mac(), request.mac());
  EXPECT_EQ(opt::server_id(m).value_or(ipv4_address{}), kServer);
  EXPECT_EQ(opt::vendor_class(m).value_or(""), "PXEClient");
  auto guid_in = option_value(request, option::client_guid);
  auto guid_out = option_value(m, option::client_guid);
  EXPECT_TRUE(std::equal(guid_in.begin(), guid_in.end(), guid_out.begin(), guid_out.end()));
  auto menu = from_hex("06 01 03 0a 04 00 50 58 45 09 14 00 00 11 52 61 73 70 62 65 72 72 79 20 50 69 20 42 6f 6f 74 ff");
  auto o43 = option_value(m, option::vendor_specific);
  EXPECT_TRUE(std::equal(menu.begin(), menu.end(), o43.begin(), o43.end()));
  EXPECT_FALSE(m.find(option::lease_time));
  EXPECT_FALSE(m.find(option::bootfile));
  EXPECT_EQ(r.delay_ms, 0U);
}

// The spec's dnsmasq proxy OFFER (12.3) byte for byte: same options, same order, same length.
TEST(DhcpEngineProxy, MatchesDnsmasqProxyOfferByteForByte) {
  auto req = load_hex("dhcp/rpi3bplus-bootcode-discover.hex");
  // Turn the 3B+ vector into the board of 12.3: MAC b8:27:eb:6c:4c:16, serial b66c4c16.
  auto mac = from_hex("b8 27 eb 6c 4c 16");
  std::copy(mac.begin(), mac.end(), req.begin() + layout::chaddr);
  auto guid = from_hex("16 4c 6c b6");
  auto request = *message_view::parse(req);
  auto g = request.find(option::client_guid)->data;
  auto at = static_cast<std::size_t>(g.data() - req.data());
  for (std::size_t i = 0; i < 16; ++i) req[at + 1 + i] = guid[i % 4];

  engine_fixture f{proxy_config()};
  auto r = f.send(req);
  ASSERT_GT(r.size, 0U) << r.outcome;
  EXPECT_EQ(r.client.kind, client_class::raspberry_pi);
  auto expected_options = load_hex("dhcp/dnsmasq-proxy-offer.hex");
  ASSERT_EQ(r.size, expected_options.size());
  std::span<const std::byte> ours{f.out.data(), r.size};
  // Everything after the header: cookie and options.
  EXPECT_TRUE(std::equal(ours.begin() + layout::cookie, ours.end(), expected_options.begin() + layout::cookie,
                         expected_options.end()));
  EXPECT_EQ(f.last->flags(), 0x8000);
}

TEST(DhcpEngineProxy, Pi3RomGetsPaddedMenuAndConfiguredDelay) {
  auto cfg = proxy_config();
  cfg.boot.pi3_reply_delay_ms = 1500;
  engine_fixture f{cfg};
  auto r = f.send(load_hex("dhcp/rpi3b-rom-discover.hex"));
  ASSERT_GT(r.size, 0U);
  EXPECT_EQ(r.client.pi, pi_generation::pi3_rom);
  EXPECT_EQ(r.delay_ms, 1500U);
  auto padded = from_hex(
      "06 01 03 0a 04 00 50 58 45 09 17 00 00 14 52 61 73 70 62 65 72 72 79 20 50 69 20 42 6f 6f 74 20 20 20 ff");
  auto o43 = option_value(*f.last, option::vendor_specific);
  EXPECT_TRUE(std::equal(padded.begin(), padded.end(), o43.begin(), o43.end()));
}

TEST(DhcpEngineProxy, IgnoresOrdinaryClientsAndRequests) {
  engine_fixture f{proxy_config()};
  for (auto const* name : {"dhcp/dhclient-discover.hex", "dhcp/udhcpc-discover.hex", "dhcp/dhcpcd-discover.hex",
                           "dhcp/dhclient-request.hex", "dhcp/udhcpc-request.hex"}) {
    auto r = f.send(load_hex(name));
    EXPECT_EQ(r.size, 0U) << name;
    EXPECT_FALSE(r.outcome.empty());
  }
  // A Pi 4 REQUEST (no option 60) on port 67 is the router's business (spec 3.6).
  auto req = load_hex("dhcp/rpi4-discover.hex");
  set_type(req, message_type::request);
  EXPECT_EQ(f.send(req).size, 0U);
  // Replies from other servers are never answered.
  EXPECT_EQ(f.send(load_hex("dhcp/dnsmasq-proxy-offer.hex")).size, 0U);
}

// The router's REQUEST tells us the board's address (proxy mode hands out none): reported,
// not answered, for boards we offered boot information to; the ordinary client is reported too
// but stays unclassified, and a DISCOVER has no address to report.
TEST(DhcpEngineProxy, ReportsTheAddressABootClientRequestsFromTheRouter) {
  engine_fixture f{proxy_config()};
  auto discover = load_hex("dhcp/rpi4-discover.hex");
  auto offer = f.send(discover);
  ASSERT_GT(offer.size, 0U) << offer.outcome;
  EXPECT_TRUE(offer.client_address.is_unspecified());
  auto d = *message_view::parse(discover);
  request_spec s;
  s.type = message_type::request;
  s.mac = *d.mac();
  s.xid = d.xid();
  s.requested = ipv4_address{10, 77, 0, 123};
  s.server_id = ipv4_address{10, 77, 0, 1};  // the router
  auto r = f.send(make_request(s));  // no option 60, as a real Pi 4 REQUEST
  EXPECT_EQ(r.size, 0U) << "the router answers it";
  EXPECT_EQ(r.client.kind, client_class::raspberry_pi) << "recalled from the DISCOVER";
  EXPECT_EQ(r.client_address, (ipv4_address{10, 77, 0, 123}));
  s.requested.reset();
  s.ciaddr = ipv4_address{10, 77, 0, 124};  // renewing: ciaddr, no option 50
  EXPECT_EQ(f.send(make_request(s)).client_address, (ipv4_address{10, 77, 0, 124}));
  request_spec other;
  other.type = message_type::request;
  other.requested = ipv4_address{10, 77, 0, 125};
  auto o = f.send(make_request(other));
  EXPECT_EQ(o.client.kind, client_class::not_pxe);
  EXPECT_EQ(o.client_address, (ipv4_address{10, 77, 0, 125}));
}

TEST(DhcpEngineProxy, UefiClientGetsBootFileAndBootServerAck) {
  engine_fixture f{proxy_config()};
  request_spec s;
  s.vendor_class = "PXEClient:Arch:00007:UNDI:003016";
  s.arch = 7;
  auto r = f.send(make_request(s));
  ASSERT_GT(r.size, 0U) << r.outcome;
  EXPECT_EQ(r.client.kind, client_class::uefi_x64);
  EXPECT_EQ(f.last->file(), "ipxe.efi");
  EXPECT_EQ(opt::bootfile(*f.last).value_or(""), "ipxe.efi");
  EXPECT_EQ(opt::tftp_server(*f.last).value_or(""), "192.168.1.117");
  auto pxe = parse_pxe_options(option_value(*f.last, option::vendor_specific));
  ASSERT_TRUE(pxe);
  EXPECT_EQ(pxe->discovery_control, 0x08);

  // The boot-server exchange on port 4011: unicast ACK to the client's address and port.
  s.type = message_type::request;
  s.ciaddr = ipv4_address{192, 168, 1, 50};
  auto ack = f.send(make_request(s), {.local_address = kServer, .source = s.ciaddr, .source_port = 68,
                                      .local_port = 4011});
  ASSERT_GT(ack.size, 0U) << ack.outcome;
  EXPECT_EQ(ack.reply_type, message_type::ack);
  EXPECT_FALSE(ack.broadcast);
  EXPECT_EQ(ack.destination, s.ciaddr);
  EXPECT_EQ(ack.port, 68);
  EXPECT_EQ(f.last->ciaddr(), s.ciaddr);
  EXPECT_TRUE(f.last->yiaddr().is_unspecified());
}

TEST(DhcpEngineProxy, IpxeGetsItsScriptNotTheChainloadBinary) {
  engine_fixture f{proxy_config()};
  request_spec s;
  s.vendor_class = "PXEClient:Arch:00000:UNDI:002001";
  s.user_class = "iPXE";
  auto r = f.send(make_request(s));
  ASSERT_GT(r.size, 0U);
  EXPECT_EQ(r.client.kind, client_class::ipxe);
  EXPECT_EQ(opt::bootfile(*f.last).value_or(""), "boot.ipxe");
}

TEST(DhcpEngineProxy, HttpClientGetsUrl) {
  auto cfg = proxy_config();
  cfg.boot.uefi_http.boot_file = "http://192.168.1.117/boot.efi";
  engine_fixture f{cfg};
  request_spec s;
  s.vendor_class = "HTTPClient:Arch:00016:UNDI:003001";
  s.arch = 16;
  auto r = f.send(make_request(s));
  ASSERT_GT(r.size, 0U) << r.outcome;
  EXPECT_EQ(r.client.kind, client_class::uefi_http);
  EXPECT_EQ(opt::vendor_class(*f.last).value_or(""), "HTTPClient");
  EXPECT_EQ(opt::bootfile(*f.last).value_or(""), "http://192.168.1.117/boot.efi");
  EXPECT_FALSE(f.last->find(option::vendor_specific));
}

TEST(DhcpEngineProxy, PerHostBootOverride) {
  auto cfg = proxy_config();
  host_config h;
  h.mac = mac_address{{0x02, 0, 0, 0, 0, 0x01}};
  h.boot = boot_target{"special.kpxe", ipv4_address{192, 168, 1, 9}};
  cfg.hosts.push_back(h);
  engine_fixture f{cfg};
  request_spec s;
  s.vendor_class = "PXEClient:Arch:00000:UNDI:002001";
  auto r = f.send(make_request(s));
  ASSERT_GT(r.size, 0U);
  EXPECT_EQ(f.last->file(), "special.kpxe");
  EXPECT_EQ(f.last->siaddr(), (ipv4_address{192, 168, 1, 9}));
}

// ---- full mode -------------------------------------------------------------------------------

TEST(DhcpEngineFull, OrdinaryClientDoraWithoutBootOptions) {
  engine_fixture f{full_config()};
  auto discover = load_hex("dhcp/udhcpc-discover.hex");
  auto offer = f.send(discover);
  ASSERT_GT(offer.size, 0U) << offer.outcome;
  EXPECT_EQ(offer.reply_type, message_type::offer);
  auto ip = f.last->yiaddr();
  EXPECT_TRUE(ip.to_uint() >= 0xc0a80164U && ip.to_uint() <= 0xc0a80195U) << ip.to_string();
  EXPECT_EQ(opt::lease_time(*f.last).value_or(0), 3600U);
  EXPECT_EQ(opt::renewal_time(*f.last).value_or(0), 1800U);
  EXPECT_EQ(opt::subnet_mask(*f.last).value_or(ipv4_address{}), (ipv4_address{255, 255, 255, 0}));
  EXPECT_FALSE(f.last->find(option::vendor_specific));
  EXPECT_FALSE(f.last->find(option::vendor_class));
  EXPECT_FALSE(offer.needs_commit);

  // udhcpc's captured REQUEST asked for the address dnsmasq gave it; build ours from the
  // same client (same option 61) asking for what we offered.
  request_spec s;
  s.type = message_type::request;
  auto d = *message_view::parse(discover);
  s.mac = *d.mac();
  s.xid = d.xid();
  s.requested = ip;
  s.server_id = kServer;
  auto req = make_request(s);
  // Add the client's option 61 so the key matches the DISCOVER's.
  std::vector<std::byte> buf(600);
  message_builder b{buf};
  b.op(bootp_op::request).xid(s.xid).mac(s.mac);
  b.add_message_type(message_type::request);
  b.add_ip(option::requested_address, ip);
  b.add_ip(option::server_id, kServer);
  b.add(*d.find(option::client_id));
  buf.resize(*b.finish());
  auto ack = f.send(buf);
  ASSERT_GT(ack.size, 0U) << ack.outcome;
  EXPECT_EQ(ack.reply_type, message_type::ack);
  EXPECT_EQ(f.last->yiaddr(), ip);
  EXPECT_TRUE(ack.needs_commit);
  ASSERT_NE(f.store.find_by_ip(ip), nullptr);
  EXPECT_EQ(f.store.find_by_ip(ip)->state, lease_state::bound);
  EXPECT_EQ(f.store.mac_for(ip), d.mac());
}

TEST(DhcpEngineFull, PlainClientsGetTheSubnetsBootFileAndNextServer) {
  // Default: siaddr is ours and the file field stays empty.
  {
    engine_fixture f{full_config()};
    auto offer = f.send(load_hex("dhcp/udhcpc-discover.hex"));
    ASSERT_GT(offer.size, 0U) << offer.outcome;
    EXPECT_EQ(f.last->siaddr(), kServer);
    EXPECT_EQ(f.last->file(), "");
  }
  auto cfg = full_config();
  cfg.subnets[0].boot_file = "boot.scr.uimg";
  cfg.subnets[0].next_server = ipv4_address{192, 168, 1, 7};
  auto discover = load_hex("dhcp/udhcpc-discover.hex");
  auto d = *message_view::parse(discover);
  {
    engine_fixture f{cfg};
    auto offer = f.send(discover);
    ASSERT_GT(offer.size, 0U) << offer.outcome;
    EXPECT_EQ(f.last->siaddr(), (ipv4_address{192, 168, 1, 7}));
    EXPECT_EQ(f.last->file(), "boot.scr.uimg");
    EXPECT_EQ(offer.boot_file, "boot.scr.uimg");
    EXPECT_FALSE(f.last->find(option::vendor_class));  // still not a PXE answer
  }
  // A host's own boot target wins over the subnet's.
  host_config h;
  h.mac = *d.mac();
  h.boot = boot_target{"special.scr", ipv4_address{192, 168, 1, 8}};
  cfg.hosts.push_back(h);
  {
    engine_fixture f{cfg};
    auto offer = f.send(discover);
    ASSERT_GT(offer.size, 0U) << offer.outcome;
    EXPECT_EQ(f.last->siaddr(), (ipv4_address{192, 168, 1, 8}));
    EXPECT_EQ(f.last->file(), "special.scr");
  }
  // PXE clients keep their class's boot file.
  cfg.hosts.clear();
  {
    engine_fixture f{cfg};
    auto offer = f.send(load_hex("dhcp/rpi4-discover.hex"));
    ASSERT_GT(offer.size, 0U) << offer.outcome;
    EXPECT_NE(f.last->file(), "boot.scr.uimg");
    EXPECT_TRUE(f.last->find(option::vendor_class));
  }
}

TEST(DhcpEngineFull, Pi4DoraKeepsBootOptionsOnRequestWithoutOption60) {
  engine_fixture f{full_config()};
  auto discover = load_hex("dhcp/rpi4-discover.hex");
  auto offer = f.send(discover);
  ASSERT_GT(offer.size, 0U) << offer.outcome;
  EXPECT_EQ(offer.client.kind, client_class::raspberry_pi);
  auto ip = f.last->yiaddr();
  EXPECT_FALSE(ip.is_unspecified());
  EXPECT_EQ(f.last->siaddr(), kServer);
  EXPECT_TRUE(f.last->find(option::vendor_specific));
  // Offer order as in the spec's full dnsmasq OFFER: 53, 54, 51, 58, 59, 1, 28, ..., 60, 97, 43.
  auto order = option_order(*f.last);
  ASSERT_GE(order.size(), 8U);
  EXPECT_EQ(order[0], option::message_type);
  EXPECT_EQ(order[1], option::server_id);
  EXPECT_EQ(order[2], option::lease_time);

  auto d = *message_view::parse(discover);
  request_spec s;
  s.type = message_type::request;
  s.mac = *d.mac();
  s.xid = d.xid();
  s.requested = ip;
  s.server_id = kServer;
  s.guid = std::vector<std::byte>(option_value(d, option::client_guid).begin(),
                                  option_value(d, option::client_guid).end());
  auto ack = f.send(make_request(s));  // no option 60, as a real Pi 4 REQUEST
  ASSERT_GT(ack.size, 0U) << ack.outcome;
  EXPECT_EQ(ack.reply_type, message_type::ack);
  EXPECT_EQ(ack.client.kind, client_class::raspberry_pi);
  EXPECT_EQ(f.last->yiaddr(), ip);
  EXPECT_TRUE(f.last->find(option::vendor_specific));
  EXPECT_EQ(opt::vendor_class(*f.last).value_or(""), "PXEClient");
}

TEST(DhcpEngineFull, Pi3OfferBindsBecauseNoRequestFollows) {
  engine_fixture f{full_config()};
  auto r = f.send(load_hex("dhcp/rpi3bplus-bootcode-discover.hex"));
  ASSERT_GT(r.size, 0U);
  EXPECT_TRUE(r.needs_commit);
  auto const* l = f.store.find_by_ip(f.last->yiaddr());
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, lease_state::bound);
  EXPECT_EQ(l->expires, 1'000'000 + 3600);
  // The same board (fixed xid, no REQUEST) asks again: same address.
  auto first = f.last->yiaddr();
  f.send(load_hex("dhcp/rpi3bplus-bootcode-discover.hex"));
  EXPECT_EQ(f.last->yiaddr(), first);
}

TEST(DhcpEngineFull, ReservationGivesReservedAddressToItsHostOnly) {
  auto cfg = full_config();
  host_config h;
  h.mac = mac_address{{0x02, 0, 0, 0, 0, 0x07}};
  h.address = ipv4_address{192, 168, 1, 100};  // inside the pool
  h.hostname = "node7";
  cfg.hosts.push_back(h);
  engine_fixture f{cfg};
  // Other clients never get .100, even when the pool would hand it out first.
  for (std::uint8_t i = 10; i < 40; ++i) {
    request_spec s;
    s.mac = mac_address{{0x02, 0, 0, 0, 1, i}};
    auto r = f.send(make_request(s));
    ASSERT_GT(r.size, 0U);
    EXPECT_NE(f.last->yiaddr(), *h.address);
  }
  request_spec s;
  s.mac = h.mac;
  auto r = f.send(make_request(s));
  ASSERT_GT(r.size, 0U);
  EXPECT_EQ(f.last->yiaddr(), *h.address);
  EXPECT_EQ(opt::hostname(*f.last).value_or(""), "node7");
  // Asking for another address gets a NAK.
  s.type = message_type::request;
  s.requested = ipv4_address{192, 168, 1, 120};
  auto nak = f.send(make_request(s));
  EXPECT_EQ(nak.reply_type, message_type::nak);
}

TEST(DhcpEngineFull, PoolExhaustionGivesNoOfferAndAReason) {
  auto cfg = full_config();
  cfg.subnets[0].range_end = ipv4_address{192, 168, 1, 102};  // 3 addresses
  engine_fixture f{cfg};
  for (std::uint8_t i = 0; i < 3; ++i) {
    request_spec s;
    s.mac = mac_address{{0x02, 0, 0, 0, 2, i}};
    s.type = message_type::discover;
    ASSERT_GT(f.send(make_request(s)).size, 0U);
    s.type = message_type::request;
    s.requested = f.last->yiaddr();
    s.server_id = kServer;
    ASSERT_EQ(f.send(make_request(s)).reply_type, message_type::ack);
  }
  request_spec s;
  s.mac = mac_address{{0x02, 0, 0, 0, 2, 99}};
  auto r = f.send(make_request(s));
  EXPECT_EQ(r.size, 0U);
  EXPECT_EQ(r.outcome, "no free address in the pool");
  // Once a lease expires, its address is reused.
  auto later = f.send(make_request(s), {.now = 1'000'000 + 3601});
  EXPECT_GT(later.size, 0U);
}

TEST(DhcpEngineFull, NearlyFullPoolOffersTheOnlyGapThenExpiredLeases) {
  // A /16 pool of 60000 addresses with every address but one leased to somebody else: the
  // only never-leased address is found wherever the client's hash starts, a reserved one is
  // skipped, and once the pool is full the oldest expired lease is reused.
  auto cfg = full_config();
  auto& net = cfg.subnets[0];
  net.network = ipv4_address{10, 78, 0, 0};
  net.prefix_length = 16;
  net.range_start = ipv4_address{10, 78, 1, 0};
  net.range_end = ipv4_address{10, 78, 235, 95};
  host_config reserved;
  reserved.mac = mac_address{{0x02, 0, 0, 0, 0x77, 0x77}};
  reserved.address = ipv4_address{10, 78, 100, 7};
  cfg.hosts.push_back(reserved);
  engine_fixture f{cfg};
  packet_context on_link{.local_address = ipv4_address{10, 78, 0, 1}};
  std::uint32_t first = net.range_start.to_uint(), last = net.range_end.to_uint();
  ipv4_address gap{10, 78, 200, 1};
  for (std::uint32_t a = first; a <= last; ++a) {
    if (a == gap.to_uint() || a == reserved.address->to_uint()) continue;
    lease l;
    l.ip = ipv4_address{a};
    l.mac = mac_address{{0x06, 0, 0, static_cast<std::uint8_t>(a >> 16), static_cast<std::uint8_t>(a >> 8),
                         static_cast<std::uint8_t>(a)}};
    l.client = key_for_mac(l.mac);
    l.expires = a == first + 5 ? 1'000'000 - 1 : 1'000'000 + 3600;  // one expired lease
    f.store.put(l);
  }
  for (std::uint8_t i = 0; i < 8; ++i) {  // different hashes, same gap
    request_spec s;
    s.mac = mac_address{{0x02, 0, 0, 0, 9, i}};
    ASSERT_GT(f.send(make_request(s), on_link).size, 0U);
    EXPECT_EQ(f.last->yiaddr(), gap) << int{i};
    f.store.erase(gap);  // forget the offer so the next client searches again
  }
  // Bind the gap to a client; the next newcomer gets the expired lease, never the reservation.
  request_spec taker;
  taker.mac = mac_address{{0x02, 0, 0, 0, 9, 0}};
  ASSERT_GT(f.send(make_request(taker), on_link).size, 0U);
  taker.type = message_type::request;
  taker.requested = gap;
  taker.server_id = kServer;
  ASSERT_EQ(f.send(make_request(taker), on_link).reply_type, message_type::ack);
  request_spec next;
  next.mac = mac_address{{0x02, 0, 0, 0, 9, 200}};
  ASSERT_GT(f.send(make_request(next), on_link).size, 0U);
  EXPECT_EQ(f.last->yiaddr(), ipv4_address{first + 5});
  request_spec host;
  host.mac = reserved.mac;
  ASSERT_GT(f.send(make_request(host), on_link).size, 0U);
  EXPECT_EQ(f.last->yiaddr(), *reserved.address);
}

TEST(DhcpEngineFull, RequestForForeignOrTakenAddressIsNakedOrIgnored) {
  engine_fixture f{full_config()};
  request_spec s;
  s.type = message_type::request;
  s.requested = ipv4_address{10, 9, 9, 9};
  auto r = f.send(make_request(s));
  EXPECT_EQ(r.reply_type, message_type::nak);
  EXPECT_TRUE(r.broadcast);
  EXPECT_EQ(opt::message_type(*f.last).value_or(message_type::ack), message_type::nak);

  // A client that picked another server's offer: we stay silent and free our offer.
  request_spec d;
  d.mac = mac_address{{0x02, 0, 0, 0, 3, 1}};
  ASSERT_GT(f.send(make_request(d)).size, 0U);
  auto offered = f.last->yiaddr();
  ASSERT_NE(f.store.find_by_ip(offered), nullptr);
  d.type = message_type::request;
  d.requested = offered;
  d.server_id = ipv4_address{192, 168, 1, 1};
  auto other = f.send(make_request(d));
  EXPECT_EQ(other.size, 0U);
  EXPECT_EQ(f.store.find_by_ip(offered), nullptr);

  // An address bound to someone else is NAKed.
  request_spec a;
  a.mac = mac_address{{0x02, 0, 0, 0, 3, 2}};
  f.send(make_request(a));
  a.type = message_type::request;
  a.requested = f.last->yiaddr();
  a.server_id = kServer;
  ASSERT_EQ(f.send(make_request(a)).reply_type, message_type::ack);
  request_spec thief;
  thief.mac = mac_address{{0x02, 0, 0, 0, 3, 3}};
  thief.type = message_type::request;
  thief.requested = a.requested;
  EXPECT_EQ(f.send(make_request(thief)).reply_type, message_type::nak);
}

TEST(DhcpEngineFull, RenewIsUnicastToCiaddrAndReleaseKeepsAffinity) {
  engine_fixture f{full_config()};
  request_spec s;
  s.mac = mac_address{{0x02, 0, 0, 0, 4, 1}};
  f.send(make_request(s));
  auto ip = f.last->yiaddr();
  s.type = message_type::request;
  s.requested = ip;
  s.server_id = kServer;
  ASSERT_EQ(f.send(make_request(s)).reply_type, message_type::ack);

  request_spec renew;
  renew.mac = s.mac;
  renew.type = message_type::request;
  renew.ciaddr = ip;
  auto r = f.send(make_request(renew));
  ASSERT_EQ(r.reply_type, message_type::ack);
  EXPECT_FALSE(r.broadcast);
  EXPECT_EQ(r.destination, ip);
  EXPECT_EQ(f.last->ciaddr(), ip);

  request_spec release;
  release.mac = s.mac;
  release.type = message_type::release;
  release.ciaddr = ip;
  auto rel = f.send(make_request(release));
  EXPECT_EQ(rel.size, 0U);
  EXPECT_TRUE(rel.needs_commit);
  EXPECT_EQ(f.store.find_by_ip(ip)->state, lease_state::released);
  request_spec again;
  again.mac = s.mac;
  f.send(make_request(again), {.now = 1'000'500});
  EXPECT_EQ(f.last->yiaddr(), ip);
}

TEST(DhcpEngineFull, DeclinedAddressIsNotOfferedUntilHoldExpires) {
  engine_fixture f{full_config()};
  request_spec s;
  s.mac = mac_address{{0x02, 0, 0, 0, 5, 1}};
  f.send(make_request(s));
  auto ip = f.last->yiaddr();
  s.type = message_type::request;
  s.requested = ip;
  s.server_id = kServer;
  f.send(make_request(s));
  request_spec dec;
  dec.mac = s.mac;
  dec.type = message_type::decline;
  dec.requested = ip;
  auto r = f.send(make_request(dec));
  EXPECT_EQ(r.size, 0U);
  EXPECT_TRUE(r.needs_commit);
  EXPECT_EQ(f.store.find_by_ip(ip)->state, lease_state::declined);
  request_spec again;
  again.mac = s.mac;
  again.requested = ip;
  f.send(make_request(again));
  EXPECT_NE(f.last->yiaddr(), ip);
}

/// Checks that a pool_usage adds up to its size, and returns it.
pool_usage checked_usage(server_engine const& e, std::int64_t now, std::size_t subnet = 0) {
  auto u = e.usage(subnet, now);
  EXPECT_EQ(u.size, u.leased + u.offered + u.declined + u.released + u.reserved + u.free);
  return u;
}

TEST(DhcpEngineFull, PoolUsageCountsEachStateAndAddsUp) {
  auto cfg = full_config();  // pool .100-.149: 50 addresses
  host_config in_pool, elsewhere;
  in_pool.mac = mac_address{{0x02, 0, 0, 0, 0, 0x07}};
  in_pool.address = ipv4_address{192, 168, 1, 100};
  elsewhere.mac = mac_address{{0x02, 0, 0, 0, 0, 0x08}};
  elsewhere.address = ipv4_address{192, 168, 1, 10};  // outside the pool: not counted
  cfg.hosts = {in_pool, elsewhere};
  engine_fixture f{cfg};
  constexpr std::int64_t now = 1'000'000;
  auto u = checked_usage(f.engine, now);
  EXPECT_EQ(u.size, 50U);
  EXPECT_EQ(u.reserved, 1U);
  EXPECT_EQ(u.free, 49U);
  EXPECT_EQ(u.leased + u.offered + u.declined + u.released, 0U);

  auto dora = [&](std::uint8_t id) {
    request_spec s;
    s.mac = mac_address{{0x02, 0, 0, 0, 6, id}};
    EXPECT_GT(f.send(make_request(s)).size, 0U);
    s.type = message_type::request;
    s.requested = f.last->yiaddr();
    s.server_id = kServer;
    EXPECT_EQ(f.send(make_request(s)).reply_type, message_type::ack);
    return s;
  };
  // An OFFER holds an address; its REQUEST turns it into a lease.
  request_spec offered;
  offered.mac = mac_address{{0x02, 0, 0, 0, 6, 0}};
  ASSERT_GT(f.send(make_request(offered)).size, 0U);
  u = checked_usage(f.engine, now);
  EXPECT_EQ(u.offered, 1U);
  EXPECT_EQ(u.free, 48U);
  dora(1);
  dora(2);
  auto declining = dora(3);
  declining.type = message_type::decline;
  f.send(make_request(declining));
  // The reserved host takes its address: no longer "reserved", now leased.
  request_spec host;
  host.mac = in_pool.mac;
  ASSERT_GT(f.send(make_request(host)).size, 0U);
  host.type = message_type::request;
  host.requested = in_pool.address;
  host.server_id = kServer;
  ASSERT_EQ(f.send(make_request(host)).reply_type, message_type::ack);
  // A released lease still held for its client, an expired one, and one outside the range.
  lease released;
  released.ip = ipv4_address{192, 168, 1, 140};
  released.client = key_for_mac(mac_address{{0x02, 0, 0, 0, 6, 9}});
  released.state = lease_state::released;
  released.expires = now + 10;
  f.store.put(released);
  lease expired = released;
  expired.ip = ipv4_address{192, 168, 1, 141};
  expired.client = key_for_mac(mac_address{{0x02, 0, 0, 0, 6, 10}});
  expired.state = lease_state::bound;
  expired.expires = now - 1;
  f.store.put(expired);
  lease outside = expired;
  outside.ip = ipv4_address{192, 168, 1, 200};
  outside.client = key_for_mac(mac_address{{0x02, 0, 0, 0, 6, 11}});
  outside.expires = now + 3600;
  f.store.put(outside);

  u = checked_usage(f.engine, now);
  EXPECT_EQ(u.size, 50U);
  EXPECT_EQ(u.leased, 3U);  // clients 1 and 2, the host
  EXPECT_EQ(u.offered, 1U);
  EXPECT_EQ(u.declined, 1U);
  EXPECT_EQ(u.released, 1U);
  EXPECT_EQ(u.reserved, 0U);
  EXPECT_EQ(u.free, 44U);

  // After the lease time everything has expired; the reservation is back to "reserved".
  u = checked_usage(f.engine, now + 3601);
  EXPECT_EQ(u.leased + u.offered + u.declined + u.released, 0U);
  EXPECT_EQ(u.reserved, 1U);
  EXPECT_EQ(u.free, 49U);

  // A reload that drops the reservation frees its address for anyone.
  auto next = full_config();
  f.engine.reconfigure(next);
  EXPECT_EQ(checked_usage(f.engine, now + 3601).free, 50U);
  // No such subnet, or a backwards range: nothing.
  EXPECT_EQ(f.engine.usage(1, now).size, 0U);
  next.subnets[0].range_end = ipv4_address{192, 168, 1, 99};
  f.engine.reconfigure(next);
  EXPECT_EQ(f.engine.usage(0, now).size, 0U);
}

TEST(DhcpEngineFull, RelayedRequestsGoBackToTheRelayWithOption82) {
  auto cfg = full_config();
  subnet_config remote;
  remote.network = ipv4_address{10, 20, 0, 0};
  remote.prefix_length = 16;
  remote.range_start = ipv4_address{10, 20, 1, 1};
  remote.range_end = ipv4_address{10, 20, 1, 200};
  cfg.subnets.push_back(remote);
  engine_fixture f{cfg};
  request_spec s;
  s.giaddr = ipv4_address{10, 20, 0, 1};
  s.relay = from_hex("01 04 65 74 68 30 02 03 61 62 63");
  auto r = f.send(make_request(s));
  ASSERT_GT(r.size, 0U) << r.outcome;
  EXPECT_EQ(r.destination, s.giaddr);
  EXPECT_EQ(r.port, 67);
  EXPECT_FALSE(r.broadcast);
  EXPECT_TRUE(remote.contains(f.last->yiaddr()));
  EXPECT_EQ(f.last->giaddr(), s.giaddr);
  auto order = option_order(*f.last);
  EXPECT_EQ(order.back(), option::relay_agent);
  auto o82 = option_value(*f.last, option::relay_agent);
  EXPECT_TRUE(std::equal(o82.begin(), o82.end(), s.relay.begin(), s.relay.end()));

  // RFC 3527 link selection overrides giaddr.
  auto cfg2 = full_config();
  cfg2.subnets.push_back(remote);
  engine_fixture g{cfg2};
  std::vector<std::byte> buf(600);
  message_builder b{buf};
  b.op(bootp_op::request).xid(1).mac(s.mac).giaddr(ipv4_address{192, 168, 1, 1});
  b.add_message_type(message_type::discover);
  b.add_ip(option::link_selection, ipv4_address{10, 20, 5, 5});
  buf.resize(*b.finish());
  ASSERT_GT(g.send(buf).size, 0U);
  EXPECT_TRUE(remote.contains(g.last->yiaddr()));
}

TEST(DhcpEngineFull, InformGetsConfigurationWithoutLease) {
  engine_fixture f{full_config()};
  request_spec s;
  s.type = message_type::inform;
  s.ciaddr = ipv4_address{192, 168, 1, 33};
  auto r = f.send(make_request(s));
  ASSERT_EQ(r.reply_type, message_type::ack);
  EXPECT_EQ(r.destination, s.ciaddr);
  EXPECT_TRUE(f.last->yiaddr().is_unspecified());
  EXPECT_FALSE(f.last->find(option::lease_time));
  EXPECT_TRUE(f.last->find(option::router));
  EXPECT_EQ(f.store.size(), 0U);
}

TEST(DhcpEngineFull, LinkWithoutSubnetIsIgnored) {
  engine_fixture f{full_config()};
  request_spec s;
  auto r = f.send(make_request(s), {.local_address = ipv4_address{172, 16, 0, 1}});
  EXPECT_EQ(r.size, 0U);
}

TEST(DhcpEngine, RepliesNeverExceedTheBufferAndSmallBuffersFailCleanly) {
  engine_fixture f{full_config()};
  auto req = load_hex("dhcp/rpi4-discover.hex");
  for (std::size_t n = 0; n < 400; n += 7) {
    std::vector<std::byte> out(n);
    auto r = f.engine.handle(req, {.local_address = kServer, .now = 1'000'000}, out);
    EXPECT_LE(r.size, n);
    if (r.size == 0) {
      EXPECT_EQ(r.outcome, "dropped: reply does not fit");
    }
  }
}

TEST(DhcpEngine, EveryTruncationOfEveryFixtureIsHandled) {
  for (auto mode : {server_mode::proxy, server_mode::full}) {
    auto cfg = full_config();
    cfg.mode = mode;
    engine_fixture f{cfg};
    for (auto const* name : {"dhcp/rpi4-discover.hex", "dhcp/rpi3b-rom-discover.hex", "dhcp/dhcpcd-request.hex",
                             "dhcp/dhclient-discover.hex"}) {
      auto full = load_hex(name);
      for (std::size_t n = 0; n < full.size(); ++n) {
        std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        auto r = f.send(cut);
        if (n < 241) {
          EXPECT_EQ(r.size, 0U);
        }
      }
    }
  }
}

}  // namespace
}  // namespace pinetboot::dhcp
