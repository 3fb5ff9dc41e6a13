#include "pinetboot/net/board_status.hpp"

#include <algorithm>
#include <cstdio>

namespace pinetboot::net {
namespace {

std::uint64_t key_of(core::mac_address m) noexcept {
  std::uint64_t k = 0;
  for (auto b : m.bytes()) k = k << 8 | b;
  return k;
}

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::chrono::milliseconds since(core::time_point from, core::time_point now) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - from);
}

/// "asked for X: not in its boot tree" without allocating.
template <std::size_t N>
void set_text(bounded_string<N>& out, std::string_view a, std::string_view b = {},
              std::string_view c = {}) noexcept {
  std::array<char, N> buf{};
  std::size_t n = 0;
  for (auto part : {a, b, c})
    for (char ch : part)
      if (n < buf.size()) buf[n++] = ch;
  out.assign(std::string_view{buf.data(), n});
}

}  // namespace

std::string_view to_string(board_state s) noexcept {
  switch (s) {
    case board_state::dhcp:
      return "dhcp";
    case board_state::firmware:
      return "firmware";
    case board_state::kernel:
      return "kernel";
    case board_state::up:
      return "up";
    case board_state::stuck:
      return "stuck";
    case board_state::failed:
      return "failed";
  }
  return "unknown";
}

std::string_view to_string(dhcp_phase p) noexcept {
  switch (p) {
    case dhcp_phase::rom:
      return "rom";
    case dhcp_phase::eeprom:
      return "eeprom";
    case dhcp_phase::bootcode:
      return "bootcode.bin";
    case dhcp_phase::os:
      return "os";
  }
  return "unknown";
}

std::string_view to_string(file_outcome o) noexcept {
  switch (o) {
    case file_outcome::sent:
      return "sent";
    case file_outcome::not_found:
      return "not_found";
    case file_outcome::ended_by_client:
      return "ended_by_client";
    case file_outcome::failed:
      return "failed";
  }
  return "unknown";
}

