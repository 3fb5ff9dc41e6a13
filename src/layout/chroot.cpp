#include "pinetboot/layout/chroot.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "pinetboot/core/file.hpp"
#include "text_file.hpp"

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

// Resolves `rel` inside `root` as the chrooted kernel would: symlinks relative to the root,
// ".." stopping at it.
result<std::filesystem::path> resolve_inside(std::filesystem::path const& root, std::string rel) {
  for (int hops = 0; hops < 16; ++hops) {
    std::vector<std::string> parts;
    for (auto const& p : std::filesystem::path{rel}.relative_path()) {
      auto s = p.string();
      if (s.empty() || s == ".") continue;
      if (s == "..") {
        if (!parts.empty()) parts.pop_back();
        continue;
      }
      parts.push_back(std::move(s));
    }
    std::filesystem::path cur = root;
    std::string logical;
    bool restarted = false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      cur /= parts[i];
      struct stat st {};
      if (::lstat(cur.c_str(), &st) != 0) return last_errno();
      if (!S_ISLNK(st.st_mode)) {
        logical += "/" + parts[i];
        continue;
      }
      std::error_code ec;
      auto target = std::filesystem::read_symlink(cur, ec);
      if (ec) return ec;
      std::string next = target.is_absolute() ? target.string() : logical + "/" + target.string();
      for (std::size_t j = i + 1; j < parts.size(); ++j) next += "/" + parts[j];
      rel = next;
      restarted = true;
      break;
    }
    if (!restarted) return cur;
  }
  return std::error_code{ELOOP, std::generic_category()};
}


std::string_view binfmt_name(cpu_arch a) noexcept {
  switch (a) {
    case cpu_arch::aarch64:
      return "qemu-aarch64";
    case cpu_arch::arm:
      return "qemu-arm";
    case cpu_arch::x86_64:
      return "qemu-x86_64";
    case cpu_arch::x86:
      return "qemu-i386";
    case cpu_arch::unknown:
      break;
  }
  return {};
}

}  // namespace

std::string_view to_string(cpu_arch a) noexcept {
  switch (a) {
    case cpu_arch::x86:
      return "i386";
    case cpu_arch::arm:
      return "armhf";
    case cpu_arch::x86_64:
      return "amd64";
    case cpu_arch::aarch64:
      return "arm64";
    case cpu_arch::unknown:
      break;
  }
  return "unknown";
}

