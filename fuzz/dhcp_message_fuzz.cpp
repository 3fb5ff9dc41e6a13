// Fuzzes dhcp::message_view::parse and everything reachable from a datagram. Invariants:
// a parsed message rebuilt through message_builder parses to an equal view (header fields,
// sname/file, concatenated value per option code); rebuilding is idempotent byte for byte;
// the builder reports the exact size it needs; PXE option 43 and the vendor class survive a
// decode -> encode -> decode cycle.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "dhcp/roundtrip.hpp"
#include "pinetboot/dhcp.hpp"

namespace {

using namespace pinetboot;
using namespace pinetboot::dhcp;

[[noreturn]] void fail(char const* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

void check_pxe(std::span<const std::byte> value) {
  auto p = parse_pxe_options(value);
  if (!p) return;
  // Re-encode the recognised sub-options and decode again.
  std::array<menu_entry, 64> entries{};
  std::size_t n_entries = 0;
  if (p->boot_menu)
    for (auto e : *p->boot_menu)
      if (n_entries < entries.size()) entries[n_entries++] = e;
  std::array<std::byte, 1024> out{};
  pxe_options_writer w{out};
  if (p->discovery_control) w.discovery_control(*p->discovery_control);
  if (p->boot_menu && n_entries < entries.size()) w.boot_menu(std::span{entries}.first(n_entries));
  if (p->menu_prompt) w.menu_prompt(p->menu_prompt->timeout, p->menu_prompt->prompt);
  if (p->boot_item) w.boot_item(p->boot_item->type, p->boot_item->layer);
  auto n = w.finish();
  if (!n) {
    if (n.error() == errc::bad_option_value) return;  // a sub-option concatenation > 255
    fail("pxe writer");
  }
  auto q = parse_pxe_options(std::span{out}.first(*n));
  if (!q) fail("pxe reparse");
  if (q->discovery_control != p->discovery_control) fail("pxe discovery control");
  if (p->menu_prompt && (!q->menu_prompt || q->menu_prompt->timeout != p->menu_prompt->timeout ||
                         q->menu_prompt->prompt != p->menu_prompt->prompt))
    fail("pxe prompt");
  if (p->boot_item != q->boot_item) fail("pxe boot item");
  if (p->boot_menu && n_entries < entries.size()) {
    std::size_t i = 0;
    for (auto e : *q->boot_menu) {
      if (i >= n_entries || e.type != entries[i].type || e.description != entries[i].description)
        fail("pxe menu");
      ++i;
    }
    if (i != n_entries) fail("pxe menu count");
  }
}

void check_vendor_class(message_view const& m) {
  auto text = opt::vendor_class(m);
  if (!text) return;
  auto vc = parse_vendor_class(*text);
  if (!vc || !vc->arch || !vc->undi_major || !vc->rest.empty()) return;
  char buf[64];
  int len = std::snprintf(buf, sizeof buf, "%s:Arch:%05u:UNDI:%03u%03u",
                          vc->kind == vendor_kind::pxe_client ? "PXEClient" : "HTTPClient",
                          unsigned{*vc->arch}, unsigned{*vc->undi_major}, unsigned{*vc->undi_minor});
  // A trailing NUL is stripped by decode_text, so compare against that.
  if (len < 0 || std::string_view(buf, static_cast<std::size_t>(len)) != *text)
    fail("vendor class round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::span<const std::byte> in{reinterpret_cast<std::byte const*>(data), size};
  auto m = message_view::parse(in);
  if (!m) {
    if (m.error().category() != dhcp_category()) fail("error category");
    return 0;
  }
  (void)test::exercise_accessors(*m);
  check_vendor_class(*m);
  std::vector<std::byte> scratch_a(size), scratch_b(size + 512);
  if (auto v = m->concat(option::vendor_specific, scratch_a)) check_pxe(*v);

  // Options move out of sname/file (up to 192 bytes) and End + padding to 300 are added.
  std::vector<std::byte> out(size + 512), out2(size + 512);
  auto n = test::rebuild(*m, out, scratch_a);
  if (!n) fail("rebuild");
  auto again = message_view::parse(std::span{out}.first(*n));
  if (!again) fail("reparse");
  if (!test::equal_views(*m, *again, scratch_a, scratch_b)) fail("views differ");
  auto n2 = test::rebuild(*again, out2, scratch_b);
  if (!n2 || *n2 != *n || std::memcmp(out.data(), out2.data(), *n) != 0) fail("rebuild not idempotent");
  // One byte short must fail and report exactly *n.
  std::vector<std::byte> small(*n - 1);
  {
    using pinetboot::dhcp::message_builder;
    message_builder b{small};
    b.xid(again->xid());
    std::array<bool, 256> seen{};
    for (option_view o : again->options()) {
      auto c = static_cast<std::uint8_t>(o.code);
      if (seen[c]) continue;
      seen[c] = true;
      auto v = again->concat(o.code, scratch_b);
      if (!v) fail("concat");
      b.add_raw(o.code, *v);
    }
    b.sname(again->sname()).file(again->file());
    auto r = b.finish();
    if (r || r.error() != errc::buffer_too_small || b.needed() != *n) fail("needed size");
  }
  return 0;
}
