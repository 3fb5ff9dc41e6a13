#include "config.hpp"

#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>

#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "../common/args.hpp"
#include "pinetboot/layout/identity.hpp"
#include "pinetboot/layout/registry.hpp"

namespace pinetboot::server {
namespace {

int line_of(toml::node const& n) { return static_cast<int>(n.source().begin.line); }

/// The known name nearest to `name` (at most 2 edits, or a third of its length), else "".
std::string closest(std::string const& name, std::set<std::string> const& known) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (auto const& k : known) {
    auto d = examples::edit_distance(name, k);
    if (d < best_d) best_d = d, best = k;
  }
  return best;
}

/// Whether user `pw` may list and read below `dir` (search permission on every parent too).
bool readable_by(std::filesystem::path const& dir, passwd const& pw) {
  if (pw.pw_uid == 0) return true;
  std::vector<gid_t> groups(64);
  int n = static_cast<int>(groups.size());
  if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) n = 0;
  groups.resize(static_cast<std::size_t>(std::max(n, 0)));
  auto allowed = [&](struct stat const& st, mode_t want_user, mode_t want_group, mode_t want_other) {
    if (st.st_uid == pw.pw_uid) return (st.st_mode & want_user) == want_user;
    if (st.st_gid == pw.pw_gid || std::find(groups.begin(), groups.end(), st.st_gid) != groups.end())
      return (st.st_mode & want_group) == want_group;
    return (st.st_mode & want_other) == want_other;
  };
  auto abs = std::filesystem::absolute(dir);
  std::filesystem::path p = abs.root_path();
  for (auto const& part : abs.relative_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !allowed(st, S_IXUSR, S_IXGRP, S_IXOTH)) return false;
    p /= part;
  }
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 &&
         allowed(st, S_IRUSR | S_IXUSR, S_IRGRP | S_IXGRP, S_IROTH | S_IXOTH);
}

/// Walks one TOML table, remembering which keys were read so that typos are reported.
class section {
 public:
  section(toml::table const& t, std::string name) : t_{t}, name_{std::move(name)} {}

  [[nodiscard]] toml::node const* node(std::string const& key) {
    used_.insert(key);
    return t_.get(key);
  }
  [[nodiscard]] bool has(std::string const& key) { return node(key) != nullptr; }

  template <class T>
  [[nodiscard]] std::optional<T> get(std::string const& key) {
    auto const* n = node(key);
    if (n == nullptr) return std::nullopt;
    auto v = n->value<T>();
    if (!v) throw config_error(where(key) + ": wrong type (expected " + type_name<T>() + ")", line_of(*n));
    return v;
  }
  [[nodiscard]] std::string str(std::string const& key, std::string def = {}) {
    return get<std::string>(key).value_or(std::move(def));
  }
  [[nodiscard]] bool flag(std::string const& key, bool def) { return get<bool>(key).value_or(def); }
  [[nodiscard]] long long integer(std::string const& key, long long def, long long min, long long max) {
    auto v = get<long long>(key);
    if (!v) return def;
    if (*v < min || *v > max)
      throw config_error(where(key) + ": " + std::to_string(*v) + " is outside " + std::to_string(min) + ".." +
                             std::to_string(max),
                         line(key));
    return *v;
  }
  [[nodiscard]] core::ipv4_address ip(std::string const& key) {
    auto s = get<std::string>(key);
    if (!s) return {};
    auto a = core::ipv4_address::parse(*s);
    if (!a) throw config_error(where(key) + ": '" + *s + "' is not an IPv4 address", line(key));
    return *a;
  }
  [[nodiscard]] std::vector<std::string> strings(std::string const& key) {
    std::vector<std::string> out;
    auto const* n = node(key);
    if (n == nullptr) return out;
    auto const* arr = n->as_array();
    if (arr == nullptr) throw config_error(where(key) + ": expected an array of strings", line_of(*n));
    for (auto const& e : *arr) {
      auto v = e.value<std::string>();
      if (!v) throw config_error(where(key) + ": expected an array of strings", line_of(e));
      out.push_back(*v);
    }
    return out;
  }
  [[nodiscard]] std::vector<core::ipv4_address> ips(std::string const& key) {
    std::vector<core::ipv4_address> out;
    for (auto const& s : strings(key)) {
      auto a = core::ipv4_address::parse(s);
      if (!a) throw config_error(where(key) + ": '" + s + "' is not an IPv4 address", line(key));
      out.push_back(*a);
    }
    return out;
  }
  [[nodiscard]] int line(std::string const& key) const {
    auto const* n = t_.get(key);
    return n != nullptr ? line_of(*n) : line_of(t_);
  }
  [[nodiscard]] std::string where(std::string const& key) const { return name_ + "." + key; }
  [[nodiscard]] std::string const& name() const { return name_; }

