#include "pinetboot/dhcp/engine.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "pinetboot/dhcp/builder.hpp"
#include "pinetboot/dhcp/options.hpp"

namespace pinetboot::dhcp {
namespace {

constexpr std::uint16_t kServerPort = 67;
constexpr std::uint16_t kClientPort = 68;
constexpr std::uint16_t kPxePort = 4011;
/// How long the class seen in a DISCOVER is applied to the same client's REQUEST.
constexpr std::int64_t kRecallSeconds = 300;
constexpr std::size_t kMaxRemembered = 65536;
/// PXE discovery control bit 3: use the boot file of this offer, skip boot-server discovery.
constexpr std::uint8_t kDiscoveryUseBootFile = 0x08;

/// A client key in a fixed buffer (option 61, else htype + chaddr; RFC 2131 4.2).
struct key_buffer {
  std::array<char, 256> bytes{};
  std::size_t size = 0;
  [[nodiscard]] std::string_view view() const noexcept { return {bytes.data(), size}; }
};

key_buffer client_key_of(message_view const& m) noexcept {
  key_buffer k;
  if (auto id = m.find(option::client_id); id && !id->data.empty()) {
    k.size = id->data.size();
    std::memcpy(k.bytes.data(), id->data.data(), k.size);
    return k;
  }
  auto hw = m.hardware_address();
  k.bytes[0] = static_cast<char>(m.htype());
  std::memcpy(k.bytes.data() + 1, hw.data(), hw.size());
  k.size = 1 + hw.size();
  return k;
}

std::uint64_t chaddr_key(message_view const& m) noexcept {
  std::uint64_t v = m.htype();
  for (std::size_t i = 0; i < 6; ++i) v = v << 8 | std::to_integer<std::uint64_t>(m.chaddr()[i]);
  return v;
}

/// The text form of an address for option 66 (no allocation).
struct ip_text {
  std::array<char, 16> chars{};
  std::size_t size = 0;
  explicit ip_text(core::ipv4_address a) noexcept {
    auto o = a.octets();
    for (std::size_t i = 0; i < 4; ++i) {
      if (i > 0) chars[size++] = '.';
      unsigned v = o[i];
      if (v >= 100) chars[size++] = static_cast<char>('0' + v / 100);
      if (v >= 10) chars[size++] = static_cast<char>('0' + v / 10 % 10);
      chars[size++] = static_cast<char>('0' + v % 10);
    }
  }
  [[nodiscard]] std::string_view view() const noexcept { return {chars.data(), size}; }
};

bool is_pi3(classification const& c) noexcept {
  return c.kind == client_class::raspberry_pi &&
         (c.pi == pi_generation::pi3_rom || c.pi == pi_generation::pi3_bootcode);
}

std::uint32_t t1_of(std::uint32_t lease) noexcept { return lease / 2; }
std::uint32_t t2_of(std::uint32_t lease) noexcept { return static_cast<std::uint32_t>(std::uint64_t{lease} * 7 / 8); }

/// Upper bound for a reply: the client's option 57 (whole IP datagram) or 576.
std::size_t reply_limit(message_view const& m, std::size_t out_size) noexcept {
  std::size_t max = 576;
  if (auto v = opt::max_message_size(m); v && *v > max) max = *v;
  return std::min(out_size, max - 28);  // IP + UDP headers
}

}  // namespace

server_engine::server_engine(engine_config config, lease_store& leases)
    : config_{std::move(config)}, leases_{leases} {
  classifier_.pi_ouis = config_.pi_ouis;
  classifier_.extra_guid_prefixes = config_.extra_guid_prefixes;
  index_reservations();
}

void server_engine::reconfigure(engine_config config) {
  config_ = std::move(config);
  // The classifier's spans point into config_.
  classifier_.pi_ouis = config_.pi_ouis;
  classifier_.extra_guid_prefixes = config_.extra_guid_prefixes;
  index_reservations();
}

void server_engine::index_reservations() {
  reserved_.clear();
  for (auto const& h : config_.hosts)
    if (h.address) reserved_.push_back(h.address->to_uint());
  std::sort(reserved_.begin(), reserved_.end());
  reserved_.erase(std::unique(reserved_.begin(), reserved_.end()), reserved_.end());
}

pool_usage server_engine::usage(std::size_t subnet, std::int64_t now) const noexcept {
  pool_usage u;
  if (subnet >= config_.subnets.size()) return u;
  auto const& net = config_.subnets[subnet];
  std::uint32_t first = net.range_start.to_uint(), last = net.range_end.to_uint();
  if (last < first) return u;
  u.size = std::uint64_t{last} - first + 1;
  std::uint64_t held = 0;  // addresses with a live record
  (void)leases_.find_in(first, last, [&](lease const& l) {
    if (l.expires > now) {
      ++held;
      switch (l.state) {
        case lease_state::bound: ++u.leased; break;
        case lease_state::offered: ++u.offered; break;
        case lease_state::declined: ++u.declined; break;
        case lease_state::released: ++u.released; break;
      }
    }
    return false;  // visit them all
  });
  for (auto it = std::lower_bound(reserved_.begin(), reserved_.end(), first); it != reserved_.end() && *it <= last;
       ++it) {
    auto const* l = leases_.find_by_ip(core::ipv4_address{*it});
    if (l == nullptr || l->expires <= now) ++u.reserved;
  }
  u.free = u.size - held - u.reserved;
  return u;
}

core::ipv4_address server_engine::our_address(packet_context const& ctx) const noexcept {
  return config_.server_address.is_unspecified() ? ctx.local_address : config_.server_address;
}

host_config const* server_engine::find_host(std::optional<core::mac_address> mac) const noexcept {
  if (!mac) return nullptr;
  for (auto const& h : config_.hosts)
    if (h.mac == *mac) return &h;
  return nullptr;
}

subnet_config const* server_engine::select_subnet(message_view const& m, packet_context const& ctx) const noexcept {
  // RFC 3527 link selection wins, then the relay's giaddr, then the receiving interface.
  core::ipv4_address link = ctx.local_address;
  if (auto sel = opt::link_selection(m)) link = *sel;
  else if (!m.giaddr().is_unspecified()) link = m.giaddr();
  for (auto const& s : config_.subnets)
    if (s.contains(link)) return &s;
  return nullptr;
}

void server_engine::remember(message_view const& m, classification const& c, std::int64_t now) noexcept {
  if (c.kind == client_class::not_pxe) return;
  if (boot_clients_.size() >= kMaxRemembered) boot_clients_.clear();
  boot_clients_[chaddr_key(m)] = remembered{c, now};
}

classification server_engine::recall(message_view const& m, classification c, std::int64_t now) const noexcept {
  if (c.kind != client_class::not_pxe) return c;
  auto it = boot_clients_.find(chaddr_key(m));
  if (it == boot_clients_.end() || now - it->second.seen > kRecallSeconds) return c;
  return it->second.client;
}

std::optional<server_engine::boot_answer> server_engine::boot_for(classification const& c, host_config const* host,
                                                                  core::ipv4_address ours) const noexcept {
  boot_answer a;
  auto const& p = config_.boot;
  switch (c.kind) {
    case client_class::not_pxe: return std::nullopt;
    case client_class::raspberry_pi:
      a.pi = true;
      a.padded_menu = p.pi3_rom_padded_menu && c.pi == pi_generation::pi3_rom;
      a.server = p.pi_server.value_or(ours);
      if (host != nullptr && host->boot && host->boot->server) a.server = *host->boot->server;
      return a;
    case client_class::x86_bios: a.target = &p.x86_bios; break;
    case client_class::uefi_ia32: a.target = &p.uefi_ia32; break;
    case client_class::uefi_x64: a.target = &p.uefi_x64; break;
    case client_class::uefi_arm32: a.target = &p.uefi_arm32; break;
    case client_class::uefi_arm64: a.target = &p.uefi_arm64; break;
    case client_class::uefi_http: a.target = &p.uefi_http; a.http = true; break;
    case client_class::ipxe: a.target = &p.ipxe; break;
    case client_class::unknown_pxe: a.target = &p.unknown_pxe; break;
  }
  if (host != nullptr && host->boot) a.target = &*host->boot;
  a.server = a.target->server.value_or(ours);
  return a;
}

bool server_engine::reserved_for_other(core::ipv4_address a, std::optional<core::mac_address> mac) const noexcept {
  return std::any_of(config_.hosts.begin(), config_.hosts.end(), [&](host_config const& h) {
    return h.address && *h.address == a && (!mac || h.mac != *mac);
  });
}

namespace {
/// Whether the address of lease `l` may go to the client `key` at `now`.
bool address_free_for_lease(lease const& l, std::string_view key, std::int64_t now) noexcept {
  if (l.state == lease_state::declined) return l.expires <= now;
  if (l.client == key) return true;
  return l.expires <= now;
}
}  // namespace

bool server_engine::address_free_for(core::ipv4_address a, std::string_view key, std::int64_t now) const noexcept {
  auto const* l = leases_.find_by_ip(a);
  return l == nullptr || address_free_for_lease(*l, key, now);
}

std::optional<core::ipv4_address> server_engine::pick_address(subnet_config const& net, message_view const& m,
                                                              std::string_view key, host_config const* host,
                                                              std::int64_t now) const noexcept {
  auto mac = m.mac();
  if (host != nullptr && host->address) {
    if (net.contains(*host->address)) return host->address;
    return std::nullopt;  // reserved elsewhere: never hand out a pool address instead
  }
  auto in_range = [&](core::ipv4_address a) {
    return a.to_uint() >= net.range_start.to_uint() && a.to_uint() <= net.range_end.to_uint();
  };
  auto usable = [&](core::ipv4_address a) {
    return in_range(a) && address_free_for(a, key, now) && !reserved_for_other(a, mac);
  };
  if (auto const* l = leases_.find_by_client(key); l != nullptr && usable(l->ip)) return l->ip;
  if (auto req = opt::requested_address(m); req && usable(*req)) return *req;

  std::uint32_t first = net.range_start.to_uint(), last = net.range_end.to_uint();
  if (last < first) return std::nullopt;
  std::uint64_t count = std::uint64_t{last} - first + 1;
  // Start at a hash of the client key, so a client tends to get the same address even if its
  // lease was lost, and two Pi 3s booting at once do not race for the first free one.
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  auto start = static_cast<std::uint32_t>(first + h % count);
  // The address ranges to search, in order: from the hash to the end, then from the start.
  std::array<std::pair<std::uint32_t, std::uint32_t>, 2> spans{{{start, last}, {first, start - 1}}};
  if (start == first) spans[1] = {1, 0};  // empty
  // First pass: addresses never leased. Walking the store's ordered records skips a run of
  // leased addresses without one lookup each, so a nearly full pool costs one walk, not one
  // search per address.
  for (auto [lo, hi] : spans) {
    for (auto a = leases_.first_unleased(lo, hi); a; a = a->to_uint() < hi ? leases_.first_unleased(a->to_uint() + 1, hi)
                                                                             : std::nullopt) {
      if (!reserved_for_other(*a, mac)) return a;
    }
  }
  // Second pass: expired leases (and declined addresses whose hold time is over).
  for (auto [lo, hi] : spans) {
    auto const* l = leases_.find_in(lo, hi, [&](lease const& x) {
      return address_free_for_lease(x, key, now) && !reserved_for_other(x.ip, mac);
    });
    if (l != nullptr) return l->ip;
  }
  return std::nullopt;
}

reply server_engine::handle(std::span<const std::byte> datagram, packet_context const& ctx,
                            std::span<std::byte> out) noexcept {
  reply r;
  auto parsed = message_view::parse(datagram);
  if (!parsed) {
    r.outcome = "ignored: malformed message";
    return r;
  }
  auto const& m = *parsed;
  r.mac = m.mac();
  if (m.op() != bootp_op::request) {
    r.outcome = "ignored: not a BOOTREQUEST";
    return r;
  }
  auto type = opt::message_type(m);
  if (!type) {
    r.outcome = "ignored: no DHCP message type";
    return r;
  }
  r.request_type = *type;
  r.client = classify(m, classifier_);
  if (*type == message_type::discover) remember(m, r.client, ctx.now);
  if (*type == message_type::request) {
    r.client = recall(m, r.client, ctx.now);  // Pi 4/5 REQUESTs carry no option 60
    if (!m.ciaddr().is_unspecified()) r.client_address = m.ciaddr();
    else if (auto req = opt::requested_address(m)) r.client_address = *req;
  }
  if (config_.mode == server_mode::proxy) return handle_proxy(m, *type, ctx, r, out);
  return handle_full(m, *type, ctx, r, out);
}

namespace {

/// Writes the boot options for `a` in the order the spec's captures show (60, 97, 43, 66, 67).
void add_boot_options(message_builder& b, message_view const& m, auto const& a, std::string_view pi_menu,
                      std::span<std::byte> scratch) noexcept {
  if (a.pi) {
    b.add_string(option::vendor_class, "PXEClient");
    if (auto guid = m.find(option::client_guid)) b.add(*guid);
    std::array<char, 256> text{};
    std::size_t n = std::min(pi_menu.size(), text.size() - 3);
    std::memcpy(text.data(), pi_menu.data(), n);
    if (a.padded_menu) {
      std::memcpy(text.data() + n, "   ", 3);
      n += 3;
    }
    if (auto len = write_pi_boot_menu(scratch, {text.data(), n})) b.add_raw(option::vendor_specific, scratch.first(*len));
    return;
  }
  b.add_string(option::vendor_class, a.http ? "HTTPClient" : "PXEClient");
  if (auto guid = m.find(option::client_guid)) b.add(*guid);
  if (!a.http) {
    pxe_options_writer w{scratch};
    w.discovery_control(kDiscoveryUseBootFile);
    // On the boot-server port, echo the boot item the client asked for (PXE 2.1, 2.2.5).
    if (auto req43 = m.find(option::vendor_specific)) {
      if (auto pxe = parse_pxe_options(req43->data); pxe && pxe->boot_item)
        w.boot_item(pxe->boot_item->type, pxe->boot_item->layer);
    }
    if (auto len = w.finish()) b.add_raw(option::vendor_specific, scratch.first(*len));
    ip_text server{a.server};
    b.add_string(option::tftp_server, server.view());
  }
  if (!a.target->boot_file.empty()) b.add_string(option::bootfile, a.target->boot_file);
}

void set_boot_header(message_builder& b, auto const& a) noexcept {
  b.siaddr(a.server);
  if (!a.pi && a.target != nullptr && a.target->boot_file.size() < layout::file_size) b.file(a.target->boot_file);
}

void echo_relay_agent(message_builder& b, message_view const& m) noexcept {
  // RFC 3046 2.2: echoed unchanged, as the last option.
  for (option_view o : m.options())
    if (o.code == option::relay_agent) b.add(o);
}

/// RFC 2131 4.1 destination of a reply (broadcast instead of unicast-to-yiaddr: we do not
/// write ARP entries, and the spec says broadcasting works for every Pi generation).
void route(reply& r, message_view const& m, message_type type) noexcept {
  if (!m.giaddr().is_unspecified()) {
    r.destination = m.giaddr();
    r.port = kServerPort;
    r.broadcast = false;
  } else if (type != message_type::nak && !m.ciaddr().is_unspecified()) {
    r.destination = m.ciaddr();
    r.port = kClientPort;
  } else {
    r.destination = core::ipv4_address{0xffffffffU};
    r.port = kClientPort;
    r.broadcast = true;
  }
}

}  // namespace

reply server_engine::handle_proxy(message_view const& m, message_type type, packet_context const& ctx, reply r,
                                  std::span<std::byte> out) noexcept {
  bool boot_port = ctx.local_port == kPxePort;
  if (r.client.kind == client_class::not_pxe) {
    r.outcome = "ignored: not a PXE client (proxy mode)";
    return r;
  }
  if (!boot_port && type != message_type::discover) {
    r.outcome = "ignored: proxy mode leaves this to the address server";
    return r;
  }
  if (boot_port && type != message_type::request && type != message_type::inform) {
    r.outcome = "ignored: unexpected message on the boot-server port";
    return r;
  }
  auto ours = our_address(ctx);
  auto host = find_host(m.mac());
  auto boot = boot_for(r.client, host, ours);
  if (!boot) return r;

  auto reply_type = boot_port ? message_type::ack : message_type::offer;
  std::array<std::byte, 256> scratch{};
  auto b = start_reply(out.first(reply_limit(m, out.size())), m, reply_type);
  b.add_ip(option::server_id, ours);
  if (host != nullptr && !host->hostname.empty()) b.add_string(option::hostname, host->hostname);
  add_boot_options(b, m, *boot, config_.boot.pi_menu, scratch);
  echo_relay_agent(b, m);
  set_boot_header(b, *boot);
  if (boot_port) {
    b.ciaddr(m.ciaddr());
  } else {
    b.broadcast(true);  // proxy offers go to everyone on the link, as dnsmasq's do
  }
  auto size = b.finish();
  if (!size) {
    r.outcome = "dropped: reply does not fit";
    return r;
  }
  r.size = *size;
  r.reply_type = reply_type;
  r.boot_file = boot->target != nullptr ? std::string_view{boot->target->boot_file} : std::string_view{};
  if (boot_port) {
    // PXE 2.1: the boot server answers the client's address and port.
    r.destination = ctx.source.is_unspecified() ? m.ciaddr() : ctx.source;
    r.port = ctx.source_port;
    r.broadcast = false;
  } else {
    route(r, m, reply_type);
    if (m.giaddr().is_unspecified()) {
      r.destination = core::ipv4_address{0xffffffffU};
      r.port = kClientPort;
      r.broadcast = true;
    }
  }
  if (is_pi3(r.client)) r.delay_ms = config_.boot.pi3_reply_delay_ms;
  r.outcome = boot_port ? "boot-server ack" : "proxy offer";
  return r;
}

reply server_engine::handle_full(message_view const& m, message_type type, packet_context const& ctx, reply r,
                                 std::span<std::byte> out) noexcept {
  if (ctx.local_port == kPxePort) return handle_proxy(m, type, ctx, r, out);
  auto const* net = select_subnet(m, ctx);
  if (net == nullptr) {
    r.outcome = "ignored: no subnet configured for this link";
    return r;
  }
  auto key = client_key_of(m);
  auto mac = m.mac();
  auto host = find_host(mac);
  auto ours = our_address(ctx);
  auto now = ctx.now;
  std::string_view hostname = host != nullptr ? std::string_view{host->hostname} : std::string_view{};
  if (hostname.empty()) {
    if (auto h = opt::hostname(m)) hostname = *h;
  }

  auto store = [&](core::ipv4_address ip, lease_state state, std::int64_t expires) {
    lease l;
    l.ip = ip;
    l.client = std::string{key.view()};
    l.expires = expires;
    l.state = state;
    if (mac) l.mac = *mac;
    l.hostname = std::string{hostname};
    leases_.put(std::move(l));
  };

  core::ipv4_address address;
  message_type reply_type = message_type::ack;
  std::string_view nak_reason;
  auto client = r.client;

  switch (type) {
    case message_type::discover: {
      auto pick = pick_address(*net, m, key.view(), host, now);
      if (!pick) {
        r.outcome = "no free address in the pool";
        return r;
      }
      address = *pick;
      reply_type = message_type::offer;
      auto const* existing = leases_.find_by_ip(address);
      bool bound = existing != nullptr && existing->state == lease_state::bound &&
                   existing->client == key.view() && existing->expires > now;
      if (is_pi3(client)) {
        // Pi 2/3 ROMs and bootcode.bin never send REQUEST (spec 3.1): the OFFER binds.
        store(address, lease_state::bound, now + net->lease_time);
        r.needs_commit = true;
      } else if (!bound) {
        store(address, lease_state::offered, now + config_.offer_hold_seconds);
      }
      break;
    }
    case message_type::request: {  // handle() already recalled the class of a Pi 4/5
      auto sid = opt::server_id(m);
      if (sid && *sid != ours) {
        // SELECTING another server's offer: free what we offered.
        if (auto const* l = leases_.find_by_client(key.view()); l != nullptr && l->state == lease_state::offered)
          leases_.erase(l->ip);
        r.outcome = "ignored: client chose another server";
        return r;
      }
      auto requested = opt::requested_address(m);
      core::ipv4_address want = requested ? *requested : m.ciaddr();
      if (want.is_unspecified()) {
        r.outcome = "ignored: REQUEST without an address";
        return r;
      }
      auto const* l = leases_.find_by_client(key.view());
      bool ours_already = l != nullptr && l->ip == want && l->state != lease_state::declined;
      bool in_pool = want.to_uint() >= net->range_start.to_uint() && want.to_uint() <= net->range_end.to_uint();
      bool reserved_here = host != nullptr && host->address && *host->address == want;
      if (!net->contains(want)) {
        nak_reason = "nak: address not on this network";
      } else if (host != nullptr && host->address && *host->address != want) {
        nak_reason = "nak: client has a reserved address";
      } else if (ours_already || reserved_here ||
                 (in_pool && address_free_for(want, key.view(), now) && !reserved_for_other(want, mac))) {
        address = want;
        store(address, lease_state::bound, now + net->lease_time);
        r.needs_commit = true;
      } else {
        nak_reason = "nak: address not available";
      }
      if (!nak_reason.empty()) reply_type = message_type::nak;
      break;
    }
    case message_type::decline: {
      auto requested = opt::requested_address(m);
      if (auto const* l = leases_.find_by_client(key.view()); requested && l != nullptr && l->ip == *requested) {
        lease d;
        d.ip = *requested;
        d.state = lease_state::declined;
        d.expires = now + config_.decline_hold_seconds;
        leases_.put(std::move(d));
        r.needs_commit = true;
        r.address = *requested;
        r.outcome = "declined: address marked in use";
      } else {
        r.outcome = "ignored: DECLINE for an address the client does not hold";
      }
      return r;
    }
    case message_type::release: {
      if (auto const* l = leases_.find_by_client(key.view()); l != nullptr && l->ip == m.ciaddr()) {
        // Kept (expired) so that the same client gets the same address back.
        store(l->ip, lease_state::released, now);
        r.needs_commit = true;
        r.address = m.ciaddr();
        r.outcome = "released";
      } else {
        r.outcome = "ignored: RELEASE for an address the client does not hold";
      }
      return r;
    }
    case message_type::inform:
      reply_type = message_type::ack;
      break;
    default:
      r.outcome = "ignored: not a client message";
      return r;
  }

  std::array<std::byte, 256> scratch{};
  auto b = start_reply(out.first(reply_limit(m, out.size())), m, reply_type);
  b.add_ip(option::server_id, ours);
  if (reply_type == message_type::nak) {
    b.add_string(option::message, nak_reason.substr(5));
    if (!m.giaddr().is_unspecified()) b.broadcast(true);  // RFC 2131 4.3.2
    echo_relay_agent(b, m);
  } else {
    bool inform = type == message_type::inform;
    if (inform) {
      b.ciaddr(m.ciaddr());
    } else {
      b.yiaddr(address);
      b.ciaddr(m.ciaddr());
      b.add_u32(option::lease_time, net->lease_time);
      b.add_u32(option::renewal_time, t1_of(net->lease_time));
      b.add_u32(option::rebinding_time, t2_of(net->lease_time));
    }
    b.add_ip(option::subnet_mask, core::ipv4_address{net->mask()});
    b.add_ip(option::broadcast_address, net->broadcast());
    if (!net->routers.empty()) b.add_ip_list(option::router, net->routers);
    if (!net->dns_servers.empty()) b.add_ip_list(option::domain_server, net->dns_servers);
    if (!net->domain_name.empty()) b.add_string(option::domain_name, net->domain_name);
    if (host != nullptr && !host->hostname.empty()) b.add_string(option::hostname, host->hostname);
    if (auto boot = boot_for(client, host, ours)) {
      add_boot_options(b, m, *boot, config_.boot.pi_menu, scratch);
      set_boot_header(b, *boot);
      r.boot_file = boot->target != nullptr ? std::string_view{boot->target->boot_file} : std::string_view{};
      if (is_pi3(client)) r.delay_ms = config_.boot.pi3_reply_delay_ms;
    } else {
      // A plain client: the header fields U-Boot's `dhcp` and BOOTP-style clients read.
      boot_target const* host_boot = host != nullptr && host->boot ? &*host->boot : nullptr;
      std::string_view file = host_boot != nullptr ? std::string_view{host_boot->boot_file} : net->boot_file;
      auto server = host_boot != nullptr && host_boot->server ? *host_boot->server : net->next_server.value_or(ours);
      b.siaddr(server);
      if (!file.empty() && file.size() < layout::file_size) {
        b.file(file);
        r.boot_file = file;
      }
    }
    echo_relay_agent(b, m);
  }
  auto size = b.finish();
  if (!size) {
    r.outcome = "dropped: reply does not fit";
    r.size = 0;
    return r;
  }
  r.size = *size;
  r.reply_type = reply_type;
  r.address = address;
  route(r, m, reply_type);
  if (reply_type == message_type::nak) r.outcome = nak_reason;
  else if (type == message_type::discover) r.outcome = "offer";
  else if (type == message_type::inform) r.outcome = "inform ack";
  else r.outcome = "ack";
  return r;
}

}  // namespace pinetboot::dhcp
