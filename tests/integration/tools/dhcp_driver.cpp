// pinetboot-dhcp-driver: DHCP test clients for the integration tests (not part of the library).
//
//   pi      --interface IF --model pi3_rom|pi3_bootcode|pi4|pi5 --mac MAC [--serial HEX]
//           [--reversed] [--legacy-guid] [--retry-ms N] [--give-up-ms N] [--timeout-s N]
//       Runs the dhcp::pi_client model over a packet socket on IF, as the board would: IPv4/UDP
//       built by hand from 0.0.0.0:68 to 255.255.255.255:67, TTL 128, IP id 0, UDP checksum 0
//       on Pi 3 (spec 3.1). Receives every UDP datagram to port 68 on IF (also unicast to an
//       address the interface does not have, as dnsmasq sends its OFFERs). Prints each reply
//       and a final "result: bound address A tftp T server S" (exit 0) or "result: failed"
//       (exit 1).
//   relay   --local ADDR --server ADDR --count N [--mac-base MAC] [--window W] [--rto-ms N]
//           [--tries N] [--idle-ms N]
//       DORA for N clients (MAC = base + i) as a relay agent (giaddr = local, UDP 67 <-> 67).
//       Prints "ack MAC IP" for every ACK the moment it arrives, then "summary: acked A of N".
//   verify  --local ADDR --server ADDR --acks FILE
//       For each "ack MAC IP" line: another client's REQUEST for IP must be NAKed (the address
//       is leased) and a DISCOVER from MAC must be offered IP again. Exit 1 if any fails.
//   leases  FILE
//       Opens a lease journal with the library (recovering it) and prints
//       "lease MAC IP STATE" per lease, then "recovered R records, discarded D bytes".
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pinetboot/core/time.hpp"
#include "pinetboot/dhcp/builder.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/options.hpp"
#include "pinetboot/sim/pi_client.hpp"

namespace {

using namespace pinetboot;
using core::ipv4_address;
using core::mac_address;

struct arguments {
  std::map<std::string, std::string> named;
  std::vector<std::string> positional;
  [[nodiscard]] bool has(std::string const& k) const { return named.count(k) != 0; }
  [[nodiscard]] std::string get(std::string const& k, std::string const& def = {}) const {
    auto it = named.find(k);
    return it == named.end() ? def : it->second;
  }
  [[nodiscard]] long number(std::string const& k, long def) const {
    return has(k) ? std::stol(get(k), nullptr, 0) : def;
  }
};

arguments parse_args(int argc, char** argv, int first) {
  static const char* const flags[] = {"reversed", "legacy-guid"};
  arguments a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0) {
      a.positional.push_back(s);
      continue;
    }
    s = s.substr(2);
    bool is_flag = false;
    for (auto const* f : flags) is_flag = is_flag || s == f;
    if (is_flag) {
      a.named[s] = "1";
    } else {
      if (i + 1 >= argc) throw std::invalid_argument("--" + s + " needs a value");
      a.named[s] = argv[++i];
    }
  }
  return a;
}

mac_address mac_or_throw(std::string const& s) {
  auto m = mac_address::parse(s);
  if (!m) throw std::invalid_argument("bad MAC " + s);
  return *m;
}
ipv4_address ip_or_throw(std::string const& s) {
  auto a = ipv4_address::parse(s);
  if (!a) throw std::invalid_argument("bad IPv4 address " + s);
  return *a;
}

char const* type_name(dhcp::message_type t) {
  static constexpr char const* names[] = {"?",   "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
                                          "ACK", "NAK",      "RELEASE", "INFORM"};
  auto i = static_cast<std::size_t>(t);
  return i < std::size(names) ? names[i] : "?";
}

