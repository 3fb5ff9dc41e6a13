/// @file
/// @brief Error codes of the layout module (client identities, MBR parsing, plan/apply).
#pragma once

#include <cstdint>
#include <system_error>

namespace pinetboot::layout {

/// Errors reported by the layout module. Each function's doc lists which it returns; file
/// system failures are reported as the `std::generic_category()` errno code instead.
enum class errc : std::uint8_t {
  // 1 was invalid_serial: core::pi_serial::parse() reports core::errc::invalid_serial.
  /// not an RFC 1123 host label
  invalid_hostname = 2,
  invalid_scheme,      ///< unknown folder naming scheme
  missing_identity,    ///< the naming scheme needs a field the client does not have
  folder_collision,    ///< two clients map to the same folder
  client_exists,       ///< the folder is taken and --force was not given
  client_broken,       ///< only part of a client is on disk and no journal explains it
  truncated,           ///< MBR shorter than 512 bytes
  bad_signature,       ///< MBR without the 0x55 0xAA boot signature
  bad_partition,       ///< a partition entry is inconsistent (status byte, extent)
  no_such_partition,   ///< the image has no partition with that number
  unsafe_path,         ///< a name would leave its directory ('/', "..", empty)
  tool_failed,         ///< an external tool (xz, mcopy, debugfs) failed
  bad_registry,        ///< the client registry has a malformed line
  cancelled,           ///< the progress callback asked to stop
  bad_manifest,        ///< a generation manifest has a malformed line
  no_such_image,       ///< no image of that name in the image store
  no_such_generation,  ///< the image has no generation with that number
  bad_image_name,      ///< an image name that is not a plain label
  command_failed,      ///< the command run in an image exited non-zero or by a signal
  foreign_arch,        ///< the image is for another CPU and no binfmt emulator is registered
  duplicate_identity,  ///< another board already has that IP address or host name
};

/// The category of layout::errc ("pinetboot.layout").
[[nodiscard]] std::error_category const& layout_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), layout_category()};
}

}  // namespace pinetboot::layout

template <>
struct std::is_error_code_enum<pinetboot::layout::errc> : std::true_type {};