std::string_view file_base(std::string_view file) noexcept {
  auto slash = file.find_last_of("/\\");
  return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

bool missing_is_fatal(std::string_view file) noexcept {
  auto base = file_base(file);
  // overlays/overlay_map.dtb and *.dtbo are optional; a board's own device tree is not.
  if (ends_with(base, ".dtb"))
    return file.find("overlays/") == std::string_view::npos && base != "overlay_map.dtb";
  return base == "cmdline.txt" || (starts_with(base, "fixup") && ends_with(base, ".dat"));
}

board_status::board_status(board_status_config cfg) : cfg_{std::move(cfg)} {
  records_.reserve(cfg_.max_unknown);
  keys_.reserve(cfg_.max_unknown);
}

void board_status::set_provisioned(std::span<board_identity const> boards) {
  std::vector<board_record> next;
  std::vector<std::uint64_t> next_keys;
  next.reserve(boards.size() + cfg_.max_unknown);
  next_keys.reserve(boards.size() + cfg_.max_unknown);
  for (auto const& b : boards) {
    auto k = key_of(b.mac);
    if (std::find(next_keys.begin(), next_keys.end(), k) != next_keys.end()) continue;  // first entry wins
    board_record r;
    if (auto const* old = find(b.mac))
      r = *old;
    else
      r.mac = b.mac;
    r.provisioned = true;
    r.name = b.name;
    r.serial = b.serial;
    r.image = b.image;
    r.generation = b.generation;
    next.push_back(r);
    next_keys.push_back(k);
  }
  std::size_t provisioned = next.size();
  // The others, newest first, as unknown boards.
  std::vector<board_record const*> rest;
  for (std::size_t i = 0; i < records_.size(); ++i)
    if (std::find(next_keys.begin(), next_keys.end(), keys_[i]) == next_keys.end())
      rest.push_back(&records_[i]);
  std::sort(rest.begin(), rest.end(), [](auto* a, auto* b) { return a->last_seen > b->last_seen; });
  if (rest.size() > cfg_.max_unknown) {
    evicted_ += rest.size() - cfg_.max_unknown;
    rest.resize(cfg_.max_unknown);
  }
  for (auto const* o : rest) {
    board_record r = *o;
    if (r.provisioned) {
      r.provisioned = false;
      r.name = "";
      r.image = "";
      r.generation = 0;
    }
    next.push_back(r);
    next_keys.push_back(key_of(r.mac));
  }
  records_ = std::move(next);
  keys_ = std::move(next_keys);
  provisioned_ = provisioned;
}

board_record* board_status::lookup(core::mac_address mac) noexcept {
  auto k = key_of(mac);
  auto it = std::find(keys_.begin(), keys_.end(), k);
  return it == keys_.end() ? nullptr : &records_[static_cast<std::size_t>(it - keys_.begin())];
}

board_record const* board_status::find(core::mac_address mac) const noexcept {
  return const_cast<board_status*>(this)->lookup(mac);
}

board_record* board_status::lookup_or_add(core::mac_address mac, core::time_point now) noexcept {
  if (auto* r = lookup(mac)) return r;
  if (cfg_.max_unknown == 0) return nullptr;
  std::size_t slot;
  if (records_.size() - provisioned_ < cfg_.max_unknown && records_.size() < records_.capacity()) {
    records_.emplace_back();
    keys_.push_back(0);
    slot = records_.size() - 1;
  } else {
    // Full: the unknown board heard from longest ago goes (provisioned ones never do).
    slot = provisioned_;
    for (std::size_t i = provisioned_ + 1; i < records_.size(); ++i)
      if (records_[i].last_seen < records_[slot].last_seen) slot = i;
    if (slot >= records_.size()) return nullptr;
    ++evicted_;
  }
  records_[slot] = board_record{};
  records_[slot].mac = mac;
  records_[slot].first_seen = now;
  records_[slot].last_seen = now;
  keys_[slot] = key_of(mac);
  return &records_[slot];
}

bool board_status::is_kernel(std::string_view base) const noexcept {
  return std::any_of(cfg_.kernel_files.begin(), cfg_.kernel_files.end(),
                     [&](auto const& k) { return k == base; });
}

namespace {
void touch(board_record& r, core::time_point now) noexcept {
  if (r.first_seen == core::time_point{}) r.first_seen = now;  // provisioned records exist before
  r.last_seen = now;
}

void start_boot(board_record& r, core::time_point now) noexcept {
  r.started = true;
  ++r.boots;
  r.boot_started = now;
  r.last_progress = now;
  r.to_kernel.reset();
  r.to_os.reset();
  r.state = board_state::dhcp;
}
}  // namespace

dhcp_effect board_status::on_dhcp(core::mac_address mac, dhcp_phase phase, std::string_view model,
                                  core::ipv4_address address, core::time_point now) noexcept {
  dhcp_effect eff;
  if (phase == dhcp_phase::os) {
    // Only boards we know: an ordinary DHCP client on the site's network is none of ours.
    auto* r = lookup(mac);
    if (r == nullptr || (!r->provisioned && !r->started)) return eff;
    eff.board = r;
    touch(*r, now);
    if (!address.is_unspecified()) r->address = address;
    if (r->state == board_state::up) return eff;  // renewals, the OS's own client after ip=dhcp
    if (r->started && !r->to_os) r->to_os = since(r->boot_started, now);
    r->state = board_state::up;
    r->last_progress = now;
    r->at = "dhcp (os)";
    return eff;
  }
  auto* r = lookup_or_add(mac, now);
  if (r == nullptr) return eff;
  eff.board = r;
  touch(*r, now);
  if (!address.is_unspecified()) r->address = address;
  if (!model.empty()) r->model = model;
  // bootcode.bin's DHCP belongs to the boot its ROM started (Pi 3), unless that boot is over:
  // a Pi 3B+ ROM looks like bootcode.bin (serial GUID) from its first DISCOVER.
  bool over = r->state == board_state::kernel || r->state == board_state::up ||
              r->state == board_state::failed || r->state == board_state::stuck;
  bool restart = phase == dhcp_phase::bootcode
                     ? over
                     : r->state != board_state::dhcp || now - r->last_progress >= cfg_.new_boot_after;
  if (!r->started || restart) {
    start_boot(*r, now);
    eff.new_boot = true;
  }
  r->last_progress = now;
  set_text(r->at, "dhcp (", to_string(phase), ")");
  if (r->state == board_state::stuck)
    r->state = phase == dhcp_phase::bootcode ? board_state::firmware : board_state::dhcp;
  return eff;
}

board_record const* board_status::on_file(core::mac_address mac, file_event const& ev,
                                          core::time_point now) noexcept {
  auto* r = lookup_or_add(mac, now);
  if (r == nullptr) return nullptr;
  touch(*r, now);
  if (!r->started) start_boot(*r, now);  // its DHCP was not seen (served by another server)
  ++r->files;
  r->bytes += ev.bytes;
  r->retransmits += ev.retransmits;
  auto base = file_base(ev.file);
  bool booting =
      r->state == board_state::dhcp || r->state == board_state::firmware || r->state == board_state::stuck;
  switch (ev.outcome) {
    case file_outcome::sent:
      // The file whose failure stopped the boot, fetched after all (a retry): back on track.
      if (r->state == board_state::failed && r->at.view() == ev.file) {
        r->state = board_state::firmware;
        booting = true;
      }
      if (!booting) {
        if (r->state != board_state::failed) r->last_progress = now;
        break;
      }
      r->last_progress = now;
      r->at = ev.file;
      if (is_kernel(base)) {
        r->state = board_state::kernel;
        r->to_kernel = since(r->boot_started, now);
        r->last_boot_at = now;
        r->last_boot_duration = *r->to_kernel;
        r->booted_once = true;
        if (r->tree_generation != 0) r->booted_generation = r->tree_generation;
      } else {
        r->state = board_state::firmware;
      }
      break;
    case file_outcome::not_found:
      if (!booting) break;
      r->last_progress = now;
      if (missing_is_fatal(ev.file)) {
        ++r->files_failed;
        r->state = board_state::failed;
        r->at = ev.file;
        set_text(r->failure, "asked for ", ev.file, ": not in its boot tree");
      } else {
        r->state = board_state::firmware;  // probes of files that are normally missing
      }
      break;
    case file_outcome::ended_by_client:
      if (!booting) break;
      r->last_progress = now;
      r->state = board_state::firmware;
      break;
    case file_outcome::failed:
      ++r->files_failed;
      set_text(r->failure, ev.file, ": ", ev.why.empty() ? std::string_view{"transfer failed"} : ev.why);
      if (!booting) break;
      r->last_progress = now;
      r->state = board_state::failed;
      r->at = ev.file;
      break;
  }
  return r;
}

void board_status::set_tree_generation(core::mac_address mac, unsigned generation) noexcept {
  if (auto* r = lookup(mac)) r->tree_generation = generation;
}

std::size_t board_status::on_timer(core::time_point now) noexcept {
  std::size_t changed = 0;
  for (auto& r : records_) {
    if (!r.started || (r.state != board_state::dhcp && r.state != board_state::firmware)) continue;
    if (now - r.last_progress < cfg_.stuck_after) continue;
    r.state = board_state::stuck;
    ++changed;
  }
  return changed;
}

// ---------------------------------------------------------------------------------- JSON

namespace {

void json_string(std::string& o, std::string_view s) {
  o += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (u < 0x20 || u >= 0x7f) {
      // Names and file names come from the network: keep the document ASCII and valid.
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(u));
      o += b;
    } else {
      o += c;
    }
  }
  o += '"';
}

