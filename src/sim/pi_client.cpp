#include "pinetboot/sim/pi_client.hpp"

#include <algorithm>

#include "pinetboot/core/time.hpp"
#include "pinetboot/dhcp/builder.hpp"
#include "pinetboot/dhcp/options.hpp"

namespace pinetboot::dhcp {
namespace {

using std::chrono::milliseconds;

// Option 55 as each generation sends it (spec 3.1 variants A/B, 3.2).
constexpr std::array<std::uint8_t, 12> kPrlVariantA{43, 60, 67, 128, 129, 130, 131, 132, 133, 134, 135, 66};
constexpr std::array<std::uint8_t, 14> kPrlVariantB{43,  60,  67,  128, 129, 130, 131,
                                                    132, 133, 134, 135, 66,  1,   3};
constexpr std::array<std::uint8_t, 14> kPrlEeprom{1,   3,   43,  60,  66,  67,  128,
                                                  129, 130, 131, 132, 133, 134, 135};
constexpr std::string_view kVendorClass = "PXEClient:Arch:00000:UNDI:002001";
constexpr std::array<std::byte, 2> kArchBios{std::byte{0}, std::byte{0}};
constexpr std::array<std::byte, 3> kUndi21{std::byte{1}, std::byte{2}, std::byte{1}};

constexpr std::uint32_t kPi4Revision = 0x00c03111;  // Pi 4B 4 GB rev 1.1
constexpr std::uint32_t kPi5Revision = 0x00c04170;  // Pi 5 4 GB

std::uint64_t splitmix64(std::uint64_t& s) noexcept {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

template <std::size_t N>
std::span<const std::byte> as_span(std::array<std::uint8_t, N> const& a) noexcept {
  return std::as_bytes(std::span{a});
}

void put_le32(std::span<std::byte> out, std::uint32_t v) noexcept {
  for (std::size_t i = 0; i < 4; ++i) out[i] = std::byte(static_cast<std::uint8_t>(v >> (8 * i)));
}

bool has_pi_menu(message_view const& m) noexcept {
  auto v43 = opt::vendor_specific(m);
  if (!v43) return false;
  auto pxe = parse_pxe_options(*v43);
  return pxe && pxe->menu_contains(pi_boot_menu_text);
}

pi_offer read_offer(message_view const& m) noexcept {
  pi_offer o;
  o.yiaddr = m.yiaddr();
  o.siaddr = m.siaddr();
  if (auto v = opt::server_id(m)) o.server_id = *v;
  if (auto v = opt::subnet_mask(m)) o.subnet_mask = *v;
  if (auto v = opt::routers(m); v && !v->empty()) o.router = (*v)[0];
  if (auto v = opt::lease_time(m)) o.lease_time = *v;
  o.pi_menu = has_pi_menu(m);
  return o;
}

}  // namespace

std::string_view to_string(pi_client_state s) noexcept {
  switch (s) {
    case pi_client_state::idle:
      return "idle";
    case pi_client_state::selecting:
      return "selecting";
    case pi_client_state::requesting:
      return "requesting";
    case pi_client_state::bound:
      return "bound";
    case pi_client_state::failed:
      return "failed";
  }
  return "unknown";
}

pi_client::pi_client(pi_client_config const& config) noexcept : config_{config} {
  if (config_.revision == 0)
    config_.revision = config_.generation == pi_generation::pi5 ? kPi5Revision : kPi4Revision;
  bool pi3 = is_pi3();
  if (pi3) {
    xid_ = pi3_xid;
  } else if (config_.xid) {
    xid_ = *config_.xid;
  } else {
    std::uint64_t s = config_.seed;
    for (auto b : config_.mac.bytes()) s = s << 8 ^ b;
    xid_ = static_cast<std::uint32_t>(splitmix64(s));
  }
  interval_ = config_.retry_interval.count() > 0 ? config_.retry_interval : milliseconds{pi3 ? 5000 : 4000};
  give_up_ = config_.give_up_after.count() > 0 ? config_.give_up_after : milliseconds{pi3 ? 25000 : 45000};
}

bool pi_client::is_pi3() const noexcept {
  return config_.generation == pi_generation::pi3_rom || config_.generation == pi_generation::pi3_bootcode;
}

std::array<std::byte, 17> pi_client::guid() const noexcept {
  std::array<std::byte, 17> g{};  // type 0
  auto id = std::span{g}.subspan<1>();
  auto gen = config_.generation;
  if (gen == pi_generation::pi3_rom) {
    std::fill(id.begin(), id.end(), std::byte{0x44});
  } else if (gen == pi_generation::pi3_bootcode || config_.guid == pi_guid_layout::serial_repeated) {
    for (std::size_t i = 0; i < 4; ++i) put_le32(id.subspan(4 * i, 4), config_.serial);
  } else {
    std::array<char, 4> cc{'R', 'P', 'i', gen == pi_generation::pi5 ? '5' : '4'};
    if (config_.fourcc_reversed) std::reverse(cc.begin(), cc.end());
    for (std::size_t i = 0; i < 4; ++i) id[i] = static_cast<std::byte>(cc[i]);
    put_le32(id.subspan(4, 4), config_.revision);
    for (std::size_t i = 0; i < 4; ++i) id[8 + i] = std::byte{config_.mac[2 + i]};
    put_le32(id.subspan(12, 4), config_.serial);
  }
  return g;
}

result<std::size_t> pi_client::write_discover(std::span<std::byte> out) const noexcept {
  message_builder b{out};
  b.op(bootp_op::request).mac(config_.mac).xid(xid_).pad_to(0);
  b.add_message_type(message_type::discover);
  switch (config_.generation) {
    case pi_generation::pi3_rom:
      b.add_raw(option::parameter_list, as_span(kPrlVariantA));
      break;
    case pi_generation::pi3_bootcode:
      b.add_raw(option::parameter_list, as_span(kPrlVariantB));
      break;
    default:
      b.add_raw(option::parameter_list, as_span(kPrlEeprom));
      break;
  }
  auto g = guid();
  b.add_raw(option::client_arch, kArchBios);
  b.add_raw(option::client_ndi, kUndi21);
  b.add_raw(option::client_guid, g);
  b.add_string(option::vendor_class, kVendorClass);
  return b.finish();
}

result<std::size_t> pi_client::write_request(std::span<std::byte> out, core::ipv4_address address,
                                             core::ipv4_address server) const noexcept {
  message_builder b{out};
  b.op(bootp_op::request).mac(config_.mac).xid(xid_);
  b.add_message_type(message_type::request);
  b.add_ip(option::requested_address, address);
  if (!server.is_unspecified()) b.add_ip(option::server_id, server);
  b.add_raw(option::parameter_list, as_span(kPrlEeprom));
  auto g = guid();
  b.add_raw(option::client_arch, kArchBios);
  b.add_raw(option::client_ndi, kUndi21);
  b.add_raw(option::client_guid, g);
  return b.finish();  // no option 60 in the EEPROM's REQUEST (spec 3.2)
}

void pi_client::arm(core::time_point now) noexcept {
  auto retry = now + interval_;
  auto end = started_ + give_up_;
  deadline_ = std::min(retry, end);
}

result<std::size_t> pi_client::poll_transmit(std::span<std::byte> out, core::time_point now) noexcept {
  if (state_ == pi_client_state::idle) {
    state_ = pi_client_state::selecting;
    started_ = now;
    pending_ = pending::discover;
  }
  if (pending_ == pending::none) return std::size_t{0};
  result<std::size_t> n = pending_ == pending::discover
                              ? write_discover(out)
                              : write_request(out, address_offer_->yiaddr, address_offer_->server_id);
  if (!n) return n;
  if (pending_ == pending::discover)
    ++discovers_;
  else
    ++requests_;
  pending_ = pending::none;
  arm(now);
  return n;
}

void pi_client::try_select(core::time_point now) noexcept {
  if (!menu_offer_) return;  // without the menu the Pi ignores every offer (spec 1.2)
  // Merge (spec 3.2): the menu offer's own address if it has one, else the router's.
  if (!menu_offer_->yiaddr.is_unspecified()) address_offer_ = menu_offer_;
  if (!address_offer_) return;
  outcome_.address_server = address_offer_->server_id;
  // Spec 3.9: the Pi fetches from the server that sent the boot menu (its option 54).
  outcome_.tftp_server =
      menu_offer_->server_id.is_unspecified() ? menu_offer_->siaddr : menu_offer_->server_id;
  outcome_.subnet_mask = address_offer_->subnet_mask;
  outcome_.router = address_offer_->router;
  if (is_pi3()) {
    // No DHCPREQUEST: the ROM starts using the offered address at once (spec 3.1).
    outcome_.address = address_offer_->yiaddr;
    state_ = pi_client_state::bound;
    outcome_.state = state_;
    deadline_.reset();
    pending_ = pending::none;
    return;
  }
  state_ = pi_client_state::requesting;
  outcome_.state = state_;
  pending_ = pending::request;
  deadline_ = now;  // due at once; poll_transmit() re-arms
}

void pi_client::on_datagram(std::span<const std::byte> in, core::time_point now) noexcept {
  auto parsed = message_view::parse(in);
  if (!parsed || parsed->op() != bootp_op::reply || parsed->xid() != xid_ || !parsed->mac() ||
      *parsed->mac() != config_.mac) {
    ++ignored_;
    return;
  }
  auto const& m = *parsed;
  auto type = opt::message_type(m);
  if (!type) {
    ++ignored_;
    return;
  }
  if (*type == message_type::offer) {
    auto o = read_offer(m);
    ++offers_seen_;
    if (offer_count_ < offers_.size()) offers_[offer_count_++] = o;
    if (state_ != pi_client_state::selecting) return;
    if (o.pi_menu && !menu_offer_) menu_offer_ = o;
    if (!o.pi_menu && !o.yiaddr.is_unspecified() && !address_offer_) address_offer_ = o;
    try_select(now);
    return;
  }
  if (state_ != pi_client_state::requesting || !address_offer_) {
    ++ignored_;
    return;
  }
  auto sid = opt::server_id(m);
  if (sid && !address_offer_->server_id.is_unspecified() && *sid != address_offer_->server_id) {
    ++ignored_;  // another server's answer (e.g. a proxy's ACK)
    return;
  }
  if (*type == message_type::ack && !m.yiaddr().is_unspecified()) {
    outcome_.address = m.yiaddr();
    if (auto v = opt::subnet_mask(m)) outcome_.subnet_mask = *v;
    if (auto v = opt::routers(m); v && !v->empty()) outcome_.router = (*v)[0];
    state_ = pi_client_state::bound;
    outcome_.state = state_;
    deadline_.reset();
    pending_ = pending::none;
  } else if (*type == message_type::nak) {
    // Back to DISCOVER with a clean slate.
    menu_offer_.reset();
    address_offer_.reset();
    state_ = pi_client_state::selecting;
    outcome_ = pi_client_outcome{};
    outcome_.state = state_;
    pending_ = pending::discover;
    deadline_ = now;
  } else {
    ++ignored_;
  }
}

void pi_client::on_timer(core::time_point now) noexcept {
  if (!deadline_ || now < *deadline_ || pending_ != pending::none) return;
  if (state_ != pi_client_state::selecting && state_ != pi_client_state::requesting) return;
  if (now - started_ >= give_up_) {
    state_ = pi_client_state::failed;
    outcome_.state = state_;
    deadline_.reset();
    return;
  }
  pending_ = state_ == pi_client_state::selecting ? pending::discover : pending::request;
}

std::optional<core::time_point> pi_client::next_deadline() const noexcept { return deadline_; }

}  // namespace pinetboot::dhcp
