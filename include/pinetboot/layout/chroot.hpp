/// @file
/// @brief Running a command inside an image generation's root (`image exec`), with /proc,
/// /sys, /dev, the server's resolv.conf and the boot tree bound in, and all of them unbound
/// whatever happens.
///
/// The command runs in a child process with a mount namespace of its own: every bind mount
/// exists only in that namespace, so it vanishes with the child's last process, also when the
/// tool is killed (the child gets SIGKILL when its parent dies, PR_SET_PDEATHSIG). Nothing is
/// ever mounted in the server's own namespace, so there is nothing to unmount. The command is
/// also the init of a PID namespace of its own, so whatever it started dies with it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/error.hpp"

namespace pinetboot::layout {

/// ELF machine numbers pinetboot names.
enum class cpu_arch : std::uint16_t { unknown = 0, x86 = 3, arm = 40, x86_64 = 62, aarch64 = 183 };
[[nodiscard]] std::string_view to_string(cpu_arch a) noexcept;

/// The CPU the root's `/bin/sh` is built for (its ELF header; symlinks resolved inside the
/// root). Errors: errno codes (no /bin/sh), errc::tool_failed (not an ELF file).
[[nodiscard]] result<cpu_arch> root_arch(std::filesystem::path const& root);
/// The server's own CPU.
[[nodiscard]] cpu_arch host_arch() noexcept;

/// How a root of another CPU can run here.
struct emulation {
  bool native = false;      ///< same CPU: runs directly
  bool available = false;   ///< a binfmt_misc handler is registered and enabled for it
  std::string handler;      ///< e.g. /proc/sys/fs/binfmt_misc/qemu-aarch64
  std::string advice;       ///< what to install when it is not available
};
[[nodiscard]] emulation find_emulation(cpu_arch target);

/// What run_in_root() binds.
struct chroot_options {
  std::filesystem::path boot;  ///< bound at /boot/firmware (or /boot) inside the root when set
  bool bind_resolv_conf = true;
};

/// Runs `argv` (argv[0] looked up in the root's PATH) chrooted in `root`, stdin from
/// /dev/null, stdout and stderr inherited. Returns the exit status (0..255; 128+N for a
/// signal). Errors: errc::foreign_arch, errno codes of fork/unshare/mount/chroot.
[[nodiscard]] result<int> run_in_root(std::filesystem::path const& root, std::vector<std::string> const& argv,
                                      chroot_options const& options);

}  // namespace pinetboot::layout
