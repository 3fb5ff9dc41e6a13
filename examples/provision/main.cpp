// pinetboot-provision: creates, lists, verifies and removes per-board boot and root trees for
// network-booted Raspberry Pis, and keeps /etc/exports in step. The layout module plans and
// applies the trees; the nfs module generates cmdline.txt, fstab, exports and EEPROM text.
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pinetboot/layout.hpp"
#include "pinetboot/nfs/cmdline.hpp"
#include "pinetboot/nfs/eeprom.hpp"
#include "pinetboot/nfs/exports.hpp"
#include "pinetboot/nfs/exports_file.hpp"
#include "pinetboot/nfs/fstab.hpp"
#include "pinetboot/nfs/ganesha.hpp"

namespace {

namespace fs = std::filesystem;
namespace layout = pinetboot::layout;
namespace nfs = pinetboot::nfs;
using pinetboot::core::ipv4_address;
using pinetboot::core::mac_address;

enum exit_code : int {
  exit_ok = 0,
  exit_usage = 1,
  exit_drift = 2,
  exit_conflict = 3,
  exit_io = 4,
  exit_not_found = 5,
};

constexpr char const* usage_text = R"(Usage: pinetboot-provision [global options] COMMAND [options]

Per-board boot trees (<tftp-root>/<folder>/) and NFS root trees (<nfs-root>/<folder>/) for
network-booted Raspberry Pis, built from a golden tree or a Raspberry Pi OS image.

Commands:
  add            create a client (or update its IP/host name; nothing to do if unchanged)
      --serial S       board serial: 8 hex digits or the 16-digit /proc/cpuinfo form
      --mac M          board MAC (dc:a6:32:01:36:c2 or dc-a6-32-01-36-c2)
      --hostname H     RFC 1123 host label
      --ip A           the board's IPv4 address (exports are restricted to it)
      --server-ip A    address the board mounts NFS from (required for a new client)
      --scheme S       folder name: serial (default), mac-dash, mac-colon, hostname
      --from-tree BOOT ROOT   golden boot and root trees
      --from-image X.img[.xz] golden trees from partitions 1 and 2 of an OS image
      --force          replace an existing client or take over an unknown folder
      --link-boot      hard-link boot files to the golden tree instead of copying them
      --reload         run `exportfs -ra` after updating the exports file
  remove         delete a client's trees, registry line and exports lines
      --folder F | --serial S | --mac M | --hostname H   (all given must match)
  list           one line per client: folder, MAC, serial, host name, IP, state
                 (ok | staging | broken)
  verify         check trees, cmdline.txt, fstab and exports of every client
  repair         finish or clean up after an interrupted run
  exports        print the managed exports block; --apply writes it, --reload runs exportfs -ra
      --format F       exports (default: the /etc/exports block) or ganesha (the whole
                       NFS-Ganesha exports file; --apply writes --ganesha-file)
  eeprom-config  print the bootloader configuration for the scheme (--scheme, --tftp-ip A)

Global options:
  --prefix DIR        treat DIR as the file system root (all paths below it; the paths
                      written into exports, fstab and cmdline.txt are as seen inside it)
  --tftp-root P       default /srv/tftp
  --nfs-root P        default /srv/nfs
  --exports-file P    default /etc/exports
  --ganesha-file P    default /etc/ganesha/pinetboot-exports.conf (%include it in ganesha.conf)
  --registry P        default /var/lib/pinetboot/clients.conf
  --export-subnet A/N export to this subnet for clients without --ip
  --dry-run           print what would be done and change nothing
  -v, --verbose       print every step
  -h, --help          this text

Exit codes:
  0 success   1 usage error   2 drift found (verify)   3 conflict (client exists,
  folder collision, another run holds the lock)   4 I/O or external tool error
  5 no such client
)";

struct options {
  layout::layout_config cfg;
  fs::path exports_file = "/etc/exports";
  std::string exports_format = "exports";  // exports --format: exports | ganesha
  fs::path ganesha_file{std::string{nfs::ganesha_default_file}};
  std::optional<std::string> export_subnet;
  bool dry_run = false;
  bool verbose = false;
  std::string command;
  std::optional<mac_address> mac;
  std::optional<layout::pi_serial> serial;
  std::string hostname;
  std::optional<ipv4_address> ip;
  std::optional<ipv4_address> server;
  std::optional<ipv4_address> tftp_ip;
  layout::naming_scheme scheme = layout::naming_scheme::serial;
  bool scheme_given = false;
  std::optional<fs::path> from_boot, from_root, from_image;
  std::string folder;
  bool force = false;
  bool link_boot = false;
  bool apply = false;
  bool reload = false;
};

