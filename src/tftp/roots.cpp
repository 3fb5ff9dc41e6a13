#include "pinetboot/tftp/roots.hpp"

#include <algorithm>

namespace pinetboot::tftp {
namespace {

dir_name mac_name(core::mac_address const& mac, char sep, bool upper) noexcept {
  std::array<char, 17> buf{};
  std::size_t n = mac.format_to(buf, sep);
  if (upper) {
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] >= 'a' && buf[i] <= 'f') buf[i] = static_cast<char>(buf[i] - 'a' + 'A');
  }
  return dir_name{std::string_view{buf.data(), n}};
}

dir_name ip_name(core::ipv4_address ip) noexcept {
  std::array<char, 17> buf{};
  std::size_t n = 0;
  auto o = ip.octets();
  for (std::size_t i = 0; i < 4; ++i) {
    if (i > 0) buf[n++] = '.';
    unsigned v = o[i];
    if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
    buf[n++] = static_cast<char>('0' + v % 10);
  }
  return dir_name{std::string_view{buf.data(), n}};
}

}  // namespace

dir_name::dir_name(std::string_view s) noexcept {
  len_ = std::min(s.size(), buf_.size() - 1);
  std::copy_n(s.begin(), len_, buf_.begin());
  buf_[len_] = '\0';
}

dir_candidates candidate_dirs(root_mode mode, client_info const& client) noexcept {
  dir_candidates out;
  if (!mode.naming) return out;
  switch (*mode.naming) {
    case core::folder_naming::serial:    // the board asks for <serial>/ itself
    case core::folder_naming::hostname:  // not known to TFTP
      break;
    case core::folder_naming::ip:
      if (!client.ip.is_unspecified()) out.push(ip_name(client.ip));
      break;
    case core::folder_naming::mac_dash:
    case core::folder_naming::mac_colon: {
      if (!client.mac) break;
      char const sep = *mode.naming == core::folder_naming::mac_dash ? '-' : ':';
      char const other = sep == '-' ? ':' : '-';
      out.push(mac_name(*client.mac, sep, false));
      if (mode.any_mac_spelling) out.push(mac_name(*client.mac, other, false));
      out.push(mac_name(*client.mac, sep, true));
      if (mode.any_mac_spelling) out.push(mac_name(*client.mac, other, true));
      break;
    }
  }
  return out;
}

result<client_root> select_client_root(int root_fd, roots_policy const& policy,
                                       client_info const& client) noexcept {
  client_info who = client;
  if (policy.mode.needs_mac() && !who.mac && policy.lookup != nullptr) who.mac = policy.lookup->find(who.ip);
  dir_candidates const candidates = candidate_dirs(policy.mode, who);  // outlives the loop
  for (dir_name const& name : candidates.items()) {
    auto dir = open_beneath(root_fd, name.view(), open_kind::directory, policy.open);
    if (dir) return client_root{name};
    if (dir.error() != make_error_code(errc::file_not_found)) return dir.error();
  }
  return client_root{};
}

result<std::string_view> join_client_path(client_root const& root, std::string_view path,
                                          std::span<char> out) noexcept {
  std::string_view const dir = root.name.view();
  std::size_t const total = dir.empty() ? path.size() : dir.size() + 1 + path.size();
  if (total > max_path_length) return errc::name_too_long;
  if (total + 1 > out.size()) return errc::buffer_too_small;
  std::size_t n = 0;
  if (!dir.empty()) {
    std::copy(dir.begin(), dir.end(), out.begin());
    n = dir.size();
    out[n++] = '/';
  }
  std::copy(path.begin(), path.end(), out.begin() + static_cast<std::ptrdiff_t>(n));
  n += path.size();
  out[n] = '\0';
  return std::string_view{out.data(), n};
}

result<file_source> open_for_client(file_cache& cache, int root_fd, roots_policy const& policy,
                                    client_info const& client, std::string_view path) noexcept {
  auto root = select_client_root(root_fd, policy, client);
  if (!root) return root.error();
  std::array<char, max_path_length + 1> buf;
  auto joined = join_client_path(*root, path, buf);
  if (!joined) return joined.error();
  auto src = cache.open(root_fd, *joined, policy.open);
  if (!src && policy.per_file_fallback && !root->is_shared() &&
      src.error() == make_error_code(errc::file_not_found))
    return cache.open(root_fd, path, policy.open);
  return src;
}

std::optional<std::string_view> pi_serial_prefix(std::string_view resolved) noexcept {
  if (resolved.size() < 10 || resolved[8] != '/') return std::nullopt;
  std::string_view serial = resolved.substr(0, 8);
  for (char c : serial)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  return serial;
}

}  // namespace pinetboot::tftp
