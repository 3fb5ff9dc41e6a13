/// @file
/// @brief Error codes of the TFTP module, the RFC 1350/2347 wire error codes, and the mapping
/// between them.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace pinetboot::tftp {

/// Errors reported by TFTP codecs, option negotiation, sessions and block sources/sinks.
/// Each function's doc lists which it returns.
enum class errc : std::uint8_t {
  truncated = 1,      ///< datagram ended before a complete field
  bad_opcode,         ///< opcode not 1..6, or not valid in this state
  missing_nul,        ///< a string field (filename, mode, option) lacks its NUL terminator
  bad_mode,           ///< transfer mode not octet/netascii ("mail" is refused)
  bad_option_value,   ///< option value malformed (not decimal, out of range, empty name)
  duplicate_option,   ///< an option appears twice in one request/OACK (RFC 2347: rejected)
  buffer_too_small,   ///< output buffer cannot hold the packet
  file_not_found,     ///< wire code 1
  access_violation,   ///< wire code 2
  disk_full,          ///< wire code 3 (also: write size limit exceeded)
  illegal_operation,  ///< wire code 4
  unknown_tid,        ///< wire code 5
  file_exists,        ///< wire code 6
  no_such_user,       ///< wire code 7
  option_refused,     ///< wire code 8: option negotiation failed (RFC 2347)
  peer_error,         ///< the peer sent an ERROR packet ending the transfer
  timed_out,          ///< retransmissions exhausted
  name_too_long,      ///< file name exceeds the configured limit
  io_error,           ///< the block source/sink failed
  client_aborted,     ///< client ended the transfer with ERROR 0 or 8 (probe / "Early terminate"): normal
  too_many_options,   ///< more options than option_list can hold
  peer_silent,        ///< nothing heard from the peer for session_limits::idle_timeout
};

/// The category of tftp::errc ("pinetboot.tftp").
[[nodiscard]] std::error_category const& tftp_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), tftp_category()};
}

/// RFC 1350 section 5 error codes, plus 8 from RFC 2347.
enum class error_code_wire : std::uint16_t {
  not_defined = 0,
  file_not_found = 1,
  access_violation = 2,
  disk_full = 3,
  illegal_operation = 4,
  unknown_tid = 5,
  file_exists = 6,
  no_such_user = 7,
  option_negotiation = 8,
};

/// A wire error code and the message to put in an ERROR packet.
struct wire_error {
  error_code_wire code;
  std::string_view message;  ///< static storage
};

/// Maps any error (tftp::errc or foreign, e.g. std::errc::no_such_file_or_directory from a file
/// source) to the ERROR packet a server should send. Unknown errors map to code 0 with a generic
/// message that leaks no details.
[[nodiscard]] wire_error to_wire(std::error_code ec) noexcept;

/// Maps a tftp::errc to the ERROR packet to send.
[[nodiscard]] inline wire_error to_wire(errc e) noexcept { return to_wire(make_error_code(e)); }

/// Maps a received wire code to the local errc (code 0 -> peer_error, 8 -> option_refused).
[[nodiscard]] constexpr errc from_wire(error_code_wire c) noexcept {
  switch (c) {
    case error_code_wire::file_not_found:
      return errc::file_not_found;
    case error_code_wire::access_violation:
      return errc::access_violation;
    case error_code_wire::disk_full:
      return errc::disk_full;
    case error_code_wire::illegal_operation:
      return errc::illegal_operation;
    case error_code_wire::unknown_tid:
      return errc::unknown_tid;
    case error_code_wire::file_exists:
      return errc::file_exists;
    case error_code_wire::no_such_user:
      return errc::no_such_user;
    case error_code_wire::option_negotiation:
      return errc::option_refused;
    case error_code_wire::not_defined:
      break;
  }
  return errc::peer_error;
}

}  // namespace pinetboot::tftp

template <>
struct std::is_error_code_enum<pinetboot::tftp::errc> : std::true_type {};
