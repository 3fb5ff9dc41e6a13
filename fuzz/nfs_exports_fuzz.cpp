// Fuzzes the /etc/exports parser, formatter and managed-block updater.
// First byte even: the rest is exports text. Whatever parses must format (allow_world) and
// parse back to the same entries; the managed block built from them must read back equal and
// be idempotent. First byte odd: the rest picks entry fields; whatever formats must parse back
// to the same entry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/nfs/exports.hpp"
#include "pinetboot/nfs/exports_file.hpp"

namespace nfs = pinetboot::nfs;

namespace {

// A tiny stand-in for FuzzedDataProvider (the g++ replay build has no libFuzzer headers).
class provider {
 public:
  provider(std::uint8_t const* d, std::size_t n) : d_{d}, n_{n} {}
  std::uint8_t byte() { return pos_ < n_ ? d_[pos_++] : 0; }
  bool flag() { return (byte() & 1) != 0; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | byte();
    return v;
  }
  std::string str(std::size_t max) {
    std::size_t len = byte() % (max + 1);
    std::string s;
    for (std::size_t i = 0; i < len && pos_ < n_; ++i) s += static_cast<char>(d_[pos_++]);
    return s;
  }

 private:
  std::uint8_t const* d_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

std::string pick_host(provider& p) {
  static char const* const hosts[] = {"*",       "192.168.1.50", "10.0.0.0/8",    "10.0.0.0/255.255.0.0",
                                      "pi4.lab", "@pis",         "pi-?[0-9].lab", "0.0.0.0/0"};
  auto i = p.byte();
  if (i < 200) return hosts[i % (sizeof hosts / sizeof hosts[0])];
  return p.str(24);
}

nfs::export_options pick_options(provider& p) {
  nfs::export_options o;
  auto bits = p.u32();
  if (bits & 1) o.access = (bits & 2) ? nfs::access_mode::rw : nfs::access_mode::ro;
  if (bits & 4) o.sync = (bits & 8) ? nfs::sync_mode::sync : nfs::sync_mode::async;
  if (bits & 16)
    o.subtree = (bits & 32) ? nfs::subtree_mode::subtree_check : nfs::subtree_mode::no_subtree_check;
  if (bits & 64) o.squash = static_cast<nfs::squash_mode>((bits >> 7) % 3);
  if (bits & 512) o.port = (bits & 1024) ? nfs::port_mode::secure : nfs::port_mode::insecure;
  o.crossmnt = (bits & 2048) != 0;
  o.nohide = (bits & 4096) != 0;
  if (bits & 8192) o.fsid = p.str(40);
  if (bits & 16384) o.anonuid = p.u32();
  if (bits & 32768) o.anongid = p.u32();
  for (int n = p.byte() % 5; n > 0; --n) o.sec.push_back(static_cast<nfs::sec_flavor>(p.byte() % 4));
  return o;
}

void check_round_trip(std::vector<nfs::export_entry> const& entries) {
  std::string text;
  for (auto const& e : entries)
    if (nfs::append_exports_line(text, e, {.allow_world = true})) std::abort();  // parsed => formattable
  auto back = nfs::parse_exports(text);
  if (!back || *back != entries) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    std::string_view text{reinterpret_cast<char const*>(data + 1), size - 1};
    auto parsed = nfs::parse_exports(text);
    if (parsed) check_round_trip(*parsed);
    // The text as an existing /etc/exports: operator lines must survive, the block be idempotent.
    std::vector<nfs::export_entry> mine{
        {"/nfs/pi", {nfs::board_client(pinetboot::core::ipv4_address{10, 0, 0, 2})}}};
    auto updated = nfs::update_managed_block(text, mine);
    if (updated) {
      auto again = nfs::update_managed_block(*updated, mine);
      if (!again || *again != *updated) std::abort();
      auto block = nfs::read_managed_block(*updated);
      if (!block || *block != mine) std::abort();
      auto begin = updated->find(nfs::managed_block_begin);
      if (begin == std::string::npos ||
          updated->compare(0, std::min(begin, text.size()), text, 0, std::min(begin, text.size())) != 0)
        std::abort();
    }
    return 0;
  }
  provider p{data + 1, size - 1};
  nfs::export_entry e;
  e.path = p.flag() ? "/nfs/" + p.str(32) : p.str(48);
  for (int n = p.byte() % 4; n > 0; --n) e.clients.push_back({pick_host(p), pick_options(p)});
  nfs::export_policy policy{.allow_world = p.flag()};
  auto line = nfs::format_exports_line(e, policy);
  if (!line) return 0;
  if (!policy.allow_world)
    for (auto const& c : e.clients)
      if (nfs::is_world_host(c.host)) std::abort();
  if (line->empty() || line->back() != '\n' || line->find('\n') != line->size() - 1) std::abort();
  auto back = nfs::parse_exports_line(*line);
  if (!back || *back != e) std::abort();
  return 0;
}
