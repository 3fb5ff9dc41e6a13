/// @file
/// @brief /etc/exports lines per exports(5) (nfs-utils): a validated model, a formatter and a parser.
///
/// Text generation is off the packet path, so these functions allocate (std::string/vector) but
/// never throw on bad input: every rejection is an `nfs::errc`. Spec: raspberry-pi-netboot.md 10.3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/nfs/error.hpp"

namespace pinetboot::nfs {

enum class access_mode : std::uint8_t { ro, rw };
enum class sync_mode : std::uint8_t { sync, async };
enum class subtree_mode : std::uint8_t { no_subtree_check, subtree_check };
enum class squash_mode : std::uint8_t { root_squash, no_root_squash, all_squash };
enum class port_mode : std::uint8_t { secure, insecure };
enum class sec_flavor : std::uint8_t { sys, krb5, krb5i, krb5p };

/// Export options of one client. An unset optional means "not written" (nfs-utils default applies).
/// Formatted in this canonical order: rw|ro, sync|async, [no_]subtree_check, *squash,
/// secure|insecure, crossmnt, nohide, fsid=, anonuid=, anongid=, sec=.
struct export_options {
  std::optional<access_mode> access;
  std::optional<sync_mode> sync;
  std::optional<subtree_mode> subtree;
  std::optional<squash_mode> squash;
  std::optional<port_mode> port;
  bool crossmnt = false;
  bool nohide = false;
  /// "root", a decimal number (0..4294967295) or a UUID: 32 hex digits plus '-'/':' punctuation.
  std::optional<std::string> fsid;
  std::optional<std::uint32_t> anonuid;
  std::optional<std::uint32_t> anongid;
  /// sec= flavors in preference order; empty = not written. No duplicates.
  std::vector<sec_flavor> sec;

  friend bool operator==(export_options const&, export_options const&) = default;

  /// What an NFS root (and the board's boot folder, which rpi-eeprom-update writes) needs:
  /// rw,sync,no_subtree_check,no_root_squash (spec 10.3, official tutorial).
  [[nodiscard]] static export_options netboot_rw();
  /// A read-only shared root as piserver exports it: ro,sync,no_subtree_check,no_root_squash.
  [[nodiscard]] static export_options netboot_ro();
};

/// One client of an export: `host` is an IPv4 address, an IPv4 subnet (`a.b.c.d/len` or
/// `a.b.c.d/m.m.m.m`), a host name, an `@netgroup`, a wildcard pattern (`pi-*.lab`) or `*`.
struct export_client {
  std::string host;
  export_options opts;
  friend bool operator==(export_client const&, export_client const&) = default;
};

/// One exports line: an absolute path and its clients (at least one).
struct export_entry {
  std::string path;
  std::vector<export_client> clients;
  friend bool operator==(export_entry const&, export_entry const&) = default;
};

/// What a client spec matches.
enum class host_kind : std::uint8_t { ipv4_address, ipv4_subnet, hostname, netgroup, wildcard, anyone };

/// Classifies (and validates) a client spec. IPv6 is not supported. Errors: errc::invalid_host.
[[nodiscard]] result<host_kind> classify_host(std::string_view host) noexcept;

/// True for specs that match any host on the network: `*`, wildcard patterns and /0 subnets.
[[nodiscard]] bool is_world_host(std::string_view host) noexcept;

/// The board's own address as client (the default, narrowest scope).
[[nodiscard]] export_client board_client(core::ipv4_address board,
                                         export_options opts = export_options::netboot_rw());
/// The subnet `addr/prefix_len` (host bits cleared) as client. Errors: errc::invalid_host (prefix > 32).
[[nodiscard]] result<export_client> subnet_client(core::ipv4_address addr, unsigned prefix_len,
                                                  export_options opts = export_options::netboot_rw());
/// Every host (`*`); formatting it needs export_policy::allow_world and yields a warning.
[[nodiscard]] export_client world_client(export_options opts = export_options::netboot_rw());

/// An IPv4 network `network/prefix_len`.
struct ipv4_network {
  core::ipv4_address network;
  unsigned prefix_len = 32;
};

/// Formatting policy. By default clients are restricted to addresses, subnets, host names and
/// netgroups; `allow_world` permits `*`, wildcards and /0 (each still produces a warning).
/// With `within` set (e.g. the boards' LAN), every client must be an IPv4 address or subnet
/// inside it: host names and netgroups cannot be checked and are rejected too.
struct export_policy {
  bool allow_world = false;
  std::optional<ipv4_network> within;
};

/// Human-readable warnings for an entry: world-wide clients, root-writable subnets, `insecure`.
[[nodiscard]] std::vector<std::string> export_warnings(export_entry const& e);

/// Checks an entry without formatting it. Errors: errc::empty_path, relative_path, path_traversal,
/// path_too_long (> 1024 bytes), forbidden_character (NUL or newline in the path), missing_client,
/// invalid_host, world_export_not_allowed, client_outside_network, invalid_option_value (fsid,
/// duplicate sec flavor; a `within` prefix over 32).
[[nodiscard]] std::error_code validate(export_entry const& e, export_policy const& policy = {});

/// Appends `<path> <host>(<opts>) ...\n` to `out`. The path is escaped as nfs-utils reads it:
/// whitespace, '"', '\\', '#', control and non-ASCII bytes become `\ooo` octal escapes.
/// A client without options is written bare (`host`). Warnings (see export_warnings) are
/// appended to `*warnings` if given. On error `out` is unchanged. Errors: see validate().
[[nodiscard]] std::error_code append_exports_line(std::string& out, export_entry const& e,
                                                  export_policy const& policy = {},
                                                  std::vector<std::string>* warnings = nullptr);
/// The same line as a new string (with its trailing newline).
[[nodiscard]] result<std::string> format_exports_line(export_entry const& e, export_policy const& policy = {},
                                                      std::vector<std::string>* warnings = nullptr);

/// Parses exports text the way nfs-utils does: '#' comments, blank lines, backslash-newline
/// continuation, '"' quoting, `\ooo` escapes, `-opts` default options for the rest of a line.
/// Stricter than exportfs: unknown options, conflicting options within one list, an entry without
/// clients and IPv6 clients are errors. The policy is not applied (`*` parses). If `error_line` is
/// given it receives the 1-based line of the first error.
/// Errors: errc::invalid_syntax, unknown_option, invalid_option_value, conflicting_options,
/// missing_client, invalid_host, and the path errors of validate().
[[nodiscard]] result<std::vector<export_entry>> parse_exports(std::string_view text,
                                                              std::size_t* error_line = nullptr);
/// Parses text holding exactly one entry (a trailing newline/comment is fine).
/// Errors: as parse_exports; errc::invalid_syntax if there is no entry or more than one.
[[nodiscard]] result<export_entry> parse_exports_line(std::string_view line);

}  // namespace pinetboot::nfs
