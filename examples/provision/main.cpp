// pinetboot-provision: creates, lists, verifies and removes per-board boot and root trees for
// network-booted Raspberry Pis, and keeps /etc/exports in step. The layout module plans and
// applies the trees; the nfs module generates cmdline.txt, fstab, exports and EEPROM text.
#include <sys/file.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pinetboot/core/file.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/layout.hpp"
#include "pinetboot/nfs/cmdline.hpp"
#include "pinetboot/nfs/eeprom.hpp"
#include "pinetboot/nfs/exports.hpp"
#include "pinetboot/nfs/exports_file.hpp"
#include "pinetboot/nfs/fstab.hpp"
#include "pinetboot/nfs/ganesha.hpp"

#include "../common/args.hpp"

#include <toml++/toml.h>

#ifndef PINETBOOT_DEFAULT_CONFIG
#define PINETBOOT_DEFAULT_CONFIG "/etc/pinetboot/pinetboot.toml"
#endif

namespace {

namespace fs = std::filesystem;
namespace core = pinetboot::core;
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

Images (immutable generations; boards run one and can move between them):
  image import NAME (--from-image X.img[.xz] | --from-tree BOOT ROOT)
                 extract once into the next generation of image NAME
      --persist /a,/b   per-board paths of shared roots (default /home,/var/log)
      --volatile /c,/d  tmpfs paths of shared roots (default /tmp,/var/tmp,/var/spool,...)
  image exec NAME -- CMD [ARGS...]
                 the next generation as a copy of the latest, CMD run chrooted in it
                 (/proc, /sys, /dev, resolv.conf and the boot tree bound in); a failing
                 CMD leaves no new generation
  image list     images, generations, bytes on disk, boards on each
  image show NAME  one image's generations with source, time and boards
  image gc NAME --keep N   remove old generations (never one a board is on or can roll back to)
  upgrade        move boards to a generation: --all | --boards A,B | --canary N
      --image NAME     the image to move them to (default: each board's own)
      --to GEN         the generation (default: the image's latest)
  rollback       return boards to their previous generation: --all | --boards A,B

Commands:
  add            create a client (or update its IP/host name; nothing to do if unchanged)
      --image NAME     build it from the latest generation of image NAME (nothing extracted);
                       with --from-tree/--from-image, that source becomes NAME's next
                       generation first (unless NAME's latest was made from it)
      --root-model M   copy (a writable root of its own, default) or shared (the generation
                       read-only plus a per-board state tree); changeable by a later add
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
  list           one line per client: folder, MAC, serial, host name, IP, image,
                 generation (previous), model, state (ok | staging | broken | stale)
  verify         check trees, cmdline.txt, fstab and exports of every client; image
                 boards against their generation's manifest
  repair         finish or undo an interrupted run; rebuild what verify reports
  exports        print the managed exports block; --apply writes it, --reload runs exportfs -ra
      --format F       exports (default: the /etc/exports block) or ganesha (the whole
                       NFS-Ganesha exports file; --apply writes --ganesha-file)
  eeprom-config  print the bootloader configuration for the scheme (--scheme, --tftp-ip A)

Global options:
  --prefix DIR        treat DIR as the file system root (all paths below it; the paths
                      written into exports, fstab and cmdline.txt are as seen inside it)
  --config FILE       the site configuration, shared with pinetboot-server (default
                      )" PINETBOOT_DEFAULT_CONFIG R"(, below --prefix): its [tftp] root and its
                      [provision] registry, nfs_root, image_root, exports_file, ganesha_file,
                      scheme and server_ip are the defaults of the options below and of
                      --scheme and --server-ip; options given here win
  --tftp-root P       default /srv/tftp
  --nfs-root P        default /srv/nfs
  --exports-file P    default /etc/exports
  --ganesha-file P    default /etc/ganesha/pinetboot-exports.conf (%include it in ganesha.conf)
  --registry P        default /var/lib/pinetboot/clients.conf
  --image-root P      default /srv/pinetboot/images
  --export-subnet A/N export to this subnet for clients without --ip
  --dry-run           print what would be done and change nothing
  -v, --verbose       print every step
  -h, --help          this text
  --version           print the program name and version

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
  std::optional<core::pi_serial> serial;
  std::string hostname;
  std::optional<ipv4_address> ip;
  std::optional<ipv4_address> server;
  std::optional<ipv4_address> tftp_ip;
  core::folder_naming scheme = core::folder_naming::serial;
  bool scheme_given = false;
  std::optional<fs::path> from_boot, from_root, from_image;
  std::string folder;
  bool force = false;
  bool link_boot = false;
  bool apply = false;
  bool reload = false;
  std::vector<std::string> positional;  ///< after the command (image SUB NAME)
  std::vector<std::string> exec_argv;   ///< after `--`
  std::string image;
  std::optional<layout::root_model> model;
  bool all = false;
  std::vector<std::string> boards;
  std::optional<unsigned> canary, to_gen, keep;
  std::optional<std::vector<std::string>> persist, volatile_paths;
  std::optional<fs::path> config_file;  ///< --config; else the installed default, if present
  std::set<std::string> given;          ///< long options on the command line (they beat the file)
  fs::path site_config;                 ///< the configuration file read, if any
  std::string early_output;             ///< --help or --version text
  std::string scheme_from;              ///< file:line that set the scheme, if the file did
};

struct usage_error {
  std::string what;
};

// --- small helpers -------------------------------------------------------------------------

int exit_for(std::error_code ec) {
  if (ec == layout::errc::client_exists || ec == layout::errc::folder_collision) return exit_conflict;
  if (ec == layout::errc::missing_identity || ec == layout::errc::invalid_hostname ||
      ec == core::errc::invalid_serial || ec == layout::errc::unsafe_path)
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
    auto now = core::steady_clock::now();
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
  core::time_point start_ = core::steady_clock::now();
  core::time_point last_{};
};

// --- command line --------------------------------------------------------------------------

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

unsigned parse_count(std::string const& flag, std::string const& v, unsigned min) {
  unsigned n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size() || n < min || n > 999999)
    throw usage_error{flag + " '" + v + "': want a whole number from " + std::to_string(min) + " to 999999"};
  return n;
}

template <class T>
T parse_or_throw(pinetboot::result<T> r, std::string const& flag, std::string_view value) {
  if (!r) throw usage_error{flag + " '" + std::string{value} + "': " + r.error().message()};
  return *r;
}

options parse_args(int argc, char** argv) {
  options o;
  pinetboot::examples::args a{"pinetboot-provision", ""};
  a.help_text(usage_text)
      .flag("verbose", "")
      .alias('v', "verbose")
      .flag("dry-run", "")
      .option("prefix", "DIR", "")
      .option("config", "FILE", "")
      .option("tftp-root", "P", "")
      .option("nfs-root", "P", "")
      .option("exports-file", "P", "")
      .option("format", "F", "")
      .option("ganesha-file", "P", "")
      .option("registry", "P", "")
      .option("export-subnet", "A/N", "")
      .option("mac", "M", "")
      .option("serial", "S", "")
      .option("hostname", "H", "")
      .option("ip", "A", "")
      .option("server-ip", "A", "")
      .option("tftp-ip", "A", "")
      .option("scheme", "S", "")
      .option_n("from-tree", 2, "BOOT ROOT", "")
      .option("from-image", "X.img[.xz]", "")
      .option("folder", "F", "")
      .flag("force", "")
      .flag("link-boot", "")
      .option("image-root", "P", "")
      .option("image", "NAME", "")
      .option("root-model", "M", "")
      .flag("all", "")
      .option("boards", "A,B", "")
      .option("canary", "N", "")
      .option("to", "GEN", "")
      .option("keep", "N", "")
      .option("persist", "/a,/b", "")
      .option("volatile", "/c,/d", "")
      .flag("apply", "")
      .flag("reload", "")
      .positionals("COMMAND", "")
      .rest("a command (image exec NAME -- CMD [ARGS...])");
  std::ostringstream early;  // --help / --version
  std::optional<int> stop;
  try {
    stop = a.parse(argc, argv, early);
  } catch (pinetboot::examples::usage_error const& e) {
    throw usage_error{e.what()};
  }
  if (stop) {
    o.command = "early";
    o.early_output = early.str();
    return o;
  }
  auto given = [&](char const* name) { return a.has(name); };
  auto value = [&](char const* name) { return a.get(name); };
  for (auto const& name : {"prefix", "config", "tftp-root", "nfs-root", "exports-file", "format", "ganesha-file",
                           "registry", "export-subnet", "mac", "serial", "hostname", "ip", "server-ip", "tftp-ip",
                           "scheme", "from-tree", "from-image", "folder", "image-root", "image", "root-model",
                           "boards", "canary", "to", "keep", "persist", "volatile", "dry-run", "verbose", "force",
                           "link-boot", "all", "apply", "reload"})
    if (given(name)) o.given.insert(std::string{"--"} + name);
  o.verbose = given("verbose");
  o.dry_run = given("dry-run");
  o.force = given("force");
  o.link_boot = given("link-boot");
  o.all = given("all");
  o.apply = given("apply");
  o.reload = given("reload");
  if (given("prefix")) o.cfg.prefix = value("prefix");
  if (given("config")) o.config_file = value("config");
  if (given("tftp-root")) o.cfg.tftp_root = value("tftp-root");
  if (given("nfs-root")) o.cfg.nfs_root = value("nfs-root");
  if (given("exports-file")) o.exports_file = value("exports-file");
  if (given("format")) {
    o.exports_format = value("format");
    if (o.exports_format != "exports" && o.exports_format != "ganesha")
      throw usage_error{"--format must be exports or ganesha"};
  }
  if (given("ganesha-file")) {
    o.ganesha_file = value("ganesha-file");
    if (!o.ganesha_file.is_absolute()) throw usage_error{o.ganesha_file.string() + ": paths must be absolute"};
  }
  if (given("registry")) o.cfg.registry = value("registry");
  if (given("export-subnet")) o.export_subnet = value("export-subnet");
  if (given("mac")) o.mac = parse_or_throw(mac_address::parse(value("mac")), "--mac", value("mac"));
  if (given("serial"))
    o.serial = parse_or_throw(core::pi_serial::parse(value("serial")), "--serial", value("serial"));
  if (given("hostname")) {
    o.hostname = value("hostname");
    if (auto ec = layout::check_hostname(o.hostname))
      throw usage_error{"--hostname '" + o.hostname + "': " + ec.message()};
  }
  if (given("ip")) o.ip = parse_or_throw(ipv4_address::parse(value("ip")), "--ip", value("ip"));
  if (given("server-ip"))
    o.server = parse_or_throw(ipv4_address::parse(value("server-ip")), "--server-ip", value("server-ip"));
  if (given("tftp-ip")) o.tftp_ip = parse_or_throw(ipv4_address::parse(value("tftp-ip")), "--tftp-ip", value("tftp-ip"));
  if (given("scheme")) {
    o.scheme = parse_or_throw(layout::parse_scheme(value("scheme")), "--scheme", value("scheme"));
    o.scheme_given = true;
  }
  if (given("from-tree")) {
    auto v = a.all("from-tree");
    o.from_boot = v.at(0);
    o.from_root = v.at(1);
  }
  if (given("from-image")) o.from_image = value("from-image");
  if (given("folder")) o.folder = value("folder");
  if (given("image-root")) o.cfg.image_root = value("image-root");
  if (given("image")) {
    o.image = value("image");
    if (auto ec = layout::check_image_name(o.image)) throw usage_error{"--image '" + o.image + "': " + ec.message()};
  }
  if (given("root-model")) {
    auto m = layout::parse_root_model(value("root-model"));
    if (!m) throw usage_error{"--root-model '" + value("root-model") + "': want copy or shared"};
    o.model = *m;
  }
  if (given("boards")) {
    o.boards = split_list(value("boards"));
    if (o.boards.empty()) throw usage_error{"--boards needs a comma-separated list of folders or host names"};
  }
  if (given("canary")) o.canary = parse_count("--canary", value("canary"), 1);
  if (given("to")) o.to_gen = parse_count("--to", value("to"), 1);
  if (given("keep")) o.keep = parse_count("--keep", value("keep"), 1);
  for (char const* flag : {"persist", "volatile"}) {
    if (!given(flag)) continue;
    auto list = split_list(value(flag));
    for (auto const& p : list)
      if (layout::check_state_path(p))
        throw usage_error{std::string{"--"} + flag + " '" + p + "': want absolute paths without spaces, commas or '..'"};
    (std::string_view{flag} == "persist" ? o.persist : o.volatile_paths) = list;
  }
  auto const& words = a.positional();
  if (!words.empty()) o.command = words[0];
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (o.command == "image" && o.positional.size() < 2)
      o.positional.push_back(words[i]);
    else
      throw usage_error{"unexpected argument '" + words[i] + "'"};
  }
  o.exec_argv = a.after_dashes();
  if (!o.exec_argv.empty() && !(o.command == "image" && !o.positional.empty() && o.positional[0] == "exec"))
    throw usage_error{"-- CMD is for `image exec NAME -- CMD`"};
  if (o.command == "image") {
    if (o.positional.empty()) throw usage_error{"image needs a subcommand: import, exec, list, show or gc"};
    auto const& sub = o.positional[0];
    bool named = sub == "import" || sub == "exec" || sub == "show" || sub == "gc";
    if (!named && sub != "list") throw usage_error{"unknown image subcommand '" + sub + "'"};
    if (named && o.positional.size() < 2) throw usage_error{"image " + sub + " needs an image NAME"};
    if (named)
      if (auto ec = layout::check_image_name(o.positional[1]))
        throw usage_error{"image name '" + o.positional[1] + "': " + ec.message()};
    if (sub == "exec" && o.exec_argv.empty()) throw usage_error{"image exec NAME -- CMD [ARGS...]"};
    if (sub == "gc" && !o.keep) throw usage_error{"image gc NAME --keep N"};
  }
  if (o.command == "upgrade" || o.command == "rollback") {
    int ways = int{o.all} + int{!o.boards.empty()} + int{o.canary.has_value()};
    if (ways != 1) throw usage_error{o.command + " needs exactly one of --all, --boards A,B or --canary N"};
    if (o.command == "rollback" && (o.canary || o.to_gen || !o.image.empty()))
      throw usage_error{"rollback takes --all or --boards only"};
  }
  if (o.command.empty()) throw usage_error{"no command given"};
  for (auto* p : {&o.cfg.tftp_root, &o.cfg.nfs_root, &o.cfg.registry, &o.exports_file, &o.cfg.image_root})
    if (!p->is_absolute()) throw usage_error{p->string() + ": paths must be absolute"};
  if (o.from_image && o.from_boot) throw usage_error{"give either --from-tree or --from-image"};
  return o;
}

// --- the site configuration ----------------------------------------------------------------

// The server's configuration file is the one place the layout is written down: its [tftp] root
// is where the boards' boot trees go, and its [provision] section names the registry, the NFS
// and image roots, the folder scheme and the NFS server address. Options on the command line
// win over the file; without a file the built-in defaults (the same as the server's) apply.
void apply_site_config(options& o) {
  bool explicit_file = o.config_file.has_value();
  fs::path file = explicit_file ? *o.config_file : o.cfg.under_prefix(PINETBOOT_DEFAULT_CONFIG);
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (explicit_file) throw usage_error{"--config " + file.string() + ": no such file"};
    return;
  }
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (toml::parse_error const& e) {
    throw usage_error{file.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string{e.description()} + " (or pass --config FILE)"};
  }
  auto where = [&](toml::node const& n) { return file.string() + ":" + std::to_string(n.source().begin.line); };
  auto text = [&](toml::node const* n, std::string const& key) -> std::optional<std::string> {
    if (n == nullptr) return std::nullopt;
    auto v = n->value<std::string>();
    if (!v) throw usage_error{where(*n) + ": " + key + " must be a string"};
    return v;
  };
  auto path = [&](toml::node const* n, std::string const& key, std::string const& flag, fs::path& out) {
    auto v = text(n, key);
    if (!v || o.given.count(flag) != 0) return;
    if (!fs::path{*v}.is_absolute()) throw usage_error{where(*n) + ": " + key + " must be an absolute path"};
    out = *v;
  };
  path(root.at_path("tftp.root").node(), "tftp.root", "--tftp-root", o.cfg.tftp_root);
  path(root.at_path("provision.registry").node(), "provision.registry", "--registry", o.cfg.registry);
  path(root.at_path("provision.nfs_root").node(), "provision.nfs_root", "--nfs-root", o.cfg.nfs_root);
  path(root.at_path("provision.image_root").node(), "provision.image_root", "--image-root", o.cfg.image_root);
  path(root.at_path("provision.exports_file").node(), "provision.exports_file", "--exports-file", o.exports_file);
  path(root.at_path("provision.ganesha_file").node(), "provision.ganesha_file", "--ganesha-file", o.ganesha_file);
  if (auto const* n = root.at_path("provision.scheme").node(); n != nullptr && o.given.count("--scheme") == 0) {
    auto v = *text(n, "provision.scheme");
    auto s = layout::parse_scheme(v);
    if (!s) throw usage_error{where(*n) + ": provision.scheme '" + v + "': want serial, mac-dash, mac-colon or hostname"};
    o.scheme = *s;
    o.scheme_from = where(*n);
  }
  if (auto const* n = root.at_path("provision.server_ip").node(); n != nullptr && o.given.count("--server-ip") == 0) {
    auto v = *text(n, "provision.server_ip");
    auto a = ipv4_address::parse(v);
    if (!a) throw usage_error{where(*n) + ": provision.server_ip '" + v + "' is not an IPv4 address"};
    o.server = *a;
  }
  o.site_config = file;
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
  auto cmd = nfs::make_netboot_cmdline(core::read_file_or_empty(boot / "cmdline.txt"), c);
  if (!cmd) return cmd.error();
  out.cmdline = std::move(*cmd);
  nfs::netboot_fstab_options f;
  f.server = r.server->to_string();
  f.boot_export = cfg.exported_boot(r.folder).string();
  auto tab = nfs::make_netboot_fstab(core::read_file_or_empty(root / "etc/fstab"), f);
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
  std::vector<nfs::export_client> shared_clients;
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
    if (!r.image.empty() && r.model == layout::root_model::shared) {
      auto ro = *client;
      ro.opts = nfs::export_options::netboot_ro();
      bool dup = std::any_of(shared_clients.begin(), shared_clients.end(),
                             [&](auto const& x) { return x.host == ro.host; });
      if (!dup) shared_clients.push_back(std::move(ro));
    }
  }
  // Every shared root is read-only below the image store: one export for the fleet's boards,
  // so an upgrade needs no export reload.
  if (!shared_clients.empty()) out.entries.push_back({o.cfg.image_root.string(), std::move(shared_clients)});
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
  auto old = core::read_file_or_empty(exports_path(o), &existed);
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

