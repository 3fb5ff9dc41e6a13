/// @file
/// @brief Error codes of the DHCP module (message framing, option values, builders).
#pragma once

#include <cstdint>
#include <system_error>

namespace pinetboot::dhcp {

/// Errors reported by the DHCP codec. Each function's doc lists which it returns.
enum class errc : std::uint8_t {
  truncated = 1,      ///< shorter than the 236-byte BOOTP header plus the 4-byte magic cookie
  bad_op,             ///< `op` is neither 1 (BOOTREQUEST) nor 2 (BOOTREPLY)
  bad_hlen,           ///< `hlen` larger than the 16-byte `chaddr` field
  bad_magic_cookie,   ///< the options field does not start with 63 82 53 63 (RFC 2131 3)
  bad_option_length,  ///< an option's length byte is missing or runs past its field
  missing_end,        ///< an option field has no End (255) option (RFC 2131 4.1)
  bad_overload,       ///< option 52 malformed, repeated, or outside the options field (RFC 2132 9.3)
  option_absent,      ///< the requested option is not in the message
  bad_option_value,   ///< an option has a length or content its definition forbids
  buffer_too_small,   ///< output buffer cannot hold the result (builders report the size needed)
  not_pxe,            ///< a vendor class that is not `PXEClient`/`HTTPClient`
  not_raspberry_pi,   ///< an option 97 GUID without a Raspberry Pi signature
};

/// The category of dhcp::errc ("pinetboot.dhcp").
[[nodiscard]] std::error_category const& dhcp_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), dhcp_category()};
}

}  // namespace pinetboot::dhcp

template <>
struct std::is_error_code_enum<pinetboot::dhcp::errc> : std::true_type {};
