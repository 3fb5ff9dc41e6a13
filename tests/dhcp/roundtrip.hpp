// Helpers shared by the dhcp tests and fuzz/dhcp_message_fuzz.cpp (no GoogleTest here):
// rebuild a parsed message through message_builder, compare two views, and touch every
// typed accessor so sanitizers see each decoder run on hostile input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pinetboot/dhcp.hpp"

namespace pinetboot::test {

/// Writes a message with the same header and, per option code in first-occurrence order, the
/// RFC 3396 concatenation of its values (option 52 dropped: the copy never overloads).
/// `scratch` must be at least msg.bytes().size() long.
inline result<std::size_t> rebuild(dhcp::message_view const& msg, std::span<std::byte> out,
                                   std::span<std::byte> scratch) noexcept {
  using namespace pinetboot::dhcp;
  message_builder b{out};
  b.op(msg.op())
      .htype(msg.htype())
      .hlen(msg.hlen())
      .hops(msg.hops())
      .xid(msg.xid())
      .secs(msg.secs())
      .flags(msg.flags())
      .ciaddr(msg.ciaddr())
      .yiaddr(msg.yiaddr())
      .siaddr(msg.siaddr())
      .giaddr(msg.giaddr())
      .chaddr(msg.chaddr())
      .sname(msg.sname())
      .file(msg.file());
  std::array<bool, 256> seen{};
  for (option_view o : msg.options()) {
    auto c = static_cast<std::uint8_t>(o.code);
    if (seen[c] || o.code == option::overload) continue;
    seen[c] = true;
    auto v = msg.concat(o.code, scratch);
    if (!v) return v.error();
    b.add_raw(o.code, *v);
  }
  return b.finish();
}

/// True if both views have the same header fields, the same sname/file text and, for every
/// code except 52, the same concatenated option value (or both lack it).
inline bool equal_views(dhcp::message_view const& a, dhcp::message_view const& b,
                        std::span<std::byte> scratch_a, std::span<std::byte> scratch_b) noexcept {
  using namespace pinetboot::dhcp;
  if (a.op() != b.op() || a.htype() != b.htype() || a.hlen() != b.hlen() || a.hops() != b.hops() ||
      a.xid() != b.xid() || a.secs() != b.secs() || a.flags() != b.flags() || a.ciaddr() != b.ciaddr() ||
      a.yiaddr() != b.yiaddr() || a.siaddr() != b.siaddr() || a.giaddr() != b.giaddr() ||
      a.sname() != b.sname() || a.file() != b.file())
    return false;
  for (std::size_t i = 0; i < 16; ++i)
    if (a.chaddr()[i] != b.chaddr()[i]) return false;
  for (unsigned c = 1; c < 255; ++c) {
    auto code = static_cast<option>(c);
    if (code == option::overload) continue;
    auto va = a.concat(code, scratch_a);
    auto vb = b.concat(code, scratch_b);
    if (va.has_value() != vb.has_value()) return false;
    if (!va) continue;
    if (va->size() != vb->size()) return false;
    for (std::size_t i = 0; i < va->size(); ++i)
      if ((*va)[i] != (*vb)[i]) return false;
  }
  return true;
}

/// Runs every typed accessor, the PXE decoders and classify(); returns a value depending on
/// all of them so nothing is optimised away.
inline std::size_t exercise_accessors(dhcp::message_view const& m) noexcept {
  using namespace pinetboot::dhcp;
  std::size_t h = 0;
  auto mix = [&h](std::size_t v) { h = h * 31 + v; };
  for (option_view o : m.options()) mix(static_cast<std::size_t>(o.code) + o.data.size());
  if (auto v = opt::subnet_mask(m)) mix(v->to_uint());
  if (auto v = opt::routers(m))
    for (auto a : *v) mix(a.to_uint());
  if (auto v = opt::domain_servers(m))
    for (auto a : *v) mix(a.to_uint());
  if (auto v = opt::hostname(m)) mix(v->size());
  if (auto v = opt::domain_name(m)) mix(v->size());
  if (auto v = opt::broadcast_address(m)) mix(v->to_uint());
  if (auto v = opt::vendor_specific(m)) {
    if (auto p = parse_pxe_options(*v)) {
      mix(p->discovery_control.value_or(0));
      if (p->boot_menu)
        for (auto e : *p->boot_menu) mix(e.type + e.description.size());
      if (p->boot_servers)
        for (auto s : *p->boot_servers)
          for (auto a : s.addresses) mix(a.to_uint() + s.type);
      if (p->menu_prompt) mix(p->menu_prompt->timeout + p->menu_prompt->prompt.size());
      if (p->boot_item) mix(p->boot_item->type + p->boot_item->layer);
      for (auto s : p->all) mix(s.code);
      mix(p->menu_contains(pi_boot_menu_text) ? 1 : 0);
    }
  }
  if (auto v = opt::requested_address(m)) mix(v->to_uint());
  if (auto v = opt::lease_time(m)) mix(*v);
  if (auto v = opt::message_type(m)) mix(static_cast<std::size_t>(*v));
  if (auto v = opt::server_id(m)) mix(v->to_uint());
  if (auto v = opt::parameter_list(m))
    for (auto c : *v) mix(static_cast<std::size_t>(c));
  if (auto v = opt::max_message_size(m)) mix(*v);
  if (auto v = opt::renewal_time(m)) mix(*v);
  if (auto v = opt::rebinding_time(m)) mix(*v);
  if (auto v = opt::vendor_class(m)) {
    mix(v->size());
    if (auto vc = parse_vendor_class(*v)) mix(vc->arch.value_or(0) + vc->rest.size());
  }
  if (auto v = opt::client_id(m)) mix(std::size_t{v->type} + v->id.size());
  if (auto v = opt::tftp_server(m)) mix(v->size());
  if (auto v = opt::bootfile(m)) mix(v->size());
  if (auto v = opt::user_class(m)) mix(v->size());
  if (auto v = opt::relay_agent(m))
    for (auto s : *v) mix(s.code + s.data.size());
  if (auto v = opt::client_arch(m))
    for (auto a : *v) mix(a);
  if (auto v = opt::client_ndi(m)) mix(std::size_t{v->type} + v->major + v->minor);
  if (auto v = opt::client_guid(m)) {
    mix(v->type);
    if (auto g = decode_pi_guid(*v)) mix(g->serial.value_or(core::pi_serial{}).value() + g->revision);
  }
  if (auto v = opt::link_selection(m)) mix(v->to_uint());
  if (auto v = opt::ipxe_encap(m))
    for (auto s : *v) mix(s.code + s.data.size());
  auto c = classify(m);
  mix(static_cast<std::size_t>(c.kind) + static_cast<std::size_t>(c.pi));
  if (auto mac = m.mac()) mix((*mac)[5]);
  mix(m.sname().size() + m.file().size() + m.hardware_address().size());
  return h;
}

}  // namespace pinetboot::test