// --- image boards ----------------------------------------------------------------------------

std::string board_hostname(layout::client_record const& r) {
  if (!r.id.hostname.empty()) return r.id.hostname;
  if (!layout::check_hostname(r.folder)) return r.folder;
  return "pi-" + r.folder.substr(0, 50);
}

std::string random_machine_id() {
  unsigned char b[16]{};
  std::ifstream in{"/dev/urandom", std::ios::binary};
  in.read(reinterpret_cast<char*>(b), sizeof b);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (auto c : b) {
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  return out + "\n";
}

bool valid_machine_id(std::string const& s) {
  return s.size() == 33 && s.back() == '\n' && s.find_first_not_of("0123456789abcdef") == 32;
}

// Writes one generated file of a board's tree (never through a symlink the image put there).
std::error_code write_board_file(fs::path const& tree, fs::path const& rel, std::string const& content,
                                 unsigned mode = 0644) {
  if (auto ec = check_inside(tree, rel)) return ec;
  std::error_code ec;
  fs::create_directories(tree / rel.parent_path(), ec);
  if (ec) return ec;
  return pinetboot::core::replace_file(tree / rel, content, mode, pinetboot::core::file_owner{0, 0});
}

// The board's identity in `tree` (its root, or its state tree): host name and hosts always
// from the registry; machine-id and ssh host keys made once and then kept.
std::error_code write_identity(options const& o, layout::client_record const& r, fs::path const& tree,
                               bool wants_ssh) {
  auto host = board_hostname(r);
  if (auto ec = write_board_file(tree, "etc/hostname", host + "\n")) return ec;
  std::string hosts = "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\n"
                      "ff02::2\t\tip6-allrouters\n\n127.0.1.1\t" + host + "\n";
  if (auto ec = write_board_file(tree, "etc/hosts", hosts)) return ec;
  if (!valid_machine_id(core::read_file_or_empty(tree / "etc/machine-id")))
    if (auto ec = write_board_file(tree, "etc/machine-id", random_machine_id(), 0444)) return ec;
  if (!wants_ssh) return {};
  static bool warned = false;
  for (char const* type : {"ed25519", "ecdsa", "rsa"}) {
    auto key = tree / "etc/ssh" / (std::string{"ssh_host_"} + type + "_key");
    std::error_code ec;
    if (fs::is_regular_file(key, ec) && fs::file_size(key, ec) > 0) continue;
    if (auto e = check_inside(tree, "etc/ssh")) return e;
    fs::create_directories(key.parent_path(), ec);
    fs::remove(key, ec);
    auto pub = key;
    pub += ".pub";
    fs::remove(pub, ec);
    auto rc = layout::run_tool({"ssh-keygen", "-q", "-N", "", "-t", type, "-f", key.string(), "-C",
                                "root@" + host});
    if (rc == std::errc::no_such_file_or_directory) {
      if (!warned && !o.dry_run)
        std::cerr << "note: ssh-keygen not found (openssh-client): boards get no ssh host keys from "
                     "pinetboot-provision; sshd makes them at first boot (copy boards only)\n";
      warned = true;
      return {};
    }
    if (rc) return rc;
  }
  return {};
}

fs::path exported_state(layout::layout_config const& cfg, std::string const& folder) {
  return cfg.exported_root(folder) / "state";
}

std::string join(std::vector<std::string> const& v, char sep = ',') {
  std::string out;
  for (auto const& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The cmdline.txt of board `r` running `m`, from its generation's own.
pinetboot::result<std::string> board_cmdline(options const& o, layout::client_record const& r,
                                             layout::board_marker const& m) {
  if (!r.server) return layout::errc::missing_identity;
  auto settings = layout::read_image_settings(o.cfg, m.image);
  if (!settings) return settings.error();
  nfs::cmdline_options c;
  c.server = *r.server;
  if (m.model == layout::root_model::copy) {
    c.root_path = (o.cfg.exported_root(r.folder) / m.tree).string();
  } else {
    c.root_path = layout::exported_generation_root(o.cfg, m.image, m.generation).string();
    c.read_only = true;
    c.init = "/" + std::string{layout::board_init_path};
    c.extra = {"pinetboot.state=" + r.server->to_string() + ":" + exported_state(o.cfg, r.folder).string(),
               "pinetboot.persist=" + join(settings->persist),
               "pinetboot.volatile=" + join(settings->volatile_paths)};
  }
  auto gen_boot = layout::generation_path(o.cfg, m.image, m.generation) / "boot";
  if (auto ec = check_inside(gen_boot, "cmdline.txt")) return ec;
  return nfs::make_netboot_cmdline(core::read_file_or_empty(gen_boot / "cmdline.txt"), c);
}

std::error_code customize_board(options const& o, layout::client_record const& r, layout::board_marker const& m,
                                fs::path const& boot, fs::path const& tree) {
  if (!r.server) return layout::errc::missing_identity;
  auto gen_root = layout::generation_path(o.cfg, r.image, r.generation) / "root";
  auto cmd = board_cmdline(o, r, m);
  if (!cmd) return cmd.error();
  if (auto ec = check_inside(boot, "cmdline.txt")) return ec;
  if (auto ec = write_generated(boot / "cmdline.txt", *cmd)) return ec;
  std::error_code ec;
  bool ssh = fs::is_directory(fs::symlink_status(gen_root / "etc/ssh", ec));
  if (auto e = write_identity(o, r, tree, ssh)) return e;
  if (m.model == layout::root_model::copy) {
    nfs::netboot_fstab_options f;
    f.server = r.server->to_string();
    f.boot_export = o.cfg.exported_boot(r.folder).string();
    if (auto e = check_inside(tree, "etc/fstab")) return e;
    auto tab = nfs::make_netboot_fstab(core::read_file_or_empty(tree / "etc/fstab"), f);
    if (!tab) return tab.error();
    if (auto e = write_board_file(tree, "etc/fstab", *tab)) return e;
  }
  return {};
}

// What verify reports of an image board: its trees against the generation's manifest, and
// its generated cmdline.txt against a fresh one.
pinetboot::result<std::vector<std::string>> image_board_drift(options const& o, layout::client_record const& r) {
  auto d = layout::verify_board(o.cfg, r);
  if (!d) return d.error();
  auto live = layout::read_board_marker(o.cfg, r.folder);
  if (live && *live) {
    auto want = board_cmdline(o, r, **live);
    if (!want)
      d->push_back("cannot regenerate cmdline.txt: " + want.error().message());
    else if (core::read_file_or_empty(o.cfg.boot_dir(r.folder) / "cmdline.txt") != *want)
      d->push_back("cmdline.txt differs from the generated one");
  }
  return d;
}

// A shared root's fstab names no SD card and no per-board boot folder.
std::error_code prepare_generation_fstab(fs::path const& root) {
  if (auto ec = check_inside(root, "etc/fstab")) return ec;
  bool exists = false;
  auto text = core::read_file_or_empty(root / "etc/fstab", &exists);
  if (!exists) return {};
  nfs::netboot_fstab_options f;
  f.server = "localhost";  // no NFS line is written without a boot export
  auto tab = nfs::make_netboot_fstab(text, f);
  if (!tab) return tab.error();
  return pinetboot::core::replace_file(root / "etc/fstab", *tab, 0644, pinetboot::core::file_owner{0, 0});
}

// Replaces (or appends) one record in the registry file.
std::error_code store_record(options const& o, layout::client_record const& r) {
  auto reg = layout::read_registry(o.cfg.registry_file());
  if (!reg) return reg.error();
  bool found = false;
  for (auto& x : *reg)
    if (x.folder == r.folder) {
      x = r;
      found = true;
    }
  if (!found) reg->push_back(r);
  return layout::write_file_atomic(o.cfg.registry_file(), layout::format_registry(*reg));
}

layout::board_hooks hooks_for(options const& o, layout::client_record const& r) {
  layout::board_hooks h;
  h.customize = [&o](layout::client_record const& rec, layout::board_marker const& m, fs::path const& boot,
                     fs::path const& tree) { return customize_board(o, rec, m, boot, tree); };
  h.switched = [&o, r] { return store_record(o, r); };
  h.note = [](std::string const& s) { std::cout << "note: " << s << "\n"; };
  // Tests only: die (as by SIGKILL) when the named point is reached, to prove crash safety.
  if (char const* k = std::getenv("PINETBOOT_PROVISION_KILL_AT")) {
    std::string point = k;
    h.at = [point](std::string_view p) {
      if (p == point) ::kill(::getpid(), SIGKILL);
    };
  }
  return h;
}

// Before any command that changes trees: roll interrupted publishes forward, remove stale
// staging data and a first add that never reached the registry (the plan's housekeeping
// steps only; boards are rebuilt by repair).
int housekeeping(options const& o) {
  auto snap = load(o);
  if (!snap) return fail("cannot read the current layout", snap.error());
  auto steps = layout::plan(snap->registered, *snap, {o.scheme, {}});
  if (!steps) return fail("cannot plan", steps.error());
  std::vector<layout::step> keep;
  for (auto const& s : *steps)
    if (s.kind == layout::step_kind::finish_publish || s.kind == layout::step_kind::remove_stale ||
        (s.kind == layout::step_kind::remove && s.client.folder.empty()))
      keep.push_back(s);
  if (o.dry_run) return exit_ok;
  if (auto images = layout::list_images(o.cfg))
    for (auto const& name : *images) {
      auto n = layout::remove_stale_drafts(o.cfg, name);
      if (!n) return fail("cannot clean " + layout::image_path(o.cfg, name).string(), n.error());
      if (*n > 0 && o.verbose) std::cout << "removed " << *n << " unfinished generation(s) of " << name << "\n";
    }
  if (keep.empty()) return exit_ok;
  layout::apply_options ao;
  ao.on_step = [&](layout::step const& s) {
    if (o.verbose) std::cout << layout::describe(s, o.cfg) << "\n";
  };
  if (auto ec = layout::apply(keep, o.cfg, ao)) return fail("cannot clean up an interrupted run", ec);
  return exit_ok;
}

std::string generation_label(layout::client_record const& r) {
  return r.image + "@" + std::to_string(r.generation);
}

int run_switch(options const& o, layout::client_record const& r, std::string const& what) {
  if (o.dry_run) {
    std::cout << "would " << what << "\n";
    return exit_ok;
  }
  std::cout << what << std::endl;
  if (auto ec = layout::switch_board(o.cfg, r, hooks_for(o, r))) {
    std::string hint = "the board still boots what it did before; run `pinetboot-provision repair`";
    if (ec == layout::errc::client_exists)
      hint = "its trees were not made from an image (a --from-tree board); remove and re-add it with --image";
    return fail(r.folder + ": " + what, ec, hint);
  }
  return exit_ok;
}

// add --image NAME: the board is built from (or moved to) the image's latest generation.
int add_image_board(options const& o, layout::snapshot const& snap, layout::client_record want) {
  auto latest = layout::latest_generation(o.cfg, o.image);
  if (!latest)
    return fail("image " + o.image, latest.error(),
                "import it first: pinetboot-provision image import " + o.image + " --from-tree BOOT ROOT");
  for (auto const& r : snap.registered) {
    if (r.folder == want.folder) continue;
    bool same_ip = want.id.ip && r.id.ip == want.id.ip;
    bool same_host = !want.id.hostname.empty() && r.id.hostname == want.id.hostname;
    if (same_ip || same_host) {
      std::cerr << "pinetboot-provision: " << (same_ip ? "IP address " + want.id.ip->to_string()
                                                       : "host name " + want.id.hostname)
                << " is already board " << r.folder << "'s\n  give this board its own (two boards with one "
                << (same_ip ? "address" : "name") << " would take each other's exports and identity)\n";
      return exit_conflict;
    }
  }
  layout::client_record const* reg = nullptr;
  for (auto const& r : snap.registered)
    if (r.folder == want.folder) reg = &r;
  if (reg != nullptr && reg->image.empty()) {
    std::cerr << "pinetboot-provision: " << want.folder << " was built from a golden tree, not an image\n"
              << "  remove it first (pinetboot-provision remove --folder " << want.folder
              << ") to re-add it with --image\n";
    return exit_conflict;
  }
  auto const on_disk = snap.folders.find(want.folder);
  if (reg == nullptr && on_disk != snap.folders.end()) {
    std::cerr << "pinetboot-provision: " << o.cfg.boot_dir(want.folder).string() << " or "
              << o.cfg.root_dir(want.folder).string() << " exists but is not a registered board\n"
              << "  check what it is and move it away; --force does not take over folders for --image\n";
    return exit_conflict;
  }
  want.image = o.image;
  want.model = o.model.value_or(reg != nullptr ? reg->model : layout::root_model::copy);
  if (reg != nullptr && reg->image == o.image) {
    want.generation = reg->generation;  // add changes identity or model; upgrade changes generations
    want.previous = reg->previous;
  } else {
    want.generation = *latest;
    want.previous = reg != nullptr && reg->image == o.image ? reg->generation : 0;
  }
  if (reg != nullptr && *reg == want && !o.force) {
    std::cout << "unchanged: " << want.folder << " (" << generation_label(want) << ", "
              << layout::to_string(want.model) << ")\n";
    return exit_ok;
  }
  std::string what = (reg == nullptr ? "add " : "rebuild ") + want.folder + " from " + generation_label(want) +
                     " (" + std::string{layout::to_string(want.model)} + " root)";
  if (int rc = run_switch(o, want, what); rc != exit_ok) return rc;
  if (o.dry_run) return exit_ok;
  std::cout << "ready: " << want.folder << "  boot " << o.cfg.boot_dir(want.folder).string() << "  "
            << (want.model == layout::root_model::shared ? "state " : "root ")
            << layout::board_dir(o.cfg, want.folder).string() << "\n";
  return finish_with_exports(o, o.reload);
}

int cmd_image(options const& o);

// `add --image NAME --from-tree|--from-image`: the source becomes NAME's next generation,
// unless NAME's latest generation was made from it (nothing is extracted twice).
int import_unless_current(options const& o) {
  std::string source = o.from_image ? "import image " + fs::absolute(*o.from_image).string()
                                    : "import tree " + fs::absolute(*o.from_boot).string() + " " +
                                          fs::absolute(*o.from_root).string();
  if (auto latest = layout::latest_generation(o.cfg, o.image)) {
    auto info = layout::read_generation_info(o.cfg, o.image, *latest);
    bool same = info && info->source == source;
    if (same && o.from_image) {
      // The same file, not written since the generation was made.
      struct stat st {};
      char when[32] = "";
      if (::stat(o.from_image->c_str(), &st) == 0) {
        std::tm tm{};
        ::gmtime_r(&st.st_mtime, &tm);
        std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
      }
      same = std::string_view{when} < info->created;
    } else if (same) {
      // The same trees, with the same content (pinetboot's own files in the generation aside).
      auto manifest = layout::read_generation_manifest(o.cfg, o.image, *latest);
      auto boot = layout::scan_manifest(*o.from_boot, "boot");
      auto root = layout::scan_manifest(*o.from_root, "root");
      same = manifest && boot && root;
      if (same) {
        boot->insert(boot->end(), root->begin(), root->end());
        auto changes = layout::compare_manifests(*manifest, *boot, [](std::string_view p) {
          return p == "root/etc/fstab" || p == "root/etc/machine-id" || p == "root/etc/hostname" ||
                 p == "root/etc/hosts" || p == "root/usr/lib/pinetboot" || p.starts_with("root/etc/ssh/ssh_host_") ||
                 p == "root/proc" || p == "root/sys" || p == "root/dev" || p == "root/run" || p == "root/tmp";
        });
        same = changes.empty();
      }
    }
    if (same) {
      std::cout << o.image << "@" << *latest << " was made from " << source.substr(7) << ": nothing to import\n";
      return exit_ok;
    }
  }
  options io = o;
  io.command = "image";
  io.positional = {"import", o.image};
  return cmd_image(io);
}

// Which registered image boards a command names (--all, --boards, --canary).
std::vector<layout::client_record> select_boards(options const& o, std::vector<layout::client_record> const& reg,
                                                 std::string& error) {
  std::vector<layout::client_record> out;
  if (!o.boards.empty()) {
    for (auto const& name : o.boards) {
      auto it = std::find_if(reg.begin(), reg.end(),
                             [&](auto const& r) { return r.folder == name || r.id.hostname == name; });
      if (it == reg.end()) {
        error = "no registered board '" + name + "' (see `pinetboot-provision list`)";
        return {};
      }
      if (it->image.empty()) {
        error = "board " + name + " was built from a golden tree, not an image: it has no generations";
        return {};
      }
      out.push_back(*it);
    }
    return out;
  }
  for (auto const& r : reg)
    if (!r.image.empty() && (o.image.empty() || o.command == "rollback" || r.image == o.image || o.all))
      out.push_back(r);
  return out;
}

int cmd_upgrade(options const& o) {
  bool const rollback = o.command == "rollback";
  if (int rc = housekeeping(o); rc != exit_ok) return rc;
  auto reg = layout::read_registry(o.cfg.registry_file());
  if (!reg) return fail("cannot read the registry", reg.error());
  std::string error;
  auto boards = select_boards(o, *reg, error);
  if (!error.empty()) {
    std::cerr << "pinetboot-provision: " << error << "\n";
    return exit_not_found;
  }
  // Each board's target.
  std::vector<std::pair<layout::client_record, layout::client_record>> moves;  // from, to
  for (auto const& r : boards) {
    auto to = r;
    if (rollback) {
      if (r.previous == 0) {
        std::cout << "skip " << r.folder << ": no previous generation to roll back to (on "
                  << generation_label(r) << ")\n";
        continue;
      }
      to.generation = r.previous;
      to.previous = r.generation;
    } else {
      if (!o.image.empty()) to.image = o.image;
      unsigned target = 0;
      if (o.to_gen) {
        target = *o.to_gen;
        if (!fs::is_directory(layout::generation_path(o.cfg, to.image, target)))
          return fail("image " + to.image + " generation " + std::to_string(target),
                      layout::errc::no_such_generation, "see `pinetboot-provision image show " + to.image + "`");
      } else {
        auto latest = layout::latest_generation(o.cfg, to.image);
        if (!latest) return fail("image " + to.image, latest.error());
        target = *latest;
      }
      to.generation = target;
      if (to.image == r.image && to.generation == r.generation) {
        if (!o.canary) std::cout << "unchanged: " << r.folder << " is on " << generation_label(r) << "\n";
        continue;
      }
      to.previous = to.image == r.image ? r.generation : 0;
    }
    moves.emplace_back(r, to);
    if (o.canary && moves.size() >= *o.canary) break;
  }
  std::size_t i = 0;
  int rc = exit_ok;
  for (auto const& [from, to] : moves) {
    ++i;
    std::string what = "[" + std::to_string(i) + "/" + std::to_string(moves.size()) + "] " +
                       (rollback ? "roll back " : "upgrade ") + to.folder + ": " + generation_label(from) + " -> " +
                       generation_label(to) + " (" + std::string{layout::to_string(to.model)} + ")";
    if (int r = run_switch(o, to, what); r != exit_ok) rc = r;  // the other boards still move
  }
  if (moves.empty()) std::cout << "nothing to do\n";
  if (o.dry_run || moves.empty()) return rc;
  if (int r = finish_with_exports(o, o.reload); r != exit_ok) return r;
  std::cout << "reboot the boards to run their new generation\n";
  return rc;
}

int cmd_image(options const& o) {
  auto const& sub = o.positional[0];
  auto reg = layout::read_registry(o.cfg.registry_file());
  if (!reg) return fail("cannot read the registry", reg.error());
  auto boards_on = [&](std::string const& image, unsigned g, bool previous) {
    std::vector<std::string> out;
    for (auto const& r : *reg)
      if (r.image == image && (previous ? r.previous == g : r.generation == g)) out.push_back(r.folder);
    return out;
  };
  if (sub == "list" || sub == "show") {
    std::vector<std::string> images;
    if (sub == "show") {
      images.push_back(o.positional[1]);
    } else {
      auto all = layout::list_images(o.cfg);
      if (!all) return fail("cannot list " + o.cfg.image_dir().string(), all.error());
      images = *all;
      if (images.empty()) std::cout << "no images in " << o.cfg.image_dir().string() << "\n";
    }
    for (auto const& name : images) {
      auto bytes = layout::generation_bytes(o.cfg, name);
      if (!bytes) return fail("image " + name, bytes.error(), "see `pinetboot-provision image list`");
      std::uint64_t total = 0;
      for (auto const& [g, b] : *bytes) total += b;
      std::cout << name << ": " << bytes->size() << " generation" << (bytes->size() == 1 ? "" : "s") << ", "
                << human(total) << " on disk\n";
      for (auto const& [g, b] : *bytes) {
        auto info = layout::read_generation_info(o.cfg, name, g);
        auto on = boards_on(name, g, false), prev = boards_on(name, g, true);
        std::printf("  %-4u %s  +%-10s %3zu board%s", g, info ? info->created.c_str() : "?", human(b).c_str(),
                    on.size(), on.size() == 1 ? " " : "s");
        if (!prev.empty()) std::printf(" (rollback target of %zu)", prev.size());
        std::printf("\n");
        if (sub == "show" && info) {
          std::printf("       source: %s\n", info->source.c_str());
          if (info->parent != 0)
            std::printf("       from generation %u, unchanged files shared by %s\n", info->parent,
                        info->sharing.c_str());
          if (!on.empty()) std::printf("       boards: %s\n", join(on, ' ').c_str());
        }
      }
      std::fflush(stdout);
    }
    return exit_ok;
  }
  auto const& name = o.positional[1];
  if (sub == "gc") {
    auto gens = layout::list_generations(o.cfg, name);
    if (!gens) return fail("image " + name, gens.error());
    std::size_t keep_from = gens->size() > *o.keep ? gens->size() - *o.keep : 0;
    int removed = 0;
    for (std::size_t i = 0; i < keep_from; ++i) {
      unsigned g = (*gens)[i];
      auto on = boards_on(name, g, false), prev = boards_on(name, g, true);
      if (!on.empty() || !prev.empty()) {
        std::cout << "keep " << name << "@" << g << ": "
                  << (on.empty() ? "rollback target of " + join(prev, ' ') : "in use by " + join(on, ' ')) << "\n";
        continue;
      }
      if (o.dry_run) {
        std::cout << "would remove " << name << "@" << g << "\n";
        continue;
      }
      if (auto ec = layout::remove_generation(o.cfg, name, g)) return fail("cannot remove " + name + "@" + std::to_string(g), ec);
      std::cout << "removed " << name << "@" << g << "\n";
      ++removed;
    }
    if (removed == 0 && !o.dry_run) std::cout << "nothing to remove\n";
    return exit_ok;
  }
  // import and exec make a new generation.
  auto draft = layout::begin_generation(o.cfg, name);
  if (!draft) return fail("cannot start a generation of " + name, draft.error());
  auto abort = [&](std::string const& what, std::error_code ec, std::string const& hint = {}) {
    (void)layout::abort_generation(*draft);
    return fail(what, ec, hint.empty() ? "no new generation was made" : hint);
  };
  layout::generation_info info;
  bool reflinked = false;
  if (sub == "import") {
    if (o.from_image) {
      std::cout << "extracting " << o.from_image->string() << " into " << name << "@" << draft->number << std::endl;
      auto log = [&](std::string_view line) { std::cout << "  " << line << std::endl; };
      if (auto e = layout::extract_image(*o.from_image, draft->dir / "boot", draft->dir / "root",
                                         draft->dir / "scratch", log))
        return abort("cannot extract " + o.from_image->string(), e,
                     "is it a Raspberry Pi OS image (FAT partition 1, ext4 partition 2)? Needs mtools, "
                     "e2fsprogs and xz-utils. No new generation was made.");
      std::error_code ec;
      fs::remove_all(draft->dir / "scratch", ec);
      info.source = "import image " + fs::absolute(*o.from_image).string();
    } else if (o.from_boot) {
      std::cout << "copying " << o.from_boot->string() << " and " << o.from_root->string() << " into " << name
                << "@" << draft->number << std::endl;
      layout::copy_options co;
      auto b = layout::copy_tree(*o.from_boot, draft->dir / "boot", co);
      if (!b) return abort("cannot copy " + o.from_boot->string(), b.error());
      auto r = layout::copy_tree(*o.from_root, draft->dir / "root", co);
      if (!r) return abort("cannot copy " + o.from_root->string(), r.error());
      info.source = "import tree " + fs::absolute(*o.from_boot).string() + " " + fs::absolute(*o.from_root).string();
    } else {
      (void)layout::abort_generation(*draft);
      std::cerr << "pinetboot-provision: image import needs --from-image X.img[.xz] or --from-tree BOOT ROOT\n";
      return exit_usage;
    }
    auto settings = layout::read_image_settings(o.cfg, name);
    if (!settings) return abort("image " + name, settings.error());
    if (o.persist) settings->persist = *o.persist;
    if (o.volatile_paths) settings->volatile_paths = *o.volatile_paths;
    if (auto ec = layout::write_image_settings(o.cfg, name, *settings)) return abort("cannot write image.conf", ec);
  } else {  // exec
    auto latest = layout::latest_generation(o.cfg, name);
    if (!latest) return abort("image " + name, latest.error(), "import it first: image import " + name + " ...");
    auto arch = layout::root_arch(layout::generation_path(o.cfg, name, *latest) / "root");
    if (arch) {
      auto emu = layout::find_emulation(*arch);
      if (!emu.available)
        return abort("image " + name + " is for " + std::string{layout::to_string(*arch)} + ", this server is " +
                         std::string{layout::to_string(layout::host_arch())},
                     layout::errc::foreign_arch, emu.advice + "; no new generation was made");
      if (!emu.native) std::cout << "running " << layout::to_string(*arch) << " code through " << emu.handler << "\n";
    }
    std::cout << "copying " << name << "@" << *latest << " to " << name << "@" << draft->number << std::endl;
    auto r = layout::copy_parent_generation(o.cfg, *draft, *latest);
    if (!r) return abort("cannot copy generation " + std::to_string(*latest), r.error());
    reflinked = *r;
    std::string cmdline;
    for (auto const& a : o.exec_argv) cmdline += (cmdline.empty() ? "" : " ") + a;
    std::cout << "running in " << name << "@" << draft->number << ": " << cmdline << std::endl;
    layout::chroot_options co;
    co.boot = draft->dir / "boot";
    auto status = layout::run_in_root(draft->dir / "root", o.exec_argv, co);
    if (!status) return abort("cannot run " + o.exec_argv[0] + " in the image", status.error());
    if (*status != 0)
      return abort(cmdline + " exited with status " + std::to_string(*status), layout::errc::command_failed);
    info.source = "exec " + cmdline;
  }
  if (char const* k = std::getenv("PINETBOOT_PROVISION_KILL_AT"); k != nullptr && std::string_view{k} == "imported")
    ::kill(::getpid(), SIGKILL);  // tests only: a kill between the copy and the commit
  if (auto ec = prepare_generation_fstab(draft->dir / "root")) return abort("cannot rewrite etc/fstab", ec);
  std::cout << "hashing " << name << "@" << draft->number << std::endl;
  auto st = layout::commit_generation(o.cfg, *draft, info, reflinked);
  if (!st) return abort("cannot finish generation " + std::to_string(draft->number), st.error());
  std::cout << "generation " << name << "@" << draft->number << ": " << st->files << " files, "
            << human(st->bytes);
  if (draft->parent != 0) {
    if (st->sharing == "reflink")
      std::cout << "; unchanged data shared with @" << draft->parent << " by reflinks";
    else
      std::cout << "; " << st->shared_files << " unchanged files (" << human(st->shared_bytes)
                << ") shared with @" << draft->parent << " by hard links (no reflinks on this file system)";
  }
  std::cout << "\n";
  return exit_ok;
}

// What is left for the operator after `add`: the NFS server, the board's bootloader and the
// pinetboot server each need to learn about the board once.
void print_next_steps(options const& o, layout::client_record const& r, bool registry_changed) {
  std::cout << "next steps for " << r.folder << (r.id.hostname.empty() ? "" : " (" + r.id.hostname + ")") << ":\n";
  if (!r.id.ip && !o.export_subnet)
    std::cout << "  - it has no --ip, so nothing is exported to it: add it again with --ip A "
                 "(or pass --export-subnet A/N)\n";
  else if (o.reload)
    std::cout << "  - NFS: the kernel server's exports were reloaded (exportfs -ra); with NFS-Ganesha: "
                 "pinetboot-provision exports --format ganesha --apply, then SIGHUP ganesha.nfsd\n";
  else
    std::cout << "  - NFS: exportfs -ra (kernel server; " << o.exports_file.string()
              << " was updated), or with NFS-Ganesha: pinetboot-provision exports --format ganesha --apply, "
                 "then SIGHUP ganesha.nfsd\n";
  switch (o.scheme) {
    case core::folder_naming::serial:
      std::cout << "  - the board: network boot in its EEPROM with TFTP_PREFIX=0 (its serial, the default):\n"
                   "      pinetboot-provision eeprom-config --scheme serial   (then rpi-eeprom-config --apply FILE)\n";
      break;
    case core::folder_naming::mac_dash:
      std::cout << "  - the board: network boot in its EEPROM with TFTP_PREFIX=2 (its MAC with dashes):\n"
                   "      pinetboot-provision eeprom-config --scheme mac-dash   (then rpi-eeprom-config --apply FILE)\n";
      break;
    case core::folder_naming::mac_colon:
    case core::folder_naming::hostname:
    case core::folder_naming::ip:
      std::cout << "  - the board cannot find a " << core::to_string(o.scheme)
                << " folder by itself: serve it per client (pinetboot.toml [tftp] per_client)\n";
      break;
  }
  if (registry_changed)
    std::cout << "  - pinetboot-server: systemctl reload pinetboot-server (it reads the registry "
              << o.cfg.registry.string() << " for host names and reservations at start and on reload)\n";
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
    std::string why;
    switch (o.scheme) {
      case core::folder_naming::serial:
        why = "the board's folder is named after its serial number, because that is where the Pi bootloader "
              "looks by default (TFTP_PREFIX=0 asks for <serial>/start4.elf); give --serial (8 hex digits: "
              "the bootloader prints it on HDMI and UART, or `grep Serial /proc/cpuinfo` on the board), or "
              "name folders by MAC with --scheme mac-dash (then set TFTP_PREFIX=2 in the board's EEPROM)";
        break;
      case core::folder_naming::mac_dash:
      case core::folder_naming::mac_colon:
        why = "folders are named after the board's MAC: give --mac";
        break;
      case core::folder_naming::hostname:
        why = "folders are named after the host name: give --hostname";
        break;
      case core::folder_naming::ip:  // parse_scheme() refuses it
        why = "folders are not named by IP address";
        break;
    }
    if (!o.scheme_from.empty()) why += " (the scheme comes from " + o.scheme_from + "; --scheme overrides it)";
    return fail("cannot name the board's folder with scheme " + std::string{core::to_string(o.scheme)},
                folder.error(), why);
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
      merged.image = r.image;
      merged.generation = r.generation;
      merged.previous = r.previous;
      merged.model = r.model;
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
  if (!o.image.empty() || !want.image.empty()) {
    if (int rc = housekeeping(o); rc != exit_ok) return rc;
    if ((o.from_boot || o.from_image) && !o.dry_run) {
      if (o.image.empty()) {
        std::cerr << "pinetboot-provision: " << want.folder << " runs image " << want.image
                  << "; add --image " << want.image << " to import the tree as its next generation\n";
        return exit_usage;
      }
      if (int rc = import_unless_current(o); rc != exit_ok) return rc;
    }
    auto fresh = load(o);
    if (!fresh) return fail("cannot read the current layout", fresh.error());
    options io = o;
    if (io.image.empty()) io.image = want.image;
    auto before = core::read_file_or_empty(o.cfg.registry_file());
    int rc = add_image_board(io, *fresh, want);
    if (rc == exit_ok && !o.dry_run)
      print_next_steps(o, want, before != core::read_file_or_empty(o.cfg.registry_file()));
    return rc;
  }
  if (o.model) {
    std::cerr << "pinetboot-provision: --root-model needs --image (a board from a golden tree is always a copy)\n";
    return exit_usage;
  }
  std::set<std::string> forced;
  if (o.force) forced.insert(want.folder);  // only the board this command names
  auto steps = layout::plan(desired, *snap, {o.scheme, forced});
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
  if (!steps->empty()) print_next_steps(o, want, true);
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
  auto steps = layout::plan(desired, *snap, {o.scheme, {}});
  if (!steps) return fail("cannot plan", steps.error());
  if (int rc = run_plan(o, *steps); rc != exit_ok) return rc;
  if (o.dry_run) return exit_ok;
  std::cout << "removed " << matched << " client" << (matched == 1 ? "" : "s") << "\n";
  return finish_with_exports(o, o.reload);
}

int cmd_repair(options const& o) {
  if (int rc = housekeeping(o); rc != exit_ok) return rc;
  auto snap = load(o);
  if (!snap) return fail("cannot read the current layout", snap.error());
  std::set<std::string> image_boards;
  for (auto const& r : snap->registered)
    if (!r.image.empty()) image_boards.insert(r.folder);
  auto steps = layout::plan(snap->registered, *snap, {o.scheme, {}});
  if (!steps) return fail("cannot plan", steps.error());
  // Image boards are rebuilt from their generation below, not from a golden tree.
  std::erase_if(*steps, [&](layout::step const& s) {
    return (s.kind == layout::step_kind::stage || s.kind == layout::step_kind::publish) &&
           image_boards.contains(s.folder);
  });
  if (int rc = run_plan(o, *steps); rc != exit_ok) return rc;
  std::size_t fixed = steps->size();
  int rc = exit_ok;
  for (auto r : snap->registered) {
    if (r.image.empty()) continue;
    auto live = layout::read_board_marker(o.cfg, r.folder);
    if (live && *live) {
      auto const& m = **live;
      if (m.image != r.image || m.generation != r.generation || m.model != r.model) {
        // Killed after the boot trees were swapped: the board already boots the new
        // generation, so the registry follows it (the move is finished, not undone).
        auto was = r;
        r.previous = m.image == was.image ? was.generation : 0;
        if (m.image == was.image && m.generation == was.previous) r.previous = was.generation;
        r.image = m.image;
        r.generation = m.generation;
        r.model = m.model;
        std::cout << (o.dry_run ? "would record " : "recorded ") << r.folder << " on " << generation_label(r)
                  << " (an interrupted move had switched it; the registry said " << generation_label(was) << ")\n";
        ++fixed;
        if (!o.dry_run)
          if (auto ec = store_record(o, r)) return fail("cannot write the registry", ec);
      }
      if (!o.dry_run)
        if (auto ec = layout::clean_board(o.cfg, r.folder, m)) return fail(r.folder + ": cannot clean up", ec);
    }
    auto drift = image_board_drift(o, r);
    if (!drift) return fail(r.folder + ": cannot verify", drift.error());
    if (drift->empty()) continue;
    for (auto const& d : *drift) std::cout << r.folder << ": " << d << "\n";
    ++fixed;
    if (int e = run_switch(o, r, "rebuild " + r.folder + " from " + generation_label(r)); e != exit_ok) rc = e;
  }
  if (rc != exit_ok) return rc;
  if (!o.dry_run) std::cout << (fixed == 0 ? "nothing to repair\n" : "repaired\n");
  if (o.dry_run || fixed == 0) return exit_ok;
  return finish_with_exports(o, o.reload);
}

// A quick look (no hashing): the boot marker agrees with the registry and every boot file
// of the generation is there with its size.
std::string image_state(options const& o, layout::client_record const& r) {
  auto live = layout::read_board_marker(o.cfg, r.folder);
  if (!live || !*live) return "broken";
  auto const& m = **live;
  if (m.image != r.image || m.generation != r.generation || m.model != r.model) return "staging";
  if (!fs::is_directory(layout::board_dir(o.cfg, r.folder) / m.tree)) return "broken";
  auto manifest = layout::read_generation_manifest(o.cfg, m.image, m.generation);
  if (!manifest) return "broken";
  for (auto const& e : *manifest) {
    if (e.type != 'f' || !e.path.starts_with("boot/")) continue;
    auto rel = e.path.substr(5);
    if (rel == "cmdline.txt" || rel == "config.txt") continue;
    std::error_code ec;
    auto size = fs::file_size(o.cfg.boot_dir(r.folder) / rel, ec);
    if (ec || size != e.size) return "broken";
  }
  return "ok";
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
  std::printf("%-20s %-17s %-8s %-16s %-15s %-20s %-6s %s\n", "FOLDER", "MAC", "SERIAL", "HOSTNAME", "IP",
              "IMAGE@GEN (PREV)", "MODEL", "STATE");
  for (auto const& r : snap->registered) {
    std::string gen = "-", model = "copy";
    auto state = state_of(*snap, r);
    if (!r.image.empty()) {
      gen = generation_label(r) + (r.previous != 0 ? " (" + std::to_string(r.previous) + ")" : "");
      model = std::string{layout::to_string(r.model)};
      if (state == "ok") state = image_state(o, r);
    }
    std::printf("%-20s %-17s %-8s %-16s %-15s %-20s %-6s %s\n", r.folder.c_str(),
                r.id.mac ? r.id.mac->to_string().c_str() : "-",
                r.id.serial ? r.id.serial->to_string().c_str() : "-",
                r.id.hostname.empty() ? "-" : r.id.hostname.c_str(),
                r.id.ip ? r.id.ip->to_string().c_str() : "-", gen.c_str(), model.c_str(), state.c_str());
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
    if (!r.image.empty()) {
      auto d = image_board_drift(o, r);
      if (!d) {
        drift.push_back(r.folder + ": cannot verify against " + generation_label(r) + ": " + d.error().message());
        continue;
      }
      for (auto const& x : *d) drift.push_back(r.folder + ": " + x);
      continue;
    }
    if (!r.server) {
      drift.push_back(r.folder + ": no server address registered (re-run add with --server-ip)");
      continue;
    }
    auto want = expected_files(o.cfg, r, boot, root);
    if (!want) {
      drift.push_back(r.folder + ": cannot regenerate files: " + want.error().message());
      continue;
    }
    if (core::read_file_or_empty(boot / "cmdline.txt") != want->cmdline)
      drift.push_back(r.folder + ": cmdline.txt differs from the generated one");
    if (core::read_file_or_empty(root / "etc/fstab") != want->fstab)
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
  auto old = core::read_file_or_empty(file, &existed);  // its Export_Ids are kept: a board's id never moves
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
  e.tftp_prefix = nfs::tftp_prefix_for(o.scheme);
  if (!e.tftp_prefix)
    std::cerr << "note: with --scheme " << core::to_string(o.scheme)
              << " the bootloader cannot find its folder by itself (it knows only TFTP_PREFIX serial or MAC "
                 "with dashes);\n  the TFTP server must map the client to its folder\n";
  auto text = nfs::format_eeprom_config(e);
  if (!text) return fail("cannot build the EEPROM configuration", text.error());
  std::cout << *text;
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  // Progress lines reach a pipe (a log, `| tee`) as they happen.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  options o;
  try {
    o = parse_args(argc, argv);
    if (o.command != "early") apply_site_config(o);
  } catch (usage_error const& e) {
    std::cerr << "pinetboot-provision: " << e.what
              << (e.what.find("--help") == std::string::npos ? "; see pinetboot-provision --help" : "") << "\n";
    return exit_usage;
  }
  if (o.command == "early") {
    std::cout << o.early_output;
    return exit_ok;
  }
  bool const image_writes = o.command == "image" && !o.positional.empty() &&
                           (o.positional[0] == "import" || o.positional[0] == "exec" || o.positional[0] == "gc");
  bool mutates = (o.command == "add" || o.command == "remove" || o.command == "repair" || o.command == "upgrade" ||
                  o.command == "rollback" || image_writes || (o.command == "exports" && o.apply)) &&
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
  if (o.command == "image") return cmd_image(o);
  if (o.command == "upgrade" || o.command == "rollback") return cmd_upgrade(o);
  std::cerr << "pinetboot-provision: unknown command '" << o.command
            << "'\n(see pinetboot-provision --help)\n";
  return exit_usage;
}
