#include "status.hpp"

#include "metrics.hpp"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "pinetboot/core/file.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/layout/board.hpp"

namespace pinetboot::server {
namespace {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void status_feed::load(std::filesystem::path const& registry, std::filesystem::path const& tftp_root,
                       std::vector<std::string> kernel_files) {
  tftp_root_ = tftp_root;
  status_.set_kernel_files(std::move(kernel_files));
  if (!registry.empty()) {
    auto records = layout::read_registry(registry);
    if (!records) return;  // the configuration check reported it; keep what we had
    records_ = std::move(*records);
  } else {
    records_.clear();
  }
  std::vector<std::string> serials;
  serials.reserve(records_.size());
  std::vector<net::board_identity> ids;
  for (auto const& r : records_) {
    if (!r.id.mac) continue;
    serials.push_back(r.id.serial ? r.id.serial->to_string() : std::string{});
  }
  std::size_t i = 0;
  for (auto const& r : records_) {
    if (!r.id.mac) continue;
    ids.push_back(
        {.mac = *r.id.mac,
         .name = r.id.hostname.empty() ? std::string_view{r.folder} : std::string_view{r.id.hostname},
         .serial = serials[i++],
         .image = r.image,
         .generation = r.generation});
  }
  status_.set_provisioned(ids);
}

void status_feed::read_marker(core::mac_address mac) {
  for (auto const& r : records_) {
    if (r.id.mac != mac || r.folder.empty() || r.image.empty()) continue;
    // Once per boot of a provisioned image board: a file of a few lines in its boot tree.
    auto text = core::read_file(tftp_root_ / r.folder / std::string{layout::board_marker_name});
    if (!text) return;
    if (auto m = layout::parse_board_marker(*text)) status_.set_tree_generation(mac, m->generation);
    return;
  }
}

void status_feed::on_dhcp(net::dhcp_log_event const& ev) {
  auto const& r = *ev.reply;
  if (!r.mac || !r.request_type) return;
  // DISCOVERs say which client is talking: a REQUEST may be classified from the lease (the OS's
  // REQUEST after its DISCOVER showed as the Pi's EEPROM), so only an OS's REQUEST counts.
  bool discover = *r.request_type == dhcp::message_type::discover;
  if (!discover &&
      (*r.request_type != dhcp::message_type::request || r.client.kind != dhcp::client_class::not_pxe))
    return;
  net::dhcp_phase phase = net::dhcp_phase::rom;
  std::string_view model = dhcp::to_string(r.client.kind);
  switch (r.client.kind) {
    case dhcp::client_class::not_pxe:
      phase = net::dhcp_phase::os;
      model = {};
      break;
    case dhcp::client_class::raspberry_pi:
      switch (r.client.pi) {
        case dhcp::pi_generation::pi3_rom:
          model = "pi3";
          break;
        case dhcp::pi_generation::pi3_bootcode:
          model = "pi3";
          phase = net::dhcp_phase::bootcode;
          break;
        case dhcp::pi_generation::pi4:
          model = "pi4";
          phase = net::dhcp_phase::eeprom;
          break;
        case dhcp::pi_generation::pi5:
          model = "pi5";
          phase = net::dhcp_phase::eeprom;
          break;
        case dhcp::pi_generation::unknown:
          model = "pi";
          break;
      }
      break;
    default:
      break;
  }
  auto address = !r.address.is_unspecified() ? r.address : r.client_address;
  auto eff = status_.on_dhcp(*r.mac, phase, model, address, core::steady_clock::now());
  if (eff.new_boot && eff.board != nullptr && eff.board->provisioned) read_marker(*r.mac);
}

void status_feed::on_tftp(net::tftp_transfer_record const& r, std::optional<core::mac_address> mac) {
  if (!mac || r.write) return;
  net::file_event ev{.file = r.file, .bytes = r.bytes, .retransmits = r.stats.retransmits};
  std::string why;
  if (r.not_found) {
    ev.outcome = net::file_outcome::not_found;
  } else if (!r.outcome) {
    ev.outcome = net::file_outcome::sent;
  } else if (r.outcome == tftp::errc::client_aborted) {
    ev.outcome = net::file_outcome::ended_by_client;
  } else {
    ev.outcome = net::file_outcome::failed;
    why = r.outcome.message();
    ev.why = why;
  }
  status_.on_file(*mac, ev, core::steady_clock::now());
}

std::string status_feed::render_json() const {
  return net::render_status_json(status_, core::steady_clock::now(), unix_ms());
}

std::string status_feed::render_metrics() const {
  std::array<std::size_t, 7> by_state{};  // the six states, then "unseen"
  for (auto const& r : status_.records())
    ++by_state[!r.started && r.state == net::board_state::dhcp ? 6 : static_cast<std::size_t>(r.state)];
  std::ostringstream o;
  o << "# HELP pinetboot_boards Boards the server tracks, by boot state (unseen: provisioned, not seen "
       "yet).\n"
       "# TYPE pinetboot_boards gauge\n";
  for (std::size_t i = 0; i < by_state.size(); ++i)
    o << "pinetboot_boards{state=\"" << (i == 6 ? "unseen" : net::to_string(static_cast<net::board_state>(i)))
      << "\"} " << by_state[i] << "\n";
  o << "# HELP pinetboot_boards_evicted_total Unknown boards dropped from the status table to keep it "
       "bounded.\n"
       "# TYPE pinetboot_boards_evicted_total counter\npinetboot_boards_evicted_total "
    << status_.evicted() << "\n";
  // Per provisioned board only: the registry bounds the cardinality.
  auto now = core::steady_clock::now();
  auto wall_ms = unix_ms();
  o << "# HELP pinetboot_board_last_boot_timestamp_seconds When the board's last boot had its kernel "
       "served.\n"
       "# TYPE pinetboot_board_last_boot_timestamp_seconds gauge\n";
  for (auto const& r : status_.records().first(status_.provisioned_count())) {
    if (!r.booted_once) continue;
    auto at = wall_ms - std::chrono::duration_cast<std::chrono::milliseconds>(now - r.last_boot_at).count();
    char v[32];
    std::snprintf(v, sizeof v, "%.3f", static_cast<double>(at) / 1000.0);
    o << "pinetboot_board_last_boot_timestamp_seconds{board=\"" << label_value(r.name.view()) << "\",mac=\""
      << r.mac.to_string() << "\"} " << v << "\n";
  }
  o << "# HELP pinetboot_board_last_boot_duration_seconds The board's last boot: first DHCPDISCOVER to its "
       "kernel.\n"
       "# TYPE pinetboot_board_last_boot_duration_seconds gauge\n";
  for (auto const& r : status_.records().first(status_.provisioned_count())) {
    if (!r.booted_once) continue;
    char v[32];
    std::snprintf(v, sizeof v, "%.3f", static_cast<double>(r.last_boot_duration.count()) / 1000.0);
    o << "pinetboot_board_last_boot_duration_seconds{board=\"" << label_value(r.name.view()) << "\",mac=\""
      << r.mac.to_string() << "\"} " << v << "\n";
  }
  return o.str();
}

std::string_view status_page_html() noexcept {
  // textContent only (names and file names come from the network); no external assets.
  static constexpr std::string_view page = R"PAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pinetboot fleet</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.2em; margin: 0.2em 0; }
#summary { margin: 0.3em 0 0.6em; font-size: 0.9em; }
#summary span { margin-right: 0.8em; white-space: nowrap; }
.wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
th, td { text-align: left; padding: 0.3em 0.5em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #eee; position: sticky; top: 0; }
td.mono { font-family: ui-monospace, monospace; white-space: nowrap; }
.state { font-weight: bold; padding: 0.1em 0.4em; border-radius: 0.3em; white-space: nowrap; }
.s-up { background: #c8f0c8; } .s-kernel { background: #d8ecff; } .s-firmware, .s-dhcp { background: #fff3c4; }
.s-stuck { background: #ffd9a8; } .s-failed { background: #ffc4c4; } .s-unseen { background: #e4e4e4; }
.stale { color: #a40; font-weight: bold; }
.err { color: #a00; }
#conn { color: #a00; }
@media (max-width: 600px) { .wide { display: none; } table { font-size: 0.8em; } }
</style>
</head>
<body>
<h1>pinetboot fleet</h1>
<div id="summary">loading...</div>
<div id="conn"></div>
<div class="wrap">
<table>
<thead><tr><th>name</th><th>MAC</th><th class="wide">serial</th><th>model</th><th>state</th><th>generation</th>
<th>last boot</th><th>duration</th><th>last failure</th></tr></thead>
<tbody id="boards"></tbody>
</table>
</div>
<script>
"use strict";
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function when(ms) {
  if (ms === null) return "-";
  const d = new Date(ms);
  return d.toLocaleString();
}
function secs(ms) { return ms === null ? "-" : (ms / 1000).toFixed(1) + " s"; }
function render(doc) {
  const sum = document.getElementById("summary");
  sum.textContent = "";
  for (const [k, v] of Object.entries(doc.by_state)) {
    const s = document.createElement("span");
    s.textContent = k + ": " + v;
    sum.appendChild(s);
  }
  const body = document.getElementById("boards");
  body.textContent = "";
  for (const b of doc.records) {
    const tr = document.createElement("tr");
    tr.id = "board-" + b.mac.replace(/:/g, "");
    tr.dataset.state = b.state;
    cell(tr, b.name || "(unknown)");
    cell(tr, b.mac, "mono");
    cell(tr, b.serial || "-", "mono wide");
    cell(tr, b.model || "-");
    const st = cell(tr, "");
    const badge = document.createElement("span");
    badge.className = "state s-" + b.state;
    badge.textContent = b.state;
    st.appendChild(badge);
    st.title = b.detail;
    if (b.state === "stuck") st.appendChild(document.createTextNode(" " + b.detail));
    const g = cell(tr, "");
    let gen = b.booted_generation !== null ? String(b.booted_generation) : "-";
    if (b.image) gen = b.image + " " + gen;
    g.appendChild(document.createTextNode(gen));
    if (b.stale) {
      const s = document.createElement("span");
      s.className = "stale";
      s.textContent = " " + b.stale_reason;
      g.appendChild(s);
    }
    cell(tr, when(b.last_boot_ms));
    cell(tr, secs(b.last_boot_duration_ms));
    cell(tr, b.failure || "", "err");
    body.appendChild(tr);
  }
  document.body.dataset.polled = String((Number(document.body.dataset.polled) || 0) + 1);
}
async function poll() {
  try {
    const r = await fetch("status", {cache: "no-store"});
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    document.getElementById("conn").textContent = "";
  } catch (e) {
    document.getElementById("conn").textContent = "cannot reach the server: " + e.message;
  }
}
poll();
setInterval(poll, 2000);
</script>
</body>
</html>
)PAGE";
  return page;
}

}  // namespace pinetboot::server