void field(std::string& o, std::string_view name) {
  if (o.back() != '{') o += ',';
  json_string(o, name);
  o += ':';
}

void field(std::string& o, std::string_view name, std::string_view value) {
  field(o, name);
  json_string(o, value);
}

void field_num(std::string& o, std::string_view name, std::int64_t v) {
  field(o, name);
  o += std::to_string(v);
}

void field_u(std::string& o, std::string_view name, std::uint64_t v) {
  field(o, name);
  o += std::to_string(v);
}

void field_bool(std::string& o, std::string_view name, bool v) {
  field(o, name);
  o += v ? "true" : "false";
}

void field_null(std::string& o, std::string_view name) {
  field(o, name);
  o += "null";
}

std::string detail(board_record const& r, core::time_point now) {
  auto secs = [&](core::time_point t) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
  };
  switch (r.state) {
    case board_state::dhcp:
      return "asking for an address";
    case board_state::firmware:
      return "firmware fetching its files; last: " + std::string{r.at.view()};
    case board_state::kernel:
      return std::string{r.at.view()} + " served; waiting for the OS to ask for its lease";
    case board_state::up:
      return "the OS asked for its lease";
    case board_state::stuck:
      return "no progress for " + secs(r.last_progress) + " s after " + std::string{r.at.view()};
    case board_state::failed:
      return std::string{r.failure.view()};
  }
  return {};
}

}  // namespace