std::uint16_t checksum(std::span<const std::uint8_t> data, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < data.size(); i += 2)
    sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (data.size() % 2 != 0) sum += static_cast<std::uint32_t>(data.back() << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

// ---- pi -----------------------------------------------------------------------------------

int run_pi(arguments const& a) {
  dhcp::pi_client_config cfg;
  auto model = a.get("model", "pi4");
  if (model == "pi3_rom")
    cfg.generation = dhcp::pi_generation::pi3_rom;
  else if (model == "pi3_bootcode")
    cfg.generation = dhcp::pi_generation::pi3_bootcode;
  else if (model == "pi4")
    cfg.generation = dhcp::pi_generation::pi4;
  else if (model == "pi5")
    cfg.generation = dhcp::pi_generation::pi5;
  else
    throw std::invalid_argument("unknown --model " + model);
  cfg.mac = mac_or_throw(a.get("mac"));
  cfg.serial = static_cast<std::uint32_t>(std::stoul(a.get("serial", "0"), nullptr, 16));
  cfg.fourcc_reversed = a.has("reversed");
  if (a.has("legacy-guid")) cfg.guid = dhcp::pi_guid_layout::serial_repeated;
  cfg.seed = static_cast<std::uint64_t>(core::steady_clock::now().time_since_epoch().count());
  cfg.retry_interval = std::chrono::milliseconds{a.number("retry-ms", 0)};
  cfg.give_up_after = std::chrono::milliseconds{a.number("give-up-ms", 0)};
  auto limit = std::chrono::seconds{a.number("timeout-s", 60)};
  bool pi3 =
      cfg.generation == dhcp::pi_generation::pi3_rom || cfg.generation == dhcp::pi_generation::pi3_bootcode;

  auto ifname = a.get("interface");
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) throw std::invalid_argument("no interface " + ifname);
  int fd = ::socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
  if (fd < 0) throw std::runtime_error(std::string{"packet socket: "} + std::strerror(errno));
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_IP);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
    throw std::runtime_error(std::string{"bind packet socket: "} + std::strerror(errno));
  packet_mreq mr{};
  mr.mr_ifindex = static_cast<int>(ifindex);
  mr.mr_type = PACKET_MR_PROMISC;
  (void)::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);

  dhcp::pi_client client{cfg};
  std::printf("model %s mac %s xid 0x%08x\n", model.c_str(), cfg.mac.to_string().c_str(), client.xid());
  std::array<std::byte, 1500> payload{};
  std::array<std::uint8_t, 1528> frame{};
  auto start = core::steady_clock::now();
  auto send = [&](std::size_t n) {
    // IPv4 header (20) + UDP header (8) + payload, to the Ethernet broadcast address.
    std::size_t total = 28 + n;
    std::memset(frame.data(), 0, 28);
    frame[0] = 0x45;
    frame[2] = static_cast<std::uint8_t>(total >> 8);
    frame[3] = static_cast<std::uint8_t>(total & 0xff);
    frame[8] = 128;  // TTL as the Pi's ROM (spec 3.1)
    frame[9] = 17;
    std::memset(frame.data() + 16, 0xff, 4);
    auto ipsum = checksum({frame.data(), 20});
    frame[10] = static_cast<std::uint8_t>(ipsum >> 8);
    frame[11] = static_cast<std::uint8_t>(ipsum & 0xff);
    auto* udp = frame.data() + 20;
    udp[1] = 68;
    udp[3] = 67;
    udp[4] = static_cast<std::uint8_t>((n + 8) >> 8);
    udp[5] = static_cast<std::uint8_t>((n + 8) & 0xff);
    std::memcpy(udp + 8, payload.data(), n);
    if (!pi3) {
      // Pseudo header: src 0.0.0.0, dst 255.255.255.255, protocol 17, UDP length.
      std::uint32_t pseudo = 0xffff + 0xffff + 17 + static_cast<std::uint32_t>(n + 8);
      auto s = checksum({udp, n + 8}, pseudo);
      if (s == 0) s = 0xffff;
      udp[6] = static_cast<std::uint8_t>(s >> 8);
      udp[7] = static_cast<std::uint8_t>(s & 0xff);
    }  // Pi 3: checksum 0, "no cksum" (spec 3.1)
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_IP);
    to.sll_ifindex = static_cast<int>(ifindex);
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    if (::sendto(fd, frame.data(), total, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
      std::printf("send failed: %s\n", std::strerror(errno));
  };

  while (!client.is_done()) {
    auto now = core::steady_clock::now();
    if (now - start > limit) break;
    for (;;) {
      auto n = client.poll_transmit(payload, now);
      if (!n || *n == 0) break;
      auto m = dhcp::message_view::parse(std::span{payload}.first(*n));
      auto t = dhcp::opt::message_type(*m);
      std::printf("%.3f sent %s (%zu bytes)\n", std::chrono::duration<double>(now - start).count(),
                  t ? type_name(*t) : "?", *n);
      send(*n);
    }
    std::fflush(stdout);
    if (client.is_done()) break;
    auto deadline = client.next_deadline().value_or(now + std::chrono::seconds{1});
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::clamp<long long>(wait_ms, 0, 1000))) > 0) {
      std::array<std::uint8_t, 2048> rx{};
      sockaddr_ll from{};
      socklen_t fl = sizeof from;
      auto got = ::recvfrom(fd, rx.data(), rx.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (got < 28 || from.sll_pkttype == PACKET_OUTGOING) continue;
      auto len = static_cast<std::size_t>(got);
      std::size_t ihl = (rx[0] & 0x0fU) * 4U;
      if ((rx[0] >> 4) != 4 || rx[9] != 17 || len < ihl + 8) continue;
      auto const* udp = rx.data() + ihl;
      if ((udp[2] << 8 | udp[3]) != 68) continue;
      std::size_t ulen = static_cast<std::size_t>(udp[4] << 8 | udp[5]);
      if (ulen < 8 || ihl + ulen > len) continue;
      std::span<const std::byte> dgram{reinterpret_cast<std::byte const*>(udp + 8), ulen - 8};
      ipv4_address src{rx[12], rx[13], rx[14], rx[15]};
      ipv4_address dst{rx[16], rx[17], rx[18], rx[19]};
      if (auto m = dhcp::message_view::parse(dgram); m && m->xid() == client.xid() && m->mac() == cfg.mac) {
        auto t = dhcp::opt::message_type(*m);
        auto sid = dhcp::opt::server_id(*m);
        auto v43 = dhcp::opt::vendor_specific(*m);
        bool menu = false;
        if (v43) {
          auto pxe = dhcp::parse_pxe_options(*v43);
          menu = pxe && pxe->menu_contains(dhcp::pi_boot_menu_text);
        }
        std::printf("%.3f recv %s from %s to %s server-id %s yiaddr %s menu %s\n",
                    std::chrono::duration<double>(core::steady_clock::now() - start).count(),
                    t ? type_name(*t) : "?", src.to_string().c_str(), dst.to_string().c_str(),
                    sid ? sid->to_string().c_str() : "-", m->yiaddr().to_string().c_str(),
                    menu ? "yes" : "no");
      }
      client.on_datagram(dgram, core::steady_clock::now());
    }
    client.on_timer(core::steady_clock::now());
  }
  ::close(fd);
  auto const& o = client.outcome();
  std::printf("offers: %zu, discovers: %u, requests: %u\n", client.offers_seen(), client.discovers_sent(),
              client.requests_sent());
  if (client.state() == dhcp::pi_client_state::bound) {
    std::printf("result: bound address %s tftp %s server %s\n", o.address.to_string().c_str(),
                o.tftp_server.to_string().c_str(), o.address_server.to_string().c_str());
    return 0;
  }
  std::printf("result: failed (%s)\n", std::string{dhcp::to_string(client.state())}.c_str());
  return 1;
}

