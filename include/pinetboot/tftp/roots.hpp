/// @file
/// @brief Per-client TFTP roots: which directory below the TFTP root serves a given client,
/// and the IPv4 -> MAC lookups (DHCP side, kernel neighbour table) that choose it.
///
/// Modes (dnsmasq `--tftp-unique-root[=ip|mac]` semantics): the client's directory
/// `<root>/<name>/` serves ALL of the client's requests if it exists; if no candidate directory
/// exists the client is served from the shared root itself. With `per_file_fallback` a file
/// missing from the client's directory is also looked up in the shared root (useful when only
/// config.txt/cmdline.txt are per board). Candidate names, tried in this order:
///   * root_mode::mac_dash:  `b8-27-eb-5e-2a-2e` (dnsmasq `tftp-unique-root=mac`, piserver, and
///     the Pi 4/5 EEPROM `TFTP_PREFIX=2` spelling), then `B8-27-EB-5E-2A-2E`;
///   * root_mode::mac_colon: `b8:27:eb:5e:2a:2e`, then `B8:27:EB:5E:2A:2E` (`/tftpboot/<MAC>`);
///   * root_mode::mac_any:   dash lower, colon lower, dash upper, colon upper;
///   * root_mode::ip:        `192.168.1.17` (dnsmasq's default unique root).
/// The MAC comes from client_info::mac (the DHCP side saw the client) or else from
/// roots_policy::lookup (e.g. net::neighbour_table, reading the kernel's ARP cache); without a MAC
/// the MAC modes fall back to the shared root.
///
/// Raspberry Pi serial prefixes need nothing here: the board itself asks for
/// `<serial>/start4.elf` (8 lower-case hex digits, or the MAC form with TFTP_PREFIX=2) and drops
/// the prefix when that fails, so a `<root>/<serial>/` directory is simply a path inside the
/// shared root. Combining it with a MAC mode nests it (`<root>/<mac>/<serial>/...`).
///
/// Confinement: the chosen directory is a prefix of the path opened beneath the TFTP root
/// (open_beneath on the root fd), so operator symlinks from a client directory to shared files
/// (`../common/start4.elf`) work, and nothing resolves outside the TFTP root. As with dnsmasq,
/// a client served from the shared root can name other clients' directories
/// (`b8-27-eb-.../cmdline.txt`): per-client roots separate configurations, they are not an
/// access control; keep secrets out of TFTP.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/folder_naming.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/file_source.hpp"

namespace pinetboot::tftp {

/// Where a client's files are looked up: tftp's lookup policy on top of core::folder_naming.
/// What it adds to the naming: the shared root (no per-client directory) and, for a MAC
/// naming, trying every MAC spelling (`mac_any`). The serial and hostname namings give no
/// candidate (the board asks for `<serial>/` itself; TFTP does not know host names).
struct root_mode {
  std::optional<core::folder_naming> naming;  ///< nullopt: the shared root only
  bool any_mac_spelling = false;              ///< with a MAC naming: also the other separator

  /// The modes of the `per_client` setting (config `shared`, `mac-dash`, `mac-colon`, `mac`, `ip`).
  static root_mode const shared, mac_dash, mac_colon, mac_any, ip;