  /// Reports the first key that was never read.
  void finish() const {
    for (auto const& [k, v] : t_) {
      std::string key{k.str()};
      if (used_.count(key) != 0) continue;
      auto near = closest(key, used_);
      throw config_error("unknown key " + name_ + "." + key +
                             (near.empty() ? " (misspelt?)" : ": did you mean " + name_ + "." + near + "?"),
                         line_of(v));
    }
  }

 private:
  template <class T>
  static std::string type_name() {
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    else if constexpr (std::is_same_v<T, bool>) return "true or false";
    else return "an integer";
  }
  toml::table const& t_;
  std::string name_;
  std::set<std::string> used_;
};

toml::table const& table_or_empty(toml::table const& root, std::string const& key, std::set<std::string>& used) {
  static toml::table const empty;
  used.insert(key);
  auto const* n = root.get(key);
  if (n == nullptr) return empty;
  auto const* t = n->as_table();
  if (t == nullptr) throw config_error("[" + key + "] must be a table", line_of(*n));
  return *t;
}

core::mac_address parse_mac(section& s, std::string const& key) {
  auto text = s.get<std::string>(key);
  if (!text) throw config_error(s.where(key) + " is required", s.line(key));
  auto m = core::mac_address::parse(*text);
  if (!m) throw config_error(s.where(key) + ": '" + *text + "' is not a MAC address", s.line(key));
  return *m;
}

dhcp::subnet_config parse_subnet(toml::table const& t, std::string const& name) {
  section s{t, name};
  dhcp::subnet_config net;
  auto cidr = s.get<std::string>("network");
  if (!cidr) throw config_error(name + ".network is required (e.g. \"192.168.1.0/24\")", s.line("network"));
  auto slash = cidr->find('/');
  auto addr = core::ipv4_address::parse(cidr->substr(0, slash));
  int prefix = -1;
  if (slash != std::string::npos) {
    auto digits = std::string_view{*cidr}.substr(slash + 1);
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (err != std::errc{} || end != digits.data() + digits.size() || digits.empty()) prefix = -1;  // "24abc"
  }
  if (!addr || prefix < 8 || prefix > 30)
    throw config_error(name + ".network: expected NETWORK/PREFIX with a prefix of 8..30, got '" + *cidr + "'",
                       s.line("network"));
  net.network = *addr;
  net.prefix_length = static_cast<std::uint8_t>(prefix);
  auto range = s.ips("range");
  if (range.size() != 2) throw config_error(name + ".range: expected [\"FIRST\", \"LAST\"]", s.line("range"));
  net.range_start = range[0];
  net.range_end = range[1];
  if (!net.contains(net.range_start) || !net.contains(net.range_end) || net.range_end < net.range_start)
    throw config_error(name + ".range must lie inside " + *cidr + " with FIRST <= LAST", s.line("range"));
  net.routers = s.ips("routers");
  net.dns_servers = s.ips("dns");
  net.domain_name = s.str("domain");
  net.lease_time = static_cast<std::uint32_t>(s.integer("lease_time", 43200, 60, 100'000'000));
  net.boot_file = s.str("boot_file");
  if (net.boot_file.size() >= 128)
    throw config_error(name + ".boot_file: at most 127 characters (the DHCP file field)", s.line("boot_file"));
  if (s.has("next_server")) net.next_server = s.ip("next_server");
  s.finish();
  return net;
}

void parse_boot(section& s, dhcp::boot_policy& p) {
  auto set = [&](char const* key, dhcp::boot_target& t) {
    if (auto v = s.get<std::string>(key)) t.boot_file = *v;
  };
  set("x86_bios", p.x86_bios);
  set("uefi_ia32", p.uefi_ia32);
  set("uefi_x64", p.uefi_x64);
  set("uefi_arm32", p.uefi_arm32);
  set("uefi_arm64", p.uefi_arm64);
  set("uefi_http", p.uefi_http);
  set("ipxe", p.ipxe);
  p.pi_menu = s.str("pi_menu", p.pi_menu);
  if (p.pi_menu.empty() || p.pi_menu.size() > 200) throw config_error("pi_menu must be 1..200 characters", s.line("pi_menu"));
  p.pi3_rom_padded_menu = s.flag("pi3_padded_menu", p.pi3_rom_padded_menu);
  p.pi3_reply_delay_ms = static_cast<std::uint32_t>(s.integer("pi3_reply_delay_ms", 0, 0, 10000));
  if (s.has("pi_server")) p.pi_server = s.ip("pi_server");
}

}  // namespace

