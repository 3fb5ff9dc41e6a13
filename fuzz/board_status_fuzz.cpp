// Fuzzes net::board_status with event sequences: the input picks a small registry, then DHCP
// passes, TFTP outcomes (file names and reasons straight from the input, as they come from the
// network), tree generations, time steps and timer runs, then renders /status. Invariants: the
// table never holds more than the provisioned boards plus max_unknown, provisioned boards are
// never evicted, text fields stay within their bounds, a failed board has a failure, a stale
// board has booted a generation other than its assigned one, and the JSON is balanced ASCII.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/core/time.hpp"
#include "pinetboot/net/board_status.hpp"

namespace {
using namespace pinetboot;
using namespace pinetboot::net;
using namespace std::chrono_literals;

[[noreturn]] void fail() { std::abort(); }

class input {
 public:
  input(std::uint8_t const* d, std::size_t n) : d_{d}, n_{n} {}
  std::uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
  bool empty() const { return i_ >= n_; }
  std::string_view text(std::size_t max) {
    std::size_t len = std::min<std::size_t>(byte() % (max + 1), n_ - std::min(i_, n_));
    std::string_view s{reinterpret_cast<char const*>(d_ + i_), len};
    i_ += len;
    return s;
  }

 private:
  std::uint8_t const* d_;
  std::size_t n_, i_ = 0;
};

core::mac_address mac_of(std::uint8_t v) { return core::mac_address{{0xdc, 0xa6, 0x32, 0, 0, v}}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  input in{data, size};
  board_status_config cfg;
  cfg.max_unknown = in.byte() % 8;
  cfg.stuck_after = std::chrono::milliseconds{1 + in.byte() * 100};
  board_status s{cfg};
  std::vector<board_identity> reg;
  std::vector<std::string> names;
  std::size_t nreg = in.byte() % 6;
  names.reserve(nreg);
  for (std::size_t i = 0; i < nreg; ++i) names.emplace_back(in.text(80));
  for (std::size_t i = 0; i < nreg; ++i)
    reg.push_back({.mac = mac_of(static_cast<std::uint8_t>(i)),
                   .name = names[i],
                   .image = "os",
                   .generation = in.byte() % 4u});
  s.set_provisioned(reg);
  core::time_point now{std::chrono::hours(1)};
  for (int step = 0; step < 200 && !in.empty(); ++step) {
    auto op = in.byte();
    auto m = mac_of(in.byte() % 24);  // some provisioned, most not
    now += std::chrono::milliseconds{in.byte() * 50};
    switch (op % 6) {
      case 0:
        (void)s.on_dhcp(m, static_cast<dhcp_phase>(in.byte() % 4), in.text(20), core::ipv4_address{in.byte()},
                        now);
        break;
      case 1:
      case 2: {
        auto file = in.text(200);
        auto why = in.text(200);
        (void)s.on_file(m,
                        file_event{.file = file,
                                   .outcome = static_cast<file_outcome>(in.byte() % 4),
                                   .why = why,
                                   .bytes = in.byte(),
                                   .retransmits = in.byte()},
                        now);
        break;
      }
      case 3:
        s.set_tree_generation(m, in.byte() % 4u);
        break;
      case 4:
        (void)s.on_timer(now);
        break;
      case 5:
        if (in.byte() % 8 == 0) s.set_provisioned(reg);  // a reload
        break;
    }
    if (s.records().size() > s.provisioned_count() + cfg.max_unknown) fail();
    for (std::size_t i = 0; i < nreg; ++i) {
      auto const* r = s.find(mac_of(static_cast<std::uint8_t>(i)));
      if (r == nullptr || !r->provisioned) fail();
    }
    for (auto const& r : s.records()) {
      if (r.name.view().size() > decltype(r.name)::capacity ||
          r.failure.view().size() > decltype(r.failure)::capacity)
        fail();
      if (r.state == board_state::failed && r.failure.empty()) fail();
      if (r.stale() && (r.booted_generation == 0 || r.booted_generation == r.generation)) fail();
    }
  }
  auto json = render_status_json(s, now, 1'700'000'000'000);
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : json) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) fail();
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      ++depth;
    else if (c == '}' || c == ']')
      --depth;
    if (depth < 0) fail();
  }
  if (depth != 0 || in_string) fail();
  return 0;
}