result<cpu_arch> root_arch(std::filesystem::path const& root) {
  auto sh = resolve_inside(root, "/bin/sh");
  if (!sh) return sh.error();
  int fd = ::open(sh->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return last_errno();
  core::unique_fd guard{fd};
  unsigned char h[20]{};
  if (::read(fd, h, sizeof h) != static_cast<ssize_t>(sizeof h) || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' ||
      h[3] != 'F')
    return errc::tool_failed;
  unsigned m = h[5] == 2 ? (unsigned{h[18]} << 8 | h[19]) : (unsigned{h[19]} << 8 | h[18]);
  switch (m) {
    case 3:
    case 40:
    case 62:
    case 183:
      return static_cast<cpu_arch>(m);
    default:
      return cpu_arch::unknown;
  }
}

cpu_arch host_arch() noexcept {
  struct utsname u {};
  if (::uname(&u) != 0) return cpu_arch::unknown;
  std::string_view m{u.machine};
  if (m == "x86_64") return cpu_arch::x86_64;
  if (m == "aarch64" || m == "arm64") return cpu_arch::aarch64;
  if (m.starts_with("armv") || m == "arm") return cpu_arch::arm;
  if (m.size() == 4 && m[0] == 'i' && m.substr(2) == "86") return cpu_arch::x86;
  return cpu_arch::unknown;
}

emulation find_emulation(cpu_arch target) {
  emulation e;
  auto host = host_arch();
  // An arm64 server runs 32-bit Raspberry Pi OS natively too (when its CPU has AArch32).
  if (target == host || (host == cpu_arch::aarch64 && target == cpu_arch::arm)) {
    e.native = true;
    e.available = true;
    return e;
  }
  auto name = binfmt_name(target);
  e.advice = "install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support), "
             "or run this on a " +
             std::string{to_string(target)} + " server (a Raspberry Pi)";
  if (name.empty()) return e;
  e.handler = "/proc/sys/fs/binfmt_misc/" + std::string{name};
  auto text = core::read_file_or_empty(e.handler);
  // The handler must be enabled and fix its interpreter at registration ('F'): the chroot has
  // no /usr/bin/qemu-*-static of its own.
  bool enabled = text.starts_with("enabled");
  auto flags = text.find("flags:");
  bool fixed = flags != std::string::npos && text.find('F', flags) < text.find('\n', flags);
  e.available = enabled && fixed;
  if (!text.empty() && enabled && !fixed)
    e.advice = e.handler + " is registered without the F flag; qemu-user-static's own registration has it";
  return e;
}

result<int> run_in_root(std::filesystem::path const& root, std::vector<std::string> const& argv,
                        chroot_options const& options) {
  if (argv.empty()) return std::error_code{EINVAL, std::generic_category()};
  auto arch = root_arch(root);
  if (arch) {
    auto emu = find_emulation(*arch);
    if (!emu.available) return errc::foreign_arch;
  }
  std::filesystem::path boot_target;
  if (!options.boot.empty()) {
    struct stat st {};
    for (char const* cand : {"boot/firmware", "boot"}) {
      auto p = root / cand;
      if (::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        boot_target = p;
        break;
      }
    }
  }
  std::vector<char*> args;
  for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return last_errno();
  if (pid == 0) {
    auto die = [](char const* what) {
      std::fprintf(stderr, "pinetboot: image exec: %s: %s\n", what, std::strerror(errno));
      ::_exit(126);
    };
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    // A mount namespace (the binds vanish with it) and a PID namespace: the command runs as
    // its init, so when it dies (with the tool, by PDEATHSIG) the kernel kills everything it
    // started too.
    if (::unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) die("unshare(CLONE_NEWNS | CLONE_NEWPID)");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("make / private");
    pid_t inner = ::fork();
    if (inner < 0) die("fork");
    if (inner > 0) {
      int st = 0;
      while (::waitpid(inner, &st, 0) < 0)
        if (errno != EINTR) ::_exit(126);
      ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto in = [&](char const* rel) { return (root / rel).string(); };
    for (char const* d : {"proc", "sys", "dev"}) {
      struct stat st {};
      if (::lstat(in(d).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        die(in(d).c_str());
      }
    }
    if (::mount("proc", in("proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) die("mount /proc");
    if (::mount("/sys", in("sys").c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) die("bind /sys");
    if (::mount("/dev", in("dev").c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) die("bind /dev");
    if (options.bind_resolv_conf) {
      struct stat host {}, mine {};
      auto target = in("etc/resolv.conf");
      bool host_ok = ::stat("/etc/resolv.conf", &host) == 0 && S_ISREG(host.st_mode);
      bool exists = ::lstat(target.c_str(), &mine) == 0;
      // Never through a symlink of the image (it would point outside the root).
      if (host_ok && (!exists || S_ISREG(mine.st_mode))) {
        if (!exists) {
          int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (fd >= 0) ::close(fd);
        }
        if (::mount("/etc/resolv.conf", target.c_str(), nullptr, MS_BIND, nullptr) != 0) die("bind resolv.conf");
      }
    }
    if (!boot_target.empty() &&
        ::mount(options.boot.c_str(), boot_target.c_str(), nullptr, MS_BIND, nullptr) != 0)
      die("bind the boot tree");
    if (::chroot(root.c_str()) != 0) die("chroot");
    if (::chdir("/") != 0) die("chdir /");
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::close(null);
    }
    ::setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    ::setenv("DEBIAN_FRONTEND", "noninteractive", 1);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "pinetboot: image exec: %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return last_errno();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace pinetboot::layout