server_config load_config(std::filesystem::path const& file) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (toml::parse_error const& e) {
    throw config_error(std::string{e.description()}, static_cast<int>(e.source().begin.line));
  }
  server_config c;
  std::set<std::string> used;

  {
    section s{table_or_empty(root, "server", used), "server"};
    c.interface = s.str("interface");
    if (!c.interface.empty() && ::if_nametoindex(c.interface.c_str()) == 0)
      c.warnings.push_back({s.line("interface"), "server.interface \"" + c.interface +
                                                     "\" does not exist here (`ip link` lists the names): the "
                                                     "server cannot start on it; fix the name"});
    c.address = s.ip("address");
    c.user = s.str("user", c.user);
    if (!c.user.empty() && ::getpwnam(c.user.c_str()) == nullptr)
      c.warnings.push_back({s.line("user"), "server.user \"" + c.user +
                                                "\" does not exist here (it is used when the server starts as root): "
                                                "create it (useradd --system --no-create-home " + c.user +
                                                ") or set user = \"\""});
    auto fmt = s.str("log_format", "text");
    if (fmt != "text" && fmt != "json") throw config_error("server.log_format must be \"text\" or \"json\"", s.line("log_format"));
    c.json_logs = fmt == "json";
    c.metrics_listen = s.str("metrics");
    if (!c.metrics_listen.empty()) {
      auto colon = c.metrics_listen.rfind(':');
      // The whole port must be a number from 1 to 65535 (atoi took "99999" and listened on
      // 99999 mod 65536, and took "9110abc").
      unsigned port = 0;
      bool port_ok = false;
      if (colon != std::string::npos) {
        auto digits = std::string_view{c.metrics_listen}.substr(colon + 1);
        auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        port_ok = !digits.empty() && err == std::errc{} && end == digits.data() + digits.size() && port >= 1 &&
                  port <= 65535;
      }
      if (colon == std::string::npos || !core::ipv4_address::parse(c.metrics_listen.substr(0, colon)) || !port_ok)
        throw config_error("server.metrics = \"" + c.metrics_listen +
                               "\": want \"ADDRESS:PORT\" with a port from 1 to 65535, e.g. \"127.0.0.1:9110\"",
                           s.line("metrics"));
    }
    c.shutdown_grace = std::chrono::seconds(s.integer("shutdown_grace", 10, 0, 3600));
    c.stuck_after = std::chrono::seconds(s.integer("stuck_after", 60, 5, 86400));
    c.unknown_boards = static_cast<std::size_t>(s.integer("unknown_boards", 256, 0, 100000));
    if (s.has("boot_complete_files")) c.boot_complete_files = s.strings("boot_complete_files");
    s.finish();
  }
  {
    section s{table_or_empty(root, "dhcp", used), "dhcp"};
    auto mode = s.str("mode", "proxy");
    if (mode == "off") c.dhcp = dhcp_mode::off;
    else if (mode == "proxy") c.dhcp = dhcp_mode::proxy;
    else if (mode == "full") c.dhcp = dhcp_mode::full;
    else throw config_error("dhcp.mode must be \"proxy\", \"full\" or \"off\"", s.line("mode"));
    // As dnsmasq serves no DHCP without a dhcp-range: never on every interface by default.
    if (c.dhcp != dhcp_mode::off && c.interface.empty())
      throw config_error("dhcp.mode = \"" + mode +
                             "\" needs server.interface: name the LAN the boards are on (DHCP is never served "
                             "on every interface), or set dhcp.mode = \"off\"",
                         s.has("mode") ? s.line("mode") : 0);
    c.engine.mode = c.dhcp == dhcp_mode::full ? dhcp::server_mode::full : dhcp::server_mode::proxy;
    c.engine.server_address = c.address;
    c.dhcp_net.port = static_cast<std::uint16_t>(s.integer("port", 67, 1, 65535));
    c.dhcp_net.pxe_port = static_cast<std::uint16_t>(s.integer("pxe_port", 4011, 0, 65535));
    c.dhcp_net.client_port = static_cast<std::uint16_t>(s.integer("client_port", 68, 1, 65535));
    c.dhcp_net.interface = c.interface;
    c.lease_file = s.str("lease_file");
    c.engine.offer_hold_seconds = static_cast<std::uint32_t>(s.integer("offer_hold", 60, 1, 3600));
    c.engine.decline_hold_seconds = static_cast<std::uint32_t>(s.integer("decline_hold", 600, 1, 86400 * 7));
    for (auto const& o : s.strings("pi_ouis")) {
      auto m = core::mac_address::parse(o + ":00:00:00");
      if (!m) throw config_error("dhcp.pi_ouis: '" + o + "' is not an OUI like \"dc:a6:32\"", s.line("pi_ouis"));
      c.engine.pi_ouis.push_back({(*m)[0], (*m)[1], (*m)[2]});
    }
    if (auto const* n = s.node("boot")) {
      auto const* t = n->as_table();
      if (t == nullptr) throw config_error("[dhcp.boot] must be a table", line_of(*n));
      section b{*t, "dhcp.boot"};
      parse_boot(b, c.engine.boot);
      b.finish();
    }
    std::vector<int> subnet_lines;
    if (auto const* n = s.node("subnet")) {
      auto const* arr = n->as_array();
      if (arr == nullptr) throw config_error("dhcp.subnet must be written [[dhcp.subnet]]", line_of(*n));
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto const* t = (*arr)[i].as_table();
        if (t == nullptr) throw config_error("dhcp.subnet entries must be tables", line_of((*arr)[i]));
        auto net = parse_subnet(*t, "dhcp.subnet[" + std::to_string(i) + "]");
        int line = line_of(*t->get("network"));
        // Two subnets that share addresses (and so their pools) would hand out one address
        // twice or answer a client from the wrong one.
        for (std::size_t j = 0; j < c.engine.subnets.size(); ++j) {
          auto const& other = c.engine.subnets[j];
          if (other.contains(net.network) || net.contains(other.network))
            throw config_error("dhcp.subnet[" + std::to_string(i) + "].network " + net.network.to_string() + "/" +
                                   std::to_string(net.prefix_length) + " overlaps dhcp.subnet[" +
                                   std::to_string(j) + "] " + other.network.to_string() + "/" +
                                   std::to_string(other.prefix_length) + " (line " +
                                   std::to_string(subnet_lines[j]) + "): one [[dhcp.subnet]] per network",
                               line);
        }
        c.engine.subnets.push_back(net);
        subnet_lines.push_back(line);
      }
    }
    std::map<std::uint32_t, int> address_lines;  // reserved address -> its line
    if (auto const* n = s.node("host")) {
      auto const* arr = n->as_array();
      if (arr == nullptr) throw config_error("dhcp.host must be written [[dhcp.host]]", line_of(*n));
      // One reservation per MAC (compared as addresses: case and separators do not matter)
      // and per IP address; the engine would otherwise silently use the first.
      std::map<core::mac_address, int> mac_lines;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto const* t = (*arr)[i].as_table();
        if (t == nullptr) throw config_error("dhcp.host entries must be tables", line_of((*arr)[i]));
        section h{*t, "dhcp.host[" + std::to_string(i) + "]"};
        dhcp::host_config host;
        host.mac = parse_mac(h, "mac");
        if (h.has("address")) host.address = h.ip("address");
        host.hostname = h.str("hostname");
        if (h.has("boot_file") || h.has("next_server")) {
          dhcp::boot_target b;
          b.boot_file = h.str("boot_file");
          if (h.has("next_server")) b.server = h.ip("next_server");
          host.boot = b;
        }
        h.finish();
        if (auto [it, fresh] = mac_lines.emplace(host.mac, h.line("mac")); !fresh)
          throw config_error(h.where("mac") + " " + host.mac.to_string() + " is already reserved on line " +
                                 std::to_string(it->second) + ": one [[dhcp.host]] per MAC",
                             h.line("mac"));
        if (host.address) {
          if (auto [it, fresh] = address_lines.emplace(host.address->to_uint(), h.line("address")); !fresh)
            throw config_error(h.where("address") + " " + host.address->to_string() +
                                   " is already reserved on line " + std::to_string(it->second) +
                                   ": one [[dhcp.host]] per address",
                               h.line("address"));
        }
        c.engine.hosts.push_back(host);
      }
    }
    if (c.dhcp == dhcp_mode::full && c.engine.subnets.empty())
      throw config_error("dhcp.mode = \"full\" needs at least one [[dhcp.subnet]]", s.line("mode"));
    if (c.dhcp == dhcp_mode::full) {
      for (auto const& [addr, line] : address_lines) {
        core::ipv4_address a{addr};
        bool inside = std::any_of(c.engine.subnets.begin(), c.engine.subnets.end(),
                                  [&](dhcp::subnet_config const& n) { return n.contains(a); });
        if (!inside)
          throw config_error("reserved address " + a.to_string() +
                                 " is in no [[dhcp.subnet]]: the server could never hand it out; fix the "
                                 "address or add its subnet",
                             line);
      }
    }
    s.finish();
  }
  {
    section s{table_or_empty(root, "tftp", used), "tftp"};
    c.tftp_enabled = s.flag("enabled", true);
    auto& t = c.tftp;
    t.root = s.str("root", "/srv/tftp");
    if (std::error_code ec; c.tftp_enabled && !std::filesystem::is_directory(t.root, ec))
      c.warnings.push_back({s.line("root"), "tftp.root " + t.root.string() +
                                                " is not a directory here: create it (the boards' boot trees go "
                                                "below it) or point root at them"});
    else if (passwd const* pw = c.user.empty() ? nullptr : ::getpwnam(c.user.c_str());
             c.tftp_enabled && pw != nullptr && !readable_by(t.root, *pw))
      c.warnings.push_back({s.line("root"), "tftp.root " + t.root.string() + " is not readable by server.user \"" +
                                                c.user + "\" (the server reads files as that user): "
                                                "chmod o+rx (or chgrp " + c.user + ") it and its parents"});
    t.port = static_cast<std::uint16_t>(s.integer("port", 69, 1, 65535));
    t.interface = c.interface;
    t.listen_address = s.ip("listen");
    auto per = s.str("per_client", "shared");
    if (auto m = tftp::parse_root_mode(per)) t.roots.mode = *m;
    else throw config_error("tftp.per_client must be shared, mac, mac-dash, mac-colon or ip", s.line("per_client"));
    t.roots.per_file_fallback = s.flag("per_file_fallback", false);
    t.roots.open.follow_symlinks = s.flag("follow_symlinks", true);
    t.limits.negotiation.max_blksize = static_cast<std::uint16_t>(s.integer("max_blksize", 1468, 8, 65464));
    t.limits.negotiation.max_windowsize = static_cast<std::uint16_t>(s.integer("max_window", 64, 1, 65535));
    t.limits.adaptive_window = s.flag("adaptive_window", true);
    t.limits.max_retransmits = static_cast<unsigned>(s.integer("retries", 8, 1, 100));
    t.limits.block_rollover = s.integer("rollover", 0, 0, 1) == 0 ? tftp::rollover::to_zero : tftp::rollover::to_one;
    t.max_transfers = static_cast<std::size_t>(s.integer("max_transfers", 4096, 1, 1'000'000));
    t.max_per_client = static_cast<std::size_t>(s.integer("max_per_client", 64, 1, 1'000'000));
    t.requests_per_second = static_cast<double>(s.integer("requests_per_second", 0, 0, 10'000'000));
    t.limits.idle_timeout = std::chrono::seconds(s.integer("idle_timeout", 30, 1, 86400));
    t.allow_write = s.flag("allow_write", false);
    t.write_root = s.str("write_root");
    t.max_write_size = static_cast<std::uint64_t>(s.integer("max_write_size", 64LL << 20, 0, 1LL << 40));
    t.socket_buffer = static_cast<int>(s.integer("socket_buffer", 1 << 20, 0, 1 << 28));
    auto range = s.str("port_range");
    if (!range.empty()) {
      auto dash = range.find('-');
      long first = dash == std::string::npos ? 0 : std::atol(range.substr(0, dash).c_str());
      long last = dash == std::string::npos ? 0 : std::atol(range.substr(dash + 1).c_str());
      if (first < 1 || last > 65535 || first > last)
        throw config_error("tftp.port_range must be \"FIRST-LAST\"", s.line("port_range"));
      t.port_first = static_cast<std::uint16_t>(first);
      t.port_last = static_cast<std::uint16_t>(last);
    }
    t.single_port = s.flag("single_port", false);
    if (t.single_port && !range.empty())
      throw config_error("tftp.port_range has no use with single_port = true (every transfer uses port 69)",
                         s.line("port_range"));
    s.finish();
  }
  int registry_line = 0;
  {
    section s{table_or_empty(root, "provision", used), "provision"};
    c.registry = s.str("registry");
    registry_line = s.has("registry") ? s.line("registry") : 0;
    // Read by pinetboot-provision (the same file describes the layout to both programs);
    // checked here so a mistake shows in --check-config too.
    for (char const* key : {"registry", "nfs_root", "image_root", "exports_file", "ganesha_file"}) {
      auto v = s.str(key);
      if (!v.empty() && !std::filesystem::path{v}.is_absolute())
        throw config_error(s.where(key) + " \"" + v + "\" must be an absolute path", s.line(key));
    }
    if (auto v = s.get<std::string>("scheme"); v && !layout::parse_scheme(*v))
      throw config_error(s.where("scheme") + " \"" + *v + "\": want serial, mac-dash, mac-colon or hostname",
                         s.line("scheme"));
    (void)s.ip("server_ip");
    s.finish();
  }
  for (auto const& [k, v] : root) {
    if (used.count(std::string{k.str()}) == 0)
      throw config_error("unknown section [" + std::string{k.str()} + "] (expected server, dhcp, tftp, provision)",
                         line_of(v));
  }

  // Clients provisioned by pinetboot-provision: reservations and host names without re-typing.
  if (std::error_code ec; !c.registry.empty() && std::filesystem::exists(c.registry, ec) &&
                          !std::filesystem::is_regular_file(c.registry, ec))
    throw config_error("provision.registry " + c.registry.string() +
                           " is not a file: name pinetboot-provision's registry file (its --registry, e.g. "
                           "/var/lib/pinetboot/clients.conf)",
                       registry_line);
  if (!c.registry.empty()) {
    auto records = layout::read_registry(c.registry);
    if (!records)
      throw config_error("provision.registry " + c.registry.string() + ": " + records.error().message(),
                         registry_line);
    for (auto const& r : *records) {
      if (!r.id.mac) continue;
      bool listed = false;
      for (auto const& h : c.engine.hosts) listed = listed || h.mac == *r.id.mac;
      if (listed) continue;  // the configuration file wins
      dhcp::host_config h;
      h.mac = *r.id.mac;
      if (r.id.ip && c.dhcp == dhcp_mode::full) h.address = *r.id.ip;
      h.hostname = r.id.hostname;
      c.engine.hosts.push_back(h);
      ++c.provisioned_clients;
    }
  }
  return c;
}

