/// @file
/// @brief Dropping root after the privileged sockets are bound.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

namespace pinetboot::net {

/// If running as root, switches to `user` (supplementary groups, gid, then uid) and checks
/// that root cannot be regained. A no-op returning success when not root. Errors: no such
/// user (std::errc::invalid_argument) or the failing system call's error.
[[nodiscard]] std::error_code drop_privileges(std::string const& user);

/// For a warning at start, after drop_privileges: empty when this process can list and read
/// `dir`, otherwise a sentence saying that `user` cannot, what clients will get for it and the
/// fix. Served files are opened as that user, so an unreadable root (a mktemp directory of
/// mode 0700, say) answers every request with "Access violation".
[[nodiscard]] std::string unreadable_root_warning(std::filesystem::path const& dir, std::string const& user);

}  // namespace pinetboot::net