// ---- relay --------------------------------------------------------------------------------

struct relay_socket {
  int fd = -1;
  sockaddr_in server{};
  ipv4_address local;
  relay_socket(ipv4_address local_addr, ipv4_address server_addr) : local{local_addr} {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw std::runtime_error("socket");
    int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int big = 4 << 20;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    sockaddr_in me{};
    me.sin_family = AF_INET;
    me.sin_port = htons(67);
    me.sin_addr.s_addr = htonl(local.to_uint());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0)
      throw std::runtime_error(std::string{"bind relay port 67: "} + std::strerror(errno));
    server.sin_family = AF_INET;
    server.sin_port = htons(67);
    server.sin_addr.s_addr = htonl(server_addr.to_uint());
  }
  ~relay_socket() { ::close(fd); }
  relay_socket(relay_socket const&) = delete;
  relay_socket& operator=(relay_socket const&) = delete;

  void send(std::span<const std::byte> b) const {
    (void)::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr const*>(&server), sizeof server);
  }
  /// Waits up to `ms` for one datagram.
  std::optional<std::size_t> receive(std::span<std::byte> into, int ms) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return std::nullopt;
    auto n = ::recv(fd, into.data(), into.size(), 0);
    if (n <= 0) return std::nullopt;
    return static_cast<std::size_t>(n);
  }
};