std::string describe(server_config const& c) {
  std::ostringstream o;
  char const* mode = c.dhcp == dhcp_mode::off ? "off" : c.dhcp == dhcp_mode::proxy ? "proxy" : "full";
  o << "interface: " << (c.interface.empty() ? "all" : c.interface) << "\n";
  o << "address: " << (c.address.is_unspecified() ? "(the interface's)" : c.address.to_string()) << "\n";
  o << "dhcp: " << mode;
  if (c.dhcp != dhcp_mode::off) {
    o << " on port " << c.dhcp_net.port;
    if (c.dhcp_net.pxe_port != 0) o << " and " << c.dhcp_net.pxe_port;
    o << ", " << c.engine.subnets.size() << " subnet(s), " << c.engine.hosts.size() << " host(s)";
    if (c.provisioned_clients > 0) o << " (" << c.provisioned_clients << " from the provision registry)";
    o << ", Pi menu \"" << c.engine.boot.pi_menu << "\"";
    if (c.dhcp == dhcp_mode::full) o << ", leases in " << (c.lease_file.empty() ? "memory only" : c.lease_file.string());
  }
  o << "\n";
  o << "tftp: ";
  if (!c.tftp_enabled) {
    o << "off\n";
  } else {
    o << c.tftp.root.string() << " on port " << c.tftp.port << ", blksize <= " << c.tftp.limits.negotiation.max_blksize
      << ", window <= " << c.tftp.limits.negotiation.max_windowsize << "\n";
  }
  o << "metrics: " << (c.metrics_listen.empty() ? "off" : "http://" + c.metrics_listen + "/metrics") << "\n";
  return o.str();
}

}  // namespace pinetboot::server
