/// @file
/// @brief Dropping root after the privileged sockets are bound.
#pragma once

#include <string>
#include <system_error>

namespace pinetboot::net {

/// If running as root, switches to `user` (supplementary groups, gid, then uid) and checks
/// that root cannot be regained. A no-op returning success when not root. Errors: no such
/// user (std::errc::invalid_argument) or the failing system call's error.
[[nodiscard]] std::error_code drop_privileges(std::string const& user);

}  // namespace pinetboot::net
