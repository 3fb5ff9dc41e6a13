#include "pinetboot/layout/image.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

extern char** environ;

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

}  // namespace

std::error_code run_tool(std::vector<std::string> const& argv, std::filesystem::path const& stdout_file,
                         std::filesystem::path const& stderr_file) {
  if (argv.empty()) return {EINVAL, std::generic_category()};
  posix_spawn_file_actions_t fa;
  if (::posix_spawn_file_actions_init(&fa) != 0) return last_errno();
  (void)::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!stdout_file.empty())
    (void)::posix_spawn_file_actions_addopen(&fa, 1, stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!stderr_file.empty())
    (void)::posix_spawn_file_actions_addopen(&fa, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                             0600);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return {rc, std::generic_category()};
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return last_errno();
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return errc::tool_failed;
  return {};
}

result<mbr> read_mbr(std::filesystem::path const& image) {
  int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return last_errno();
  std::array<std::byte, mbr_size> sector{};
  std::size_t got = 0;
  while (got < sector.size()) {
    auto n = ::read(fd, sector.data() + got, sector.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return parse_mbr(std::span<const std::byte>{sector}.first(got));
}

bool is_xz(std::filesystem::path const& image) { return image.extension() == ".xz"; }

std::error_code extract_image(std::filesystem::path const& image, std::filesystem::path const& boot_dest,
                              std::filesystem::path const& root_dest,
                              std::filesystem::path const& scratch_dir,
                              std::function<void(std::string_view)> const& log) {
  auto say = [&](std::string const& line) {
    if (log) log(line);
  };
  std::filesystem::path raw = image;
  bool temp = false;
  std::error_code ec;
  if (is_xz(image)) {
    std::filesystem::create_directories(scratch_dir, ec);
    if (ec) return ec;
    raw = scratch_dir / "image.raw";
    temp = true;
    say("xz -dc " + image.string() + " > " + raw.string());
    if (auto e = run_tool({"xz", "-dc", "--", image.string()}, raw)) {
      std::filesystem::remove(raw, ec);
      return e;
    }
  }
  auto cleanup = [&] {
    if (temp) std::filesystem::remove(raw, ec);
  };
  auto m = read_mbr(raw);
  if (!m) {
    cleanup();
    return m.error();
  }
  auto size = std::filesystem::file_size(raw, ec);
  if (ec) {
    cleanup();
    return ec;
  }
  auto boot = m->partition(1);
  auto root = m->partition(2);
  std::error_code err;
  if (!boot)
    err = boot.error();
  else if (!root)
    err = root.error();
  else if (!boot->fits_in(size) || !root->fits_in(size))
    err = errc::bad_partition;
  if (!err && ::mkdir(boot_dest.c_str(), 0755) != 0) err = last_errno();
  if (!err && ::mkdir(root_dest.c_str(), 0755) != 0) err = last_errno();
  if (!err) {
    auto spec = raw.string() + "@@" + std::to_string(boot->byte_offset());
    say("mcopy -s -p -m -i " + spec + " ::/* " + boot_dest.string());
    err = run_tool({"mcopy", "-s", "-p", "-m", "-n", "-i", spec, "::/*", boot_dest.string() + "/"});
  }
  if (!err) {
    auto spec = raw.string() + "?offset=" + std::to_string(root->byte_offset());
    auto errlog = scratch_dir / "debugfs.log";
    std::filesystem::create_directories(scratch_dir, ec);
    say("debugfs -R \"rdump / " + root_dest.string() + "\" " + spec);
    err = run_tool({"debugfs", "-R", "rdump / " + root_dest.string(), spec}, "/dev/null", errlog);
    // debugfs exits 0 even when it cannot open the file system; an empty result is the tell.
    if (!err && std::filesystem::is_empty(root_dest, ec)) err = errc::tool_failed;
    std::filesystem::remove(errlog, ec);
  }
  cleanup();
  return err;
}

}  // namespace pinetboot::layout