struct usage_error {
  std::string what;
};

// --- small helpers -------------------------------------------------------------------------

std::string read_file(fs::path const& p, bool* exists = nullptr) {
  std::ifstream in{p, std::ios::binary};
  if (exists != nullptr) *exists = static_cast<bool>(in);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

int exit_for(std::error_code ec) {
  if (ec == layout::errc::client_exists || ec == layout::errc::folder_collision) return exit_conflict;
  if (ec == layout::errc::missing_identity || ec == layout::errc::invalid_hostname ||
      ec == layout::errc::invalid_serial || ec == layout::errc::unsafe_path)
    return exit_usage;
  return exit_io;
}

int fail(std::string const& what, std::error_code ec, std::string const& hint = {}) {
  std::cerr << "pinetboot-provision: " << what << ": " << ec.message() << "\n";
  if (!hint.empty()) std::cerr << "  " << hint << "\n";
  return exit_for(ec);
}

// The generated files are written into trees copied from an image; a symlinked etc/ or
// cmdline.txt there must not redirect the write to the server's own files.
std::error_code check_inside(fs::path const& base, fs::path const& rel) {
  fs::path p = base;
  for (auto const& part : rel) {
    p /= part;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0)
      return errno == ENOENT ? std::error_code{} : std::error_code{errno, std::generic_category()};
    if (S_ISLNK(st.st_mode)) return layout::errc::unsafe_path;
  }
  return {};
}

class lock_file {
 public:
  std::error_code acquire(fs::path const& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return ec;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return {errno, std::generic_category()};
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) return {errno, std::generic_category()};
    return {};
  }
  lock_file() = default;
  lock_file(lock_file const&) = delete;
  lock_file& operator=(lock_file const&) = delete;
  ~lock_file() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

std::string human(std::uint64_t bytes) {
  char buf[32];
  if (bytes < std::uint64_t{10} * 1024)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else if (bytes < 10ULL << 20)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  else if (bytes < 10ULL << 30)
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / 1073741824.0);
  return buf;
}

