/// @file
/// @brief Error codes of the nfs module (exports, fstab, cmdline.txt and EEPROM generators).
#pragma once

#include <cstdint>
#include <system_error>

namespace pinetboot::nfs {

/// Errors reported by the nfs text generators and parsers. Each function's doc lists which it
/// returns; the category's message() says what was wrong in words an operator understands.
enum class errc : std::uint8_t {
  empty_path = 1,                  ///< a path is empty
  relative_path,                   ///< a path does not start with '/'
  path_traversal,                  ///< a path has a ".." component
  path_too_long,                   ///< a path is longer than the format allows
  forbidden_character,             ///< NUL, newline or another character the format cannot carry
  invalid_host,                    ///< an exports client / NFS server is not an IP, subnet or host name
  world_export_not_allowed,        ///< "*", a wildcard or a /0 subnet without export_policy::allow_world
  missing_client,                  ///< an export entry has no clients
  unknown_option,                  ///< an export option pinetboot does not know
  invalid_option_value,            ///< fsid=, anonuid=, sec= ... with a bad value
  conflicting_options,             ///< e.g. "rw,ro" in one option list
  invalid_syntax,                  ///< unparsable text (unterminated quote, bad option list, bad field)
  duplicate_export,                ///< the same path and client appear twice
  broken_managed_block,            ///< duplicate, unpaired or misordered managed-block markers
  empty_field,                     ///< an fstab field that cannot be empty is empty
  value_out_of_range,              ///< a number outside what the key allows (EEPROM timeouts, prefix)
  invalid_boot_order,              ///< BOOT_ORDER with an unknown nibble or without network boot
  missing_dependency,              ///< a key needs another (CLIENT_IP needs TFTP_IP and SUBNET)
  nfs_version_needs_no_initramfs,  ///< NFSv4 or proto= requested for an initramfs boot
  too_long,                        ///< generated text exceeds a firmware/kernel limit
  client_outside_network,          ///< a client is not inside export_policy::within
};

/// The category of nfs::errc ("pinetboot.nfs").
[[nodiscard]] std::error_category const& nfs_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), nfs_category()};
}

}  // namespace pinetboot::nfs

template <>
struct std::is_error_code_enum<pinetboot::nfs::errc> : std::true_type {};