std::size_t build(std::span<std::byte> out, dhcp::message_type type, mac_address mac, std::uint32_t xid,
                  ipv4_address giaddr, std::optional<ipv4_address> requested = {},
                  std::optional<ipv4_address> server = {}) {
  dhcp::message_builder b{out};
  b.op(dhcp::bootp_op::request).mac(mac).xid(xid).hops(1).giaddr(giaddr);
  b.add_message_type(type);
  if (requested) b.add_ip(dhcp::option::requested_address, *requested);
  if (server) b.add_ip(dhcp::option::server_id, *server);
  auto n = b.finish();
  if (!n) throw std::runtime_error("build failed");
  return *n;
}

mac_address nth_mac(mac_address base, std::uint32_t i) {
  auto b = base.bytes();
  std::uint32_t low = static_cast<std::uint32_t>(b[3]) << 16 | static_cast<std::uint32_t>(b[4]) << 8 | b[5];
  low += i;
  b[3] = static_cast<std::uint8_t>(low >> 16);
  b[4] = static_cast<std::uint8_t>(low >> 8);
  b[5] = static_cast<std::uint8_t>(low);
  return mac_address{b};
}

int run_relay(arguments const& a) {
  auto local = ip_or_throw(a.get("local"));
  relay_socket sock{local, ip_or_throw(a.get("server"))};
  auto count = static_cast<std::uint32_t>(a.number("count", 100));
  auto base = mac_or_throw(a.get("mac-base", "02:00:00:00:00:00"));
  auto window = static_cast<std::uint32_t>(a.number("window", 32));
  auto rto = std::chrono::milliseconds{a.number("rto-ms", 1000)};
  auto tries = a.number("tries", 3);
  auto idle = std::chrono::milliseconds{a.number("idle-ms", 3000)};
  std::uint32_t xid_base =
      static_cast<std::uint32_t>(core::steady_clock::now().time_since_epoch().count()) & 0xfff00000U;

  enum class st : std::uint8_t { waiting, discover, request, done, failed };
  struct client {
    st state = st::waiting;
    core::time_point sent{};
    long tries = 0;
    ipv4_address offered, server;
  };
  std::vector<client> clients(count);
  std::array<std::byte, 1500> buf{};
  std::uint32_t next = 0, active = 0, acked = 0, failed = 0;
  auto last_reply = core::steady_clock::now();
  auto transmit = [&](std::uint32_t i) {
    auto& c = clients[i];
    auto n = c.state == st::discover
                 ? build(buf, dhcp::message_type::discover, nth_mac(base, i), xid_base + i, local)
                 : build(buf, dhcp::message_type::request, nth_mac(base, i), xid_base + i, local, c.offered,
                         c.server);
    sock.send(std::span{buf}.first(n));
    c.sent = core::steady_clock::now();
    ++c.tries;
  };
  while (acked + failed < count) {
    while (active < window && next < count) {
      clients[next].state = st::discover;
      transmit(next++);
      ++active;
    }
    std::array<std::byte, 1500> rx{};
    if (auto n = sock.receive(rx, 20)) {
      auto m = dhcp::message_view::parse(std::span{rx}.first(*n));
      if (m && m->op() == dhcp::bootp_op::reply && m->xid() - xid_base < count) {
        auto i = m->xid() - xid_base;
        auto& c = clients[i];
        auto t = dhcp::opt::message_type(*m);
        last_reply = core::steady_clock::now();
        if (t && *t == dhcp::message_type::offer && c.state == st::discover) {
          c.offered = m->yiaddr();
          c.server = dhcp::opt::server_id(*m).value_or(ipv4_address{});
          c.state = st::request;
          c.tries = 0;
          transmit(i);
        } else if (t && *t == dhcp::message_type::ack && c.state == st::request) {
          c.state = st::done;
          ++acked;
          --active;
          std::printf("ack %s %s\n", nth_mac(base, i).to_string().c_str(), m->yiaddr().to_string().c_str());
          std::fflush(stdout);
        } else if (t && *t == dhcp::message_type::nak && c.state == st::request) {
          c.state = st::failed;
          ++failed;
          --active;
          std::printf("nak %s\n", nth_mac(base, i).to_string().c_str());
        }
      }
    }
    auto now = core::steady_clock::now();
    for (std::uint32_t i = 0; i < next; ++i) {
      auto& c = clients[i];
      if ((c.state != st::discover && c.state != st::request) || now - c.sent < rto) continue;
      if (c.tries >= tries) {
        c.state = st::failed;
        ++failed;
        --active;
      } else {
        transmit(i);
      }
    }
    if (now - last_reply > idle) break;
  }
  std::printf("summary: acked %u of %u\n", acked, count);
  return acked == count ? 0 : 1;
}

