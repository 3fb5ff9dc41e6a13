// Prometheus metrics for pinetboot-server (served by http_endpoint, http.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/dhcp/engine.hpp"

namespace pinetboot::server {

/// A cumulative histogram with fixed buckets (seconds).
/// A Prometheus label value as the text format (0.0.4) wants it: backslash, quote and newline
/// escaped.
[[nodiscard]] std::string label_value(std::string_view s);

struct histogram {
  static constexpr std::array<double, 12> bounds{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120};
  std::array<std::uint64_t, bounds.size()> counts{};
  std::uint64_t count = 0;
  double sum = 0;
  void observe(double v) {
    for (std::size_t i = 0; i < bounds.size(); ++i)
      if (v <= bounds[i]) ++counts[i];
    ++count;
    sum += v;
  }
};

struct metrics {
  std::map<std::pair<std::string, std::string>, std::uint64_t> dhcp_messages;  ///< (type, class)
  std::map<std::string, std::uint64_t> dhcp_replies;                           ///< type
  std::uint64_t dhcp_ignored = 0;
  std::map<std::string, std::uint64_t> tftp_transfers;                         ///< outcome
  std::uint64_t tftp_bytes = 0, tftp_retransmits = 0;
  std::function<std::size_t()> tftp_active;
  std::map<std::string, histogram> boot_seconds;                               ///< board class
  std::uint64_t reloads = 0, reload_failures = 0;
  std::uint64_t descriptor_exhaustion = 0;                                     ///< EMFILE/ENFILE seen
  std::function<std::uint64_t()> lease_compaction_failures;
  /// Full DHCP mode: each subnet's pool ("10.77.0.0/24") and its use now; unset otherwise.
  struct pool {
    std::string subnet;
    dhcp::pool_usage usage;
  };
  std::function<std::vector<pool>()> dhcp_pools;

  [[nodiscard]] std::string render() const;
};

}  // namespace pinetboot::server