std::string render_status_json(board_status const& s, core::time_point now, std::int64_t unix_now_ms) {
  auto wall = [&](core::time_point t) {
    return unix_now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count();
  };
  std::array<std::size_t, 6> by_state{};
  std::size_t unseen = 0;
  for (auto const& r : s.records()) {
    if (!r.started && r.state == board_state::dhcp)
      ++unseen;
    else
      ++by_state[static_cast<std::size_t>(r.state)];
  }
  std::string o;
  o.reserve(256 + s.records().size() * 700);
  o += '{';
  field_num(o, "schema", 1);
  field_num(o, "now_ms", unix_now_ms);
  field_u(o, "boards", s.records().size());
  field_u(o, "provisioned", s.provisioned_count());
  field_u(o, "unknown", s.records().size() - s.provisioned_count());
  field_u(o, "evicted", s.evicted());
  field_num(o, "stuck_after_ms", s.config().stuck_after.count());
  field(o, "by_state");
  o += '{';
  for (std::size_t i = 0; i < by_state.size(); ++i)
    field_u(o, to_string(static_cast<board_state>(i)), by_state[i]);
  field_u(o, "unseen", unseen);
  o += '}';
  field(o, "records");
  o += '[';
  bool first = true;
  for (auto const& r : s.records()) {
    if (!first) o += ',';
    first = false;
    o += '{';
    field(o, "mac", r.mac.to_string());
    field(o, "name", r.name.view());
    field(o, "serial", r.serial.view());
    field(o, "model", r.model.view());
    field_bool(o, "provisioned", r.provisioned);
    field(o, "state",
          r.started || r.state != board_state::dhcp ? to_string(r.state) : std::string_view{"unseen"});
    field(o, "detail",
          r.started || r.state != board_state::dhcp ? detail(r, now)
                                                    : std::string{"not seen since the server started"});
    field(o, "at", r.at.view());
    field(o, "failure", r.failure.view());
    field(o, "address", r.address.is_unspecified() ? std::string{} : r.address.to_string());
    field(o, "image", r.image.view());
    if (r.generation != 0)
      field_u(o, "assigned_generation", r.generation);
    else
      field_null(o, "assigned_generation");
    if (r.booted_generation != 0)
      field_u(o, "booted_generation", r.booted_generation);
    else
      field_null(o, "booted_generation");
    field_bool(o, "stale", r.stale());
    field(o, "stale_reason",
          r.stale() ? "stale: reboot to run generation " + std::to_string(r.generation) : std::string{});
    bool seen = r.first_seen != core::time_point{};
    if (seen)
      field_num(o, "first_seen_ms", wall(r.first_seen));
    else
      field_null(o, "first_seen_ms");
    if (seen)
      field_num(o, "last_seen_ms", wall(r.last_seen));
    else
      field_null(o, "last_seen_ms");
    if (r.started)
      field_num(o, "boot_started_ms", wall(r.boot_started));
    else
      field_null(o, "boot_started_ms");
    if (r.to_kernel)
      field_num(o, "to_kernel_ms", r.to_kernel->count());
    else
      field_null(o, "to_kernel_ms");
    if (r.to_os)
      field_num(o, "to_os_ms", r.to_os->count());
    else
      field_null(o, "to_os_ms");
    if (r.booted_once) {
      field_num(o, "last_boot_ms", wall(r.last_boot_at));
      field_num(o, "last_boot_duration_ms", r.last_boot_duration.count());
    } else {
      field_null(o, "last_boot_ms");
      field_null(o, "last_boot_duration_ms");
    }
    field_u(o, "boots", r.boots);
    field_u(o, "files", r.files);
    field_u(o, "files_failed", r.files_failed);
    field_u(o, "bytes", r.bytes);
    field_u(o, "retransmits", r.retransmits);
    o += '}';
  }
  o += "]}";
  return o;
}

}  // namespace pinetboot::net