// A one-line progress bar with bytes and ETA, drawn only on a terminal.
class progress_bar {
 public:
  explicit progress_bar(bool enabled) : enabled_{enabled} {}
  void update(layout::progress const& p) {
    if (!enabled_ || p.bytes_total == 0) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && p.bytes_done < p.bytes_total) return;
    last_ = now;
    double frac = static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total);
    auto elapsed = std::chrono::duration<double>(now - start_).count();
    double eta = frac > 0.001 ? elapsed * (1 - frac) / frac : 0;
    int width = 30;
    int fill = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(fill), '#');
    bar.resize(static_cast<std::size_t>(width), ' ');
    std::printf("\r%-20.20s [%s] %5.1f%% %s / %s ETA %d:%02d ", std::string{p.folder}.c_str(), bar.c_str(),
                frac * 100, human(p.bytes_done).c_str(), human(p.bytes_total).c_str(),
                static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    std::fflush(stdout);
    drawn_ = true;
  }
  void done() {
    if (drawn_) std::printf("\n");
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

// --- command line --------------------------------------------------------------------------

template <class T>
T parse_or_throw(pinetboot::result<T> r, std::string const& flag, std::string_view value) {
  if (!r) throw usage_error{flag + " '" + std::string{value} + "': " + r.error().message()};
  return *r;
}

options parse_args(int argc, char** argv) {
  options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      if (auto eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    auto value = [&]() -> std::string {
      if (has_inline) return inline_value;
      if (i + 1 >= args.size()) throw usage_error{a + " needs a value"};
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      o.command = "help";
      return o;
    }
    if (a == "-v" || a == "--verbose")
      o.verbose = true;
    else if (a == "--dry-run")
      o.dry_run = true;
    else if (a == "--prefix")
      o.cfg.prefix = value();
    else if (a == "--tftp-root")
      o.cfg.tftp_root = value();
    else if (a == "--nfs-root")
      o.cfg.nfs_root = value();
    else if (a == "--exports-file")
      o.exports_file = value();
    else if (a == "--format") {
      o.exports_format = value();
      if (o.exports_format != "exports" && o.exports_format != "ganesha")
        throw usage_error{"--format must be exports or ganesha"};
    } else if (a == "--ganesha-file") {
      o.ganesha_file = value();
      if (!o.ganesha_file.is_absolute())
        throw usage_error{o.ganesha_file.string() + ": paths must be absolute"};
    } else if (a == "--registry")
      o.cfg.registry = value();
    else if (a == "--export-subnet")
      o.export_subnet = value();
    else if (a == "--mac") {
      auto v = value();
      o.mac = parse_or_throw(mac_address::parse(v), a, v);
    } else if (a == "--serial") {
      auto v = value();
      o.serial = parse_or_throw(layout::pi_serial::parse(v), a, v);
    } else if (a == "--hostname") {
      o.hostname = value();
      if (auto ec = layout::check_hostname(o.hostname))
        throw usage_error{"--hostname '" + o.hostname + "': " + ec.message()};
    } else if (a == "--ip") {
      auto v = value();
      o.ip = parse_or_throw(ipv4_address::parse(v), a, v);
    } else if (a == "--server-ip") {
      auto v = value();
      o.server = parse_or_throw(ipv4_address::parse(v), a, v);
    } else if (a == "--tftp-ip") {
      auto v = value();
      o.tftp_ip = parse_or_throw(ipv4_address::parse(v), a, v);
    } else if (a == "--scheme") {
      auto v = value();
      o.scheme = parse_or_throw(layout::parse_scheme(v), a, v);
      o.scheme_given = true;
    } else if (a == "--from-tree") {
      o.from_boot = value();
      if (i + 1 >= args.size()) throw usage_error{"--from-tree needs two values: BOOT ROOT"};
      o.from_root = args[++i];
    } else if (a == "--from-image")
      o.from_image = value();
    else if (a == "--folder")
      o.folder = value();
    else if (a == "--force")
      o.force = true;
    else if (a == "--link-boot")
      o.link_boot = true;
    else if (a == "--apply")
      o.apply = true;
    else if (a == "--reload")
      o.reload = true;
    else if (!a.empty() && a[0] == '-')
      throw usage_error{"unknown option " + a};
    else if (o.command.empty())
      o.command = a;
    else
      throw usage_error{"unexpected argument '" + a + "'"};
  }
  if (o.command.empty()) throw usage_error{"no command given"};
  for (auto* p : {&o.cfg.tftp_root, &o.cfg.nfs_root, &o.cfg.registry, &o.exports_file})
    if (!p->is_absolute()) throw usage_error{p->string() + ": paths must be absolute"};
  if (o.from_image && o.from_boot) throw usage_error{"give either --from-tree or --from-image"};
  return o;
}

// --- generated files -----------------------------------------------------------------------

std::error_code write_generated(fs::path const& file, std::string const& content) {
  return nfs::write_file_atomically(file, content, false);
}

// cmdline.txt and etc/fstab for one client, derived from what the golden tree has.
struct client_files {
  std::string cmdline, fstab;
};

pinetboot::result<client_files> expected_files(layout::layout_config const& cfg,
                                               layout::client_record const& r, fs::path const& boot,
                                               fs::path const& root) {
  if (!r.server) return layout::errc::missing_identity;
  client_files out;
  nfs::cmdline_options c;
  c.server = *r.server;
  c.root_path = cfg.exported_root(r.folder).string();
  auto cmd = nfs::make_netboot_cmdline(read_file(boot / "cmdline.txt"), c);
  if (!cmd) return cmd.error();
  out.cmdline = std::move(*cmd);
  nfs::netboot_fstab_options f;
  f.server = r.server->to_string();
  f.boot_export = cfg.exported_boot(r.folder).string();
  auto tab = nfs::make_netboot_fstab(read_file(root / "etc/fstab"), f);
  if (!tab) return tab.error();
  out.fstab = std::move(*tab);
  return out;
}

std::error_code customize(layout::layout_config const& cfg, layout::client_record const& r,
                          fs::path const& boot, fs::path const& root) {
  if (auto ec = check_inside(boot, "cmdline.txt")) return ec;
  if (auto ec = check_inside(root, "etc/fstab")) return ec;
  auto files = expected_files(cfg, r, boot, root);
  if (!files) return files.error();
  std::error_code ec;
  fs::create_directories(root / "etc", ec);
  if (ec) return ec;
  if (auto e = write_generated(boot / "cmdline.txt", files->cmdline)) return e;
  return write_generated(root / "etc/fstab", files->fstab);
}

// --- exports -------------------------------------------------------------------------------

struct export_set {
  std::vector<nfs::export_entry> entries;
  std::vector<std::string> notes;
};

pinetboot::result<export_set> exports_for(options const& o,
                                          std::vector<layout::client_record> const& records) {
  export_set out;
  std::optional<nfs::export_client> subnet;
  if (o.export_subnet) {
    auto slash = o.export_subnet->find('/');
    auto addr = ipv4_address::parse(o.export_subnet->substr(0, slash));
    unsigned len = 0;
    bool ok = slash != std::string::npos && addr;
    if (ok) {
      auto n = o.export_subnet->substr(slash + 1);
      ok = !n.empty() && n.size() <= 2 && n.find_first_not_of("0123456789") == std::string::npos;
      if (ok) len = static_cast<unsigned>(std::stoul(n));
    }
    auto c =
        ok ? nfs::subnet_client(*addr, len) : pinetboot::result<nfs::export_client>{nfs::errc::invalid_host};
    if (!c) return c.error();
    subnet = *c;
  }
  for (auto const& r : records) {
    std::optional<nfs::export_client> client;
    if (r.id.ip)
      client = nfs::board_client(*r.id.ip);
    else if (subnet)
      client = *subnet;
    if (!client) {
      out.notes.push_back("client " + r.folder + " has no --ip: not exported (give --ip or --export-subnet)");
      continue;
    }
    out.entries.push_back({o.cfg.exported_root(r.folder).string(), {*client}});
    out.entries.push_back({o.cfg.exported_boot(r.folder).string(), {*client}});
  }
  return out;
}

fs::path exports_path(options const& o) { return o.cfg.under_prefix(o.exports_file); }

// Rewrites the managed block; returns true if the file changed.
pinetboot::result<bool> update_exports(options const& o, std::vector<layout::client_record> const& records,
                                       bool write) {
  auto set = exports_for(o, records);
  if (!set) return set.error();
  for (auto const& n : set->notes) std::cerr << "note: " << n << "\n";
  bool existed = false;
  auto old = read_file(exports_path(o), &existed);
  auto updated = nfs::update_managed_block(old, set->entries);
  if (!updated) return updated.error();
  if (*updated == old && existed) return false;
  if (!write) return true;
  std::error_code ec;
  fs::create_directories(exports_path(o).parent_path(), ec);
  if (ec) return ec;
  if (auto e = nfs::write_file_atomically(exports_path(o), *updated, existed)) return e;
  return true;
}

void reload_exports(options const& o) {
  if (o.cfg.prefix != "/") {
    std::cerr << "note: --reload skipped: --prefix is set, the running NFS server does not read "
              << exports_path(o).string() << "\n";
    return;
  }
  if (auto ec = layout::run_tool({"exportfs", "-ra"}))
    std::cerr << "warning: exportfs -ra failed (" << ec.message() << "); is nfs-kernel-server installed?\n";
  else if (o.verbose)
    std::cout << "exportfs -ra: done\n";
}

// --- commands ------------------------------------------------------------------------------

pinetboot::result<layout::snapshot> load(options const& o) {
  auto snap = layout::scan(o.cfg);
  if (!snap) return snap.error();
  return snap;
}

// Runs a plan: extracts the golden image if any step needs it, applies with a progress bar.
int run_plan(options const& o, std::vector<layout::step> const& steps) {
  if (o.dry_run) {
    if (steps.empty()) std::cout << "nothing to do\n";
    for (auto const& s : steps) std::cout << layout::describe(s, o.cfg) << "\n";
    return exit_ok;
  }
  bool needs_golden = false;
  for (auto const& s : steps) needs_golden |= s.kind == layout::step_kind::stage;
  layout::apply_options ao;
  ao.link_boot = o.link_boot;
  ao.preserve_owner = true;
  ao.customize = [&o](layout::client_record const& r, fs::path const& boot, fs::path const& root) {
    return customize(o.cfg, r, boot, root);
  };
  progress_bar bar{::isatty(STDOUT_FILENO) == 1};
  long throttle_us = 0;
  if (char const* t = std::getenv("PINETBOOT_PROVISION_THROTTLE_US"))
    throttle_us = std::atol(t);  // tests only
  ao.on_progress = [&](layout::progress const& p) {
    bar.update(p);
    if (throttle_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(throttle_us));
    return true;
  };
  ao.on_step = [&](layout::step const& s) {
    if (o.verbose) std::cout << layout::describe(s, o.cfg) << "\n";
  };
  fs::path golden_dir;
  if (needs_golden) {
    if (o.from_image) {
      golden_dir = o.cfg.root_staging_dir() / ("golden." + std::to_string(::getpid()));
      std::error_code ec;
      fs::create_directories(golden_dir, ec);
      if (ec) return fail("cannot create " + golden_dir.string(), ec);
      if (o.verbose) std::cout << "extracting " << o.from_image->string() << "\n";
      auto log = [&](std::string_view line) {
        if (o.verbose) std::cout << "  " << line << "\n";
      };
      if (auto e = layout::extract_image(*o.from_image, golden_dir / "boot", golden_dir / "root",
                                         golden_dir / "scratch", log)) {
        (void)layout::remove_tree(golden_dir);
        return fail("cannot extract " + o.from_image->string(), e,
                    "is it a Raspberry Pi OS image (FAT partition 1, ext4 partition 2)? "
                    "Needs mtools, e2fsprogs and xz-utils.");
      }
      ao.golden_boot = golden_dir / "boot";
      ao.golden_root = golden_dir / "root";
    } else if (o.from_boot) {
      ao.golden_boot = *o.from_boot;
      ao.golden_root = *o.from_root;
    } else {
      std::cerr << "pinetboot-provision: a client must be (re)built but no golden source was given\n"
                << "  add --from-tree BOOT ROOT or --from-image X.img[.xz]\n";
      return exit_usage;
    }
  }
  auto ec = layout::apply(steps, o.cfg, ao);
  bar.done();
  if (!golden_dir.empty()) (void)layout::remove_tree(golden_dir);
  if (ec)
    return fail("failed", ec, "nothing half-built is visible; fix the cause and run the same command again");
  return exit_ok;
}

int finish_with_exports(options const& o, bool reload) {
  auto reg = layout::read_registry(o.cfg.registry_file());
  if (!reg) return fail("cannot read the registry", reg.error());
  auto changed = update_exports(o, *reg, !o.dry_run);
  if (!changed) return fail("cannot update " + exports_path(o).string(), changed.error());
  if (*changed && !o.dry_run) {
    std::cout << "updated " << exports_path(o).string() << "\n";
    if (reload)
      reload_exports(o);
    else if (o.cfg.prefix == "/")
      std::cout << "run `exportfs -ra` (or pass --reload) to activate it\n";
  }
  return exit_ok;
}

int cmd_add(options const& o) {
  auto snap = load(o);
  if (!snap) return fail("cannot read the current layout", snap.error());
  layout::client_record want;
  want.id.mac = o.mac;
  want.id.serial = o.serial;
  want.id.hostname = o.hostname;
  want.id.ip = o.ip;
  want.server = o.server;
  auto folder = layout::folder_name(want.id, o.scheme);
  if (!folder) {
    return fail("cannot name the client folder with scheme " + std::string{layout::to_string(o.scheme)},
                folder.error(),
                "give the field the scheme uses (--serial, --mac or --hostname) or pick --scheme");
  }
  want.folder = *folder;
  std::vector<layout::client_record> desired;
  bool found = false;
  for (auto const& r : snap->registered) {
    if (r.folder == want.folder) {
      // Fields not given on this run keep their registered values.
      auto merged = want;
      if (!merged.id.mac) merged.id.mac = r.id.mac;
      if (!merged.id.serial) merged.id.serial = r.id.serial;
      if (merged.id.hostname.empty()) merged.id.hostname = r.id.hostname;
      if (!merged.id.ip) merged.id.ip = r.id.ip;
      if (!merged.server) merged.server = r.server;
      desired.push_back(merged);
      want = merged;
      found = true;
      continue;
    }
    bool same_board =
        (want.id.mac && r.id.mac == want.id.mac) || (want.id.serial && r.id.serial == want.id.serial);
    if (same_board && !o.force) {
      std::cerr << "pinetboot-provision: this board is already registered as folder " << r.folder << "\n"
                << "  remove it first (pinetboot-provision remove --folder " << r.folder
                << ") or pass --force to move it\n";
      return exit_conflict;
    }
    if (!same_board) desired.push_back(r);
  }
  if (!found) desired.push_back(want);
  if (!want.server) {
    std::cerr
        << "pinetboot-provision: --server-ip is required for a new client (the address it mounts NFS from)\n";
    return exit_usage;
  }
  auto steps = layout::plan(desired, *snap, {o.scheme, o.force});
  if (!steps) {
    if (steps.error() == layout::errc::client_exists)
      return fail(o.cfg.boot_dir(want.folder).string() + " or " + o.cfg.root_dir(want.folder).string(),
                  steps.error(),
                  "it is not a registered client; check what it is, or pass --force to replace it");
    return fail("cannot plan", steps.error());
  }
  if (int rc = run_plan(o, *steps); rc != exit_ok) return rc;
  if (o.dry_run) {
    auto set = exports_for(o, desired);
    if (set) {
      std::string lines;
      for (auto const& e : set->entries) (void)nfs::append_exports_line(lines, e);
      std::cout << "exports:\n" << lines;
    }
    return exit_ok;
  }
  std::cout << (steps->empty() ? "unchanged: " : "ready: ") << want.folder << "  boot "
            << o.cfg.boot_dir(want.folder).string() << "  root " << o.cfg.root_dir(want.folder).string()
            << "\n";
  if (int rc = finish_with_exports(o, o.reload); rc != exit_ok) return rc;
  if (auto set = exports_for(o, {want})) {
    std::string lines;
    for (auto const& e : set->entries) (void)nfs::append_exports_line(lines, e);
    if (!lines.empty()) std::cout << "exports lines:\n" << lines;
  }
  return exit_ok;
}

int cmd_remove(options const& o) {
  auto snap = load(o);
  if (!snap) return fail("cannot read the current layout", snap.error());
  if (o.folder.empty() && !o.mac && !o.serial && o.hostname.empty()) {
    std::cerr << "pinetboot-provision: remove needs --folder, --serial, --mac or --hostname\n";
    return exit_usage;
  }
  std::vector<layout::client_record> desired;
  std::size_t matched = 0;
  for (auto const& r : snap->registered) {
    bool match = (o.folder.empty() || r.folder == o.folder) && (!o.mac || r.id.mac == o.mac) &&
                 (!o.serial || r.id.serial == o.serial) &&
                 (o.hostname.empty() || r.id.hostname == o.hostname);
    if (match)
      ++matched;
    else
      desired.push_back(r);
  }
  if (matched == 0) {
    std::cerr << "pinetboot-provision: no registered client matches; see `pinetboot-provision list`\n";
    return exit_not_found;
  }
  auto steps = layout::plan(desired, *snap, {o.scheme, false});
  if (!steps) return fail("cannot plan", steps.error());
  if (int rc = run_plan(o, *steps); rc != exit_ok) return rc;
  if (o.dry_run) return exit_ok;
  std::cout << "removed " << matched << " client" << (matched == 1 ? "" : "s") << "\n";
  return finish_with_exports(o, o.reload);
}

int cmd_repair(options const& o) {
  auto snap = load(o);
  if (!snap) return fail("cannot read the current layout", snap.error());
  auto steps = layout::plan(snap->registered, *snap, {o.scheme, false});
  if (!steps) return fail("cannot plan", steps.error());
  if (int rc = run_plan(o, *steps); rc != exit_ok) return rc;
  if (!o.dry_run) std::cout << (steps->empty() ? "nothing to repair\n" : "repaired\n");
  return exit_ok;
}

std::string state_of(layout::snapshot const& snap, layout::client_record const& r) {
  for (auto const& j : snap.journals)
    if (j.folder == r.folder) return "staging";
  for (auto const& p : snap.stale) {
    auto name = p.filename().string();
    if (name.rfind(r.folder + ".", 0) == 0) return "staging";
  }
  auto it = snap.folders.find(r.folder);
  if (it == snap.folders.end() || !it->second.boot || !it->second.root) return "broken";
  return "ok";
}

int cmd_list(options const& o) {
  auto snap = load(o);
  if (!snap) return fail("cannot read the current layout", snap.error());
  for (auto const& r : snap->registered) {
    std::printf("%-20s %-17s %-8s %-16s %-15s %s\n", r.folder.c_str(),
                r.id.mac ? r.id.mac->to_string().c_str() : "-",
                r.id.serial ? r.id.serial->to_string().c_str() : "-",
                r.id.hostname.empty() ? "-" : r.id.hostname.c_str(),
                r.id.ip ? r.id.ip->to_string().c_str() : "-", state_of(*snap, r).c_str());
  }
  if (!snap->journals.empty() || !snap->stale.empty())
    std::cerr << "note: an interrupted run left staging data; `pinetboot-provision repair` (or the next "
                 "add/remove) "
                 "cleans it up\n";
  return exit_ok;
}

int cmd_verify(options const& o) {
  auto snap = load(o);
  if (!snap) return fail("cannot read the current layout", snap.error());
  std::vector<std::string> drift;
  for (auto const& j : snap->journals) drift.push_back(j.folder + ": interrupted publish (run `repair`)");
  for (auto const& p : snap->stale) drift.push_back(p.string() + ": stale staging data (run `repair`)");
  std::set<std::string> known;
  for (auto const& r : snap->registered) {
    known.insert(r.folder);
    auto boot = o.cfg.boot_dir(r.folder), root = o.cfg.root_dir(r.folder);
    auto it = snap->folders.find(r.folder);
    bool has_boot = it != snap->folders.end() && it->second.boot;
    bool has_root = it != snap->folders.end() && it->second.root;
    if (!has_boot) drift.push_back(r.folder + ": boot tree missing: " + boot.string());
    if (!has_root) drift.push_back(r.folder + ": root tree missing: " + root.string());
    if (!has_boot || !has_root) continue;
    if (!r.server) {
      drift.push_back(r.folder + ": no server address registered (re-run add with --server-ip)");
      continue;
    }
    auto want = expected_files(o.cfg, r, boot, root);
    if (!want) {
      drift.push_back(r.folder + ": cannot regenerate files: " + want.error().message());
      continue;
    }
    if (read_file(boot / "cmdline.txt") != want->cmdline)
      drift.push_back(r.folder + ": cmdline.txt differs from the generated one");
    if (read_file(root / "etc/fstab") != want->fstab)
      drift.push_back(r.folder + ": etc/fstab differs from the generated one");
  }
  for (auto const& [name, st] : snap->folders)
    if (!known.contains(name)) std::cout << "note: " << name << " is not a registered client\n";
  auto changed = update_exports(o, snap->registered, false);
  if (!changed)
    drift.push_back(exports_path(o).string() + ": " + changed.error().message());
  else if (*changed)
    drift.push_back(exports_path(o).string() + ": managed block out of date (run `exports --apply`)");
  for (auto const& d : drift) std::cout << "drift: " << d << "\n";
  if (!drift.empty()) return exit_drift;
  std::cout << snap->registered.size() << " client" << (snap->registered.size() == 1 ? "" : "s") << " ok\n";
  return exit_ok;
}

int cmd_exports(options const& o) {
  auto reg = layout::read_registry(o.cfg.registry_file());
  if (!reg) return fail("cannot read the registry", reg.error());
  if (!o.apply) {
    auto set = exports_for(o, *reg);
    if (!set) return fail("cannot build exports", set.error());
    for (auto const& n : set->notes) std::cerr << "note: " << n << "\n";
    auto block = nfs::update_managed_block("", set->entries);
    if (!block) return fail("cannot build exports", block.error());
    std::cout << *block;
    return exit_ok;
  }
  auto changed = update_exports(o, *reg, !o.dry_run);
  if (!changed) return fail("cannot update " + exports_path(o).string(), changed.error());
  std::cout << (*changed ? (o.dry_run ? "would update " : "updated ") : "unchanged ")
            << exports_path(o).string() << "\n";
  if (*changed && o.reload && !o.dry_run) reload_exports(o);
  return exit_ok;
}

// exports --format ganesha: NFS-Ganesha's EXPORT blocks for the same exports, as a whole file
// of pinetboot's own (ganesha.conf %includes it), written atomically with --apply.
int cmd_exports_ganesha(options const& o) {
  auto reg = layout::read_registry(o.cfg.registry_file());
  if (!reg) return fail("cannot read the registry", reg.error());
  auto set = exports_for(o, *reg);
  if (!set) return fail("cannot build exports", set.error());
  for (auto const& n : set->notes) std::cerr << "note: " << n << "\n";
  auto file = o.cfg.under_prefix(o.ganesha_file);
  bool existed = false;
  auto old = read_file(file, &existed);  // its Export_Ids are kept: a board's id never moves
  std::vector<std::string> warnings;
  auto text = nfs::format_ganesha_exports(set->entries, {}, &warnings, nfs::read_ganesha_export_ids(old));
  if (!text) return fail("cannot build the NFS-Ganesha exports", text.error());
  for (auto const& w : warnings) std::cerr << "warning: " << w << "\n";
  if (!o.apply) {
    std::cout << *text;
    return exit_ok;
  }
  bool same = old == *text && existed;
  if (!same && !o.dry_run) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec) return fail("cannot create " + file.parent_path().string(), ec);
    if (auto e = nfs::write_file_atomically(file, *text, false))
      return fail("cannot write " + file.string(), e);
  }
  std::cout << (same ? "unchanged " : o.dry_run ? "would update " : "updated ") << file.string() << "\n";
  if (!same && o.reload && !o.dry_run)
    std::cerr << "note: --reload runs exportfs only; NFS-Ganesha rereads its exports on SIGHUP\n";
  return exit_ok;
}