// ---- verify -------------------------------------------------------------------------------

std::optional<dhcp::message_type> exchange(relay_socket const& sock, std::span<std::byte> tx, std::size_t n,
                                           std::uint32_t xid, ipv4_address& yiaddr) {
  std::array<std::byte, 1500> rx{};
  for (int attempt = 0; attempt < 3; ++attempt) {
    sock.send(tx.first(n));
    auto until = core::steady_clock::now() + std::chrono::milliseconds{700};
    while (core::steady_clock::now() < until) {
      auto got = sock.receive(rx, 50);
      if (!got) continue;
      auto m = dhcp::message_view::parse(std::span{rx}.first(*got));
      if (!m || m->xid() != xid) continue;
      yiaddr = m->yiaddr();
      auto t = dhcp::opt::message_type(*m);
      if (t) return *t;
    }
  }
  return std::nullopt;
}

int run_verify(arguments const& a) {
  auto local = ip_or_throw(a.get("local"));
  relay_socket sock{local, ip_or_throw(a.get("server"))};
  std::ifstream in{a.get("acks")};
  if (!in) throw std::invalid_argument("cannot read --acks file");
  std::string line;
  std::uint32_t xid = 0x7e570000, ok = 0, bad = 0;
  std::array<std::byte, 1500> tx{};
  while (std::getline(in, line)) {
    std::istringstream ss{line};
    std::string word, mac_text, ip_text;
    if (!(ss >> word >> mac_text >> ip_text) || word != "ack") continue;
    auto mac = mac_or_throw(mac_text);
    auto ip = ip_or_throw(ip_text);
    // A different client asking for the address: must be refused if the lease survived.
    auto other = mac.bytes();
    other[0] = static_cast<std::uint8_t>(other[0] ^ 0x04);
    ipv4_address y;
    auto n = build(tx, dhcp::message_type::request, mac_address{other}, ++xid, local, ip);
    auto t1 = exchange(sock, tx, n, xid, y);
    n = build(tx, dhcp::message_type::discover, mac, ++xid, local);
    ipv4_address offered;
    auto t2 = exchange(sock, tx, n, xid, offered);
    bool good = t1 == dhcp::message_type::nak && t2 == dhcp::message_type::offer && offered == ip;
    std::printf("verify %s %s %s (intruder: %s, discover: %s %s)\n", mac_text.c_str(), ip_text.c_str(),
                good ? "ok" : "LOST", t1 ? type_name(*t1) : "no answer", t2 ? type_name(*t2) : "no answer",
                offered.to_string().c_str());
    (good ? ok : bad)++;
  }
  std::printf("summary: verified %u, lost %u\n", ok, bad);
  return bad == 0 && ok > 0 ? 0 : 1;
}

// ---- leases -------------------------------------------------------------------------------

int run_leases(arguments const& a) {
  if (a.positional.empty()) throw std::invalid_argument("leases FILE");
  auto store = dhcp::lease_store::open({.path = a.positional[0], .compact_after = 0, .sync = false});
  if (!store) {
    std::printf("cannot open: %s\n", store.error().message().c_str());
    return 1;
  }
  static constexpr char const* states[] = {"?", "offered", "bound", "released", "declined"};
  store->for_each([](dhcp::lease const& l) {
    auto s = static_cast<std::size_t>(l.state);
    std::printf("lease %s %s %s\n", l.mac.to_string().c_str(), l.ip.to_string().c_str(),
                s < std::size(states) ? states[s] : "?");
  });
  std::printf("recovered %zu records, discarded %llu bytes\n", store->recovery().records,
              static_cast<unsigned long long>(store->recovery().discarded_bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw std::invalid_argument("usage: pinetboot-dhcp-driver pi|relay|verify|leases ...");
    std::string cmd = argv[1];
    auto a = parse_args(argc, argv, 2);
    int rc = 2;
    if (cmd == "pi")
      rc = run_pi(a);
    else if (cmd == "relay")
      rc = run_relay(a);
    else if (cmd == "verify")
      rc = run_verify(a);
    else if (cmd == "leases")
      rc = run_leases(a);
    else
      throw std::invalid_argument("unknown command " + cmd);
    std::fflush(stdout);
    return rc;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pinetboot-dhcp-driver: %s\n", e.what());
    return 2;
  }
}
