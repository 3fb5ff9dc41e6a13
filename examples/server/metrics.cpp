#include "metrics.hpp"

#include "git_description.hpp"

#include <cstdio>
#include <sstream>
#include <string_view>

#ifndef PINETBOOT_VERSION
#define PINETBOOT_VERSION "unknown"
#endif

namespace pinetboot::server {

namespace {
/// "gcc 12.2.0", "clang 14.0.6": the compiler that built this binary.
std::string compiler() {
  char b[48];
#if defined(__clang__)
  std::snprintf(b, sizeof b, "clang %d.%d.%d", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  std::snprintf(b, sizeof b, "gcc %d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  std::snprintf(b, sizeof b, "unknown");
#endif
  return b;
}
}  // namespace

/// A label value as the text format wants it: backslash, quote and newline escaped.
std::string label_value(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

std::string metrics::render() const {
  std::ostringstream o;
  o << "# HELP pinetboot_dhcp_messages_total DHCP requests received, by message type and client class.\n"
       "# TYPE pinetboot_dhcp_messages_total counter\n";
  for (auto const& [k, v] : dhcp_messages)
    o << "pinetboot_dhcp_messages_total{type=\"" << k.first << "\",class=\"" << k.second << "\"} " << v << "\n";
  o << "# HELP pinetboot_dhcp_replies_total DHCP replies sent, by message type.\n"
       "# TYPE pinetboot_dhcp_replies_total counter\n";
  for (auto const& [k, v] : dhcp_replies) o << "pinetboot_dhcp_replies_total{type=\"" << k << "\"} " << v << "\n";
  o << "# HELP pinetboot_dhcp_ignored_total DHCP messages not answered (not ours, malformed, no address).\n"
       "# TYPE pinetboot_dhcp_ignored_total counter\npinetboot_dhcp_ignored_total "
    << dhcp_ignored << "\n";
  o << "# HELP pinetboot_tftp_transfers_total Finished TFTP transfers by outcome.\n"
       "# TYPE pinetboot_tftp_transfers_total counter\n";
  for (auto const& [k, v] : tftp_transfers) o << "pinetboot_tftp_transfers_total{outcome=\"" << k << "\"} " << v << "\n";
  o << "# HELP pinetboot_tftp_bytes_total Payload bytes moved by TFTP.\n# TYPE pinetboot_tftp_bytes_total counter\n"
    << "pinetboot_tftp_bytes_total " << tftp_bytes << "\n";
  o << "# HELP pinetboot_tftp_retransmits_total TFTP packets sent again.\n"
       "# TYPE pinetboot_tftp_retransmits_total counter\npinetboot_tftp_retransmits_total "
    << tftp_retransmits << "\n";
  o << "# HELP pinetboot_tftp_active_transfers Transfers in progress.\n# TYPE pinetboot_tftp_active_transfers gauge\n"
    << "pinetboot_tftp_active_transfers " << (tftp_active ? tftp_active() : 0) << "\n";
  o << "# HELP pinetboot_boot_seconds Time from a board's first DHCPDISCOVER to its kernel served.\n"
       "# TYPE pinetboot_boot_seconds histogram\n";
  for (auto const& [cls, h] : boot_seconds) {
    for (std::size_t i = 0; i < histogram::bounds.size(); ++i)
      o << "pinetboot_boot_seconds_bucket{class=\"" << cls << "\",le=\"" << histogram::bounds[i] << "\"} "
        << h.counts[i] << "\n";
    o << "pinetboot_boot_seconds_bucket{class=\"" << cls << "\",le=\"+Inf\"} " << h.count << "\n";
    o << "pinetboot_boot_seconds_sum{class=\"" << cls << "\"} " << h.sum << "\n";
    o << "pinetboot_boot_seconds_count{class=\"" << cls << "\"} " << h.count << "\n";
  }
  o << "# HELP pinetboot_reloads_total Configuration reloads (SIGHUP), whether they succeeded or not.\n"
       "# TYPE pinetboot_reloads_total counter\npinetboot_reloads_total "
    << reloads << "\n";
  o << "# HELP pinetboot_reload_failures_total Reloads whose configuration did not load (the running one was "
       "kept).\n"
       "# TYPE pinetboot_reload_failures_total counter\npinetboot_reload_failures_total "
    << reload_failures << "\n";
  o << "# HELP pinetboot_descriptor_exhaustion_total TFTP requests or transfers that failed because the "
       "process or system ran out of file descriptors (raise LimitNOFILE / ulimit -n).\n"
       "# TYPE pinetboot_descriptor_exhaustion_total counter\npinetboot_descriptor_exhaustion_total "
    << descriptor_exhaustion << "\n";
  o << "# HELP pinetboot_lease_compaction_failures_total Lease journal compactions that failed (the "
       "journal keeps growing until one succeeds).\n"
       "# TYPE pinetboot_lease_compaction_failures_total counter\npinetboot_lease_compaction_failures_total "
    << (lease_compaction_failures ? lease_compaction_failures() : 0) << "\n";
  if (dhcp_pools) {
    auto pools = dhcp_pools();
    auto family = [&](char const* name, char const* help, auto value) {
      o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
      for (auto const& p : pools) o << name << "{subnet=\"" << p.subnet << "\"} " << value(p.usage) << "\n";
    };
    family("pinetboot_dhcp_pool_size", "Addresses in the subnet's dynamic pool (its range).",
           [](dhcp::pool_usage const& u) { return u.size; });
    family("pinetboot_dhcp_pool_leased", "Pool addresses bound to a client by an unexpired lease.",
           [](dhcp::pool_usage const& u) { return u.leased; });
    family("pinetboot_dhcp_pool_free", "Pool addresses a new client can get (never leased, or expired).",
           [](dhcp::pool_usage const& u) { return u.free; });
    o << "# HELP pinetboot_dhcp_pool_held Pool addresses neither leased nor free, by reason (size = leased + "
         "free + held).\n"
         "# TYPE pinetboot_dhcp_pool_held gauge\n";
    for (auto const& p : pools) {
      std::pair<char const*, std::uint64_t> const held[] = {{"offered", p.usage.offered},
                                                            {"declined", p.usage.declined},
                                                            {"released", p.usage.released},
                                                            {"reserved", p.usage.reserved}};
      for (auto const& [reason, n] : held)
        o << "pinetboot_dhcp_pool_held{subnet=\"" << p.subnet << "\",reason=\"" << reason << "\"} " << n << "\n";
    }
  }
  o << "# HELP pinetboot_build_info The server's version, git description and compiler (the value is "
       "always 1).\n"
       "# TYPE pinetboot_build_info gauge\n"
       "pinetboot_build_info{version=\""
    << PINETBOOT_VERSION << "\",git=\"" << label_value(examples::git_description()) << "\",compiler=\""
    << compiler() << "\"} 1\n";
  return o.str();
}

}  // namespace pinetboot::server