int cmd_eeprom(options const& o) {
  nfs::eeprom_options e;
  e.tftp_ip = o.tftp_ip;
  switch (o.scheme) {
    case layout::naming_scheme::serial:
      e.tftp_prefix = nfs::tftp_prefix_mode::serial;
      break;
    case layout::naming_scheme::mac_dash:
      e.tftp_prefix = nfs::tftp_prefix_mode::mac;
      break;
    case layout::naming_scheme::mac_colon:
    case layout::naming_scheme::hostname:
      std::cerr
          << "note: with --scheme " << layout::to_string(o.scheme)
          << " the bootloader cannot find its folder by itself (it knows only TFTP_PREFIX serial or MAC "
             "with dashes);\n  the TFTP server must map the client to its folder\n";
      break;
  }
  auto text = nfs::format_eeprom_config(e);
  if (!text) return fail("cannot build the EEPROM configuration", text.error());
  std::cout << *text;
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse_args(argc, argv);
  } catch (usage_error const& e) {
    std::cerr << "pinetboot-provision: " << e.what << "\n(see pinetboot-provision --help)\n";
    return exit_usage;
  }
  if (o.command == "help") {
    std::cout << usage_text;
    return exit_ok;
  }
  bool mutates = (o.command == "add" || o.command == "remove" || o.command == "repair" ||
                  (o.command == "exports" && o.apply)) &&
                 !o.dry_run;
  lock_file lock;
  if (mutates) {
    auto lock_path = o.cfg.registry_file();
    lock_path += ".lock";
    if (auto ec = lock.acquire(lock_path)) {
      if (ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block) {
        std::cerr << "pinetboot-provision: another pinetboot-provision is running (" << lock_path.string()
                  << " is locked); wait for it and retry\n";
        return exit_conflict;
      }
      return fail("cannot lock " + lock_path.string(), ec);
    }
  }
  if (o.command == "add") return cmd_add(o);
  if (o.command == "remove") return cmd_remove(o);
  if (o.command == "list") return cmd_list(o);
  if (o.command == "verify") return cmd_verify(o);
  if (o.command == "repair") return cmd_repair(o);
  if (o.command == "exports") return o.exports_format == "ganesha" ? cmd_exports_ganesha(o) : cmd_exports(o);
  if (o.command == "eeprom-config") return cmd_eeprom(o);
  std::cerr << "pinetboot-provision: unknown command '" << o.command
            << "'\n(see pinetboot-provision --help)\n";
  return exit_usage;
}