  /// A per-client directory named by `n`, in its own spelling only.
  [[nodiscard]] static constexpr root_mode named_by(core::folder_naming n) noexcept {
    return root_mode{n, false};
  }
  /// True when the directory is named after the client's MAC (a lookup may find it).
  [[nodiscard]] constexpr bool needs_mac() const noexcept { return naming && core::names_by_mac(*naming); }
  friend constexpr bool operator==(root_mode const&, root_mode const&) noexcept = default;
};
inline constexpr root_mode root_mode::shared{};
inline constexpr root_mode root_mode::mac_dash{core::folder_naming::mac_dash, false};
inline constexpr root_mode root_mode::mac_colon{core::folder_naming::mac_colon, false};
inline constexpr root_mode root_mode::mac_any{core::folder_naming::mac_dash, true};
inline constexpr root_mode root_mode::ip{core::folder_naming::ip, false};

/// Parses the `per_client` setting: `shared`, `mac` (mac_any), or the folder naming of the
/// directory (`mac-dash`, `mac-colon`, `ip`, as core::to_string() spells them); nullopt for
/// anything else (including `serial` and `hostname`, which name no directory here).
[[nodiscard]] constexpr std::optional<root_mode> parse_root_mode(std::string_view s) noexcept {
  if (s == "shared") return root_mode::shared;
  if (s == "mac") return root_mode::mac_any;
  auto n = core::parse_folder_naming(s);
  if (!n || *n == core::folder_naming::serial || *n == core::folder_naming::hostname) return std::nullopt;
  return root_mode::named_by(*n);
}

/// What is known about the client sending a request.
struct client_info {
  core::ipv4_address ip{};
  std::optional<core::mac_address> mac{};  ///< from DHCP, if known
};

/// Finds the MAC of an IPv4 client (DHCP lease table, neighbour table, static map).
/// Implementations must be thread-safe if the server is multi-threaded.
class mac_lookup {
 public:
  mac_lookup() = default;
  mac_lookup(mac_lookup const&) = default;
  mac_lookup& operator=(mac_lookup const&) = default;
  virtual ~mac_lookup() = default;
  /// The MAC for `ip`, or nullopt if unknown. Called once per RRQ/WRQ, off the per-block path.
  [[nodiscard]] virtual std::optional<core::mac_address> find(core::ipv4_address ip) const noexcept = 0;
};

/// A per-client directory name (a MAC in one spelling or a dotted quad), NUL-terminated.
class dir_name {
 public:
  constexpr dir_name() noexcept = default;
  explicit dir_name(std::string_view s) noexcept;  ///< truncated to 17 characters
  [[nodiscard]] std::string_view view() const noexcept { return {buf_.data(), len_}; }
  [[nodiscard]] char const* c_str() const noexcept { return buf_.data(); }
  [[nodiscard]] bool empty() const noexcept { return len_ == 0; }
  friend bool operator==(dir_name const& a, dir_name const& b) noexcept { return a.view() == b.view(); }

 private:
  std::array<char, 18> buf_{};
  std::size_t len_ = 0;
};

/// Candidate directory names in lookup order (at most 4).
class dir_candidates {
 public:
  void push(dir_name n) noexcept {
    if (count_ < items_.size()) items_[count_++] = n;
  }
  [[nodiscard]] std::span<dir_name const> items() const noexcept { return {items_.data(), count_}; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }

 private:
  std::array<dir_name, 4> items_{};
  std::size_t count_ = 0;
};

/// The names to try for `client` under `mode` (pure; see the file doc for the order). Empty for
/// root_mode::shared, for MAC modes without `client.mac`, and for ip mode with 0.0.0.0.
[[nodiscard]] dir_candidates candidate_dirs(root_mode mode, client_info const& client) noexcept;

/// Per-client root configuration.
struct roots_policy {
  root_mode mode = root_mode::shared;
  mac_lookup const* lookup = nullptr;  ///< consulted when client_info::mac is empty; not owned
  bool per_file_fallback = false;      ///< also try the shared root for files missing per client
  open_options open{};                 ///< confinement options for every open
};

/// The directory chosen for a client: empty name = the shared root.
struct client_root {
  dir_name name;
  [[nodiscard]] bool is_shared() const noexcept { return name.empty(); }
};

/// Picks the first candidate directory that exists below `root_fd` (opened beneath it, so a
/// candidate that is a symlink leaving the root is not used), else the shared root.
/// Errors: only those other than "not found" from open_beneath (e.g. errc::access_violation
/// for a candidate that is a symlink escaping the root): a misconfigured tree is reported, not
/// silently replaced by the shared root.
[[nodiscard]] result<client_root> select_client_root(int root_fd, roots_policy const& policy,
                                                     client_info const& client) noexcept;

/// Writes `<name>/<path>` (or `path` for the shared root) NUL-terminated into `out` and returns
/// a view of it. Errors: errc::name_too_long if it exceeds max_path_length,
/// errc::buffer_too_small if `out` is smaller.
[[nodiscard]] result<std::string_view> join_client_path(client_root const& root, std::string_view path,
                                                        std::span<char> out) noexcept;

/// Opens `path` (a resolve_path() result) for `client` through `cache`: selects the client's
/// root, opens `<dir>/<path>` beneath `root_fd`, and with per_file_fallback retries the shared
/// root on errc::file_not_found. Errors: as select_client_root, join_client_path, file_cache::open.
[[nodiscard]] result<file_source> open_for_client(file_cache& cache, int root_fd, roots_policy const& policy,
                                                  client_info const& client, std::string_view path) noexcept;

/// The Raspberry Pi serial prefix of a resolved path, if its first component is exactly 8
/// lower-case hex digits followed by more path (`abcd1234/start4.elf` -> `abcd1234`), as the
/// firmware's default TFTP_PREFIX sends. Informational (logging, layout checks): serving needs
/// no special case. Pure.
[[nodiscard]] std::optional<std::string_view> pi_serial_prefix(std::string_view resolved) noexcept;

}  // namespace pinetboot::tftp
