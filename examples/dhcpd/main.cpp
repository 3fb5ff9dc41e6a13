// pinetboot-dhcpd: the DHCP side of a netboot server, as a standalone program.
//
//   proxy mode (beside the site's router):
//     pinetboot-dhcpd --mode proxy --interface eth0
//   full mode (we hand out addresses):
//     pinetboot-dhcpd --mode full --interface eth0
//       --subnet 10.0.0.0/24,range=10.0.0.100-10.0.0.200,router=10.0.0.1,dns=10.0.0.1
//       --host dc:a6:32:01:36:c2,10.0.0.21,pi-21 --lease-file /var/lib/pinetboot/leases.journal
//
// One log line per exchange: message, client MAC, class, what was answered.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "../common/args.hpp"
#include "../common/log.hpp"
#include "pinetboot/dhcp/engine.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/net/dhcp_server.hpp"
#include "pinetboot/net/privileges.hpp"

namespace {

using namespace pinetboot;
using examples::timestamp;
using examples::type_name;
using examples::args;
using examples::usage_error;

std::vector<std::string> split(std::string const& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss{s};
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

core::ipv4_address ip_or_throw(std::string const& text, std::string const& what) {
  return examples::parse_ipv4(text, what);
}

std::vector<core::ipv4_address> ip_list(std::string const& text, std::string const& what) {
  std::vector<core::ipv4_address> out;
  for (auto const& part : split(text, '+')) out.push_back(ip_or_throw(part, what));
  return out;
}

/// "10.0.0.0/24,range=10.0.0.100-10.0.0.200,router=10.0.0.1,dns=10.0.0.1+10.0.0.2,domain=lab,lease=3600,
///  boot=u-boot.scr,next-server=10.0.0.2" (boot file and siaddr for plain clients)
dhcp::subnet_config parse_subnet(std::string const& spec) {
  dhcp::subnet_config s;
  auto parts = split(spec, ',');
  if (parts.empty()) throw std::invalid_argument("--subnet: empty");
  auto slash = parts[0].find('/');
  if (slash == std::string::npos) throw std::invalid_argument("--subnet: expected NETWORK/PREFIX first, got " + parts[0]);
  s.network = ip_or_throw(parts[0].substr(0, slash), "--subnet");
  auto prefix = examples::parse_number(parts[0].substr(slash + 1), 8, 30, "--subnet prefix length");
  s.prefix_length = static_cast<std::uint8_t>(prefix);
  bool have_range = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    if (eq == std::string::npos) throw std::invalid_argument("--subnet: expected key=value, got " + parts[i]);
    auto key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
    if (key == "range") {
      auto dash = value.find('-');
      if (dash == std::string::npos) throw std::invalid_argument("--subnet: range=START-END");
      s.range_start = ip_or_throw(value.substr(0, dash), "--subnet range");
      s.range_end = ip_or_throw(value.substr(dash + 1), "--subnet range");
      have_range = true;
    } else if (key == "router") {
      s.routers = ip_list(value, "--subnet router");
    } else if (key == "dns") {
      s.dns_servers = ip_list(value, "--subnet dns");
    } else if (key == "domain") {
      s.domain_name = value;
    } else if (key == "boot") {
      if (value.size() >= 128) throw std::invalid_argument("--subnet boot: at most 127 characters");
      s.boot_file = value;
    } else if (key == "next-server") {
      s.next_server = ip_or_throw(value, "--subnet next-server");
    } else if (key == "lease") {
      s.lease_time = static_cast<std::uint32_t>(examples::parse_number(value, 60, 100'000'000, "--subnet lease"));
    } else {
      throw std::invalid_argument("--subnet: unknown key " + key);
    }
  }
  if (!have_range) throw std::invalid_argument("--subnet " + spec + ": needs range=START-END");
  if (!s.contains(s.range_start) || !s.contains(s.range_end) || s.range_end < s.range_start)
    throw std::invalid_argument("--subnet " + spec + ": range must lie inside the subnet, start <= end");
  return s;
}

/// "MAC[,IP][,NAME][,file=F][,server=IP]" (dnsmasq dhcp-host order)
dhcp::host_config parse_host(std::string const& spec) {
  dhcp::host_config h;
  auto parts = split(spec, ',');
  auto mac = core::mac_address::parse(parts.empty() ? std::string{} : parts[0]);
  if (!mac) throw std::invalid_argument("--host: '" + spec + "' must start with a MAC address");
  h.mac = *mac;
  dhcp::boot_target boot;
  bool have_boot = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto const& p = parts[i];
    if (p.empty()) continue;
    if (p.rfind("file=", 0) == 0) {
      boot.boot_file = p.substr(5);
      have_boot = true;
    } else if (p.rfind("server=", 0) == 0) {
      boot.server = ip_or_throw(p.substr(7), "--host server");
      have_boot = true;
    } else if (auto ip = core::ipv4_address::parse(p)) {
      h.address = *ip;
    } else if (p.find_first_not_of("0123456789.") == std::string::npos) {
      // "10.0.0.300" is a mistyped address, not a host name.
      throw usage_error("--host " + spec + ": '" + p + "' is not an IPv4 address");
    } else if (p.find('=') != std::string::npos) {
      throw usage_error("--host " + spec + ": unknown key in '" + p + "' (expected file= or server=)");
    } else {
      h.hostname = p;
    }
  }
  if (have_boot) h.boot = boot;
  return h;
}

void set_boot(dhcp::boot_policy& p, std::string const& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos) throw std::invalid_argument("--boot: expected CLASS=FILE, got " + spec);
  auto cls = spec.substr(0, eq), file = spec.substr(eq + 1);
  dhcp::boot_target* t = nullptr;
  if (cls == "x86_bios") t = &p.x86_bios;
  else if (cls == "uefi_ia32") t = &p.uefi_ia32;
  else if (cls == "uefi_x64") t = &p.uefi_x64;
  else if (cls == "uefi_arm32") t = &p.uefi_arm32;
  else if (cls == "uefi_arm64") t = &p.uefi_arm64;
  else if (cls == "uefi_http") t = &p.uefi_http;
  else if (cls == "ipxe") t = &p.ipxe;
  else if (cls == "unknown_pxe") t = &p.unknown_pxe;
  else throw std::invalid_argument("--boot: unknown class " + cls);
  t->boot_file = file;
}

void log_exchange(net::dhcp_log_event const& ev, bool verbose) {
  auto const& r = *ev.reply;
  // Silent drops are noise; but lease changes without a reply (RELEASE, DECLINE) and pool
  // exhaustion are what an operator looks for.
  if (r.size == 0 && !verbose && !r.needs_commit && r.outcome != "no free address in the pool" && !ev.error)
    return;
  std::string cls{dhcp::to_string(r.client.kind)};
  if (r.client.kind == dhcp::client_class::raspberry_pi && r.client.pi != dhcp::pi_generation::unknown)
    cls += "/" + std::string{dhcp::to_string(r.client.pi)};
  std::printf("%s dhcp %s%s from %s port %u mac %s class %s: %.*s", timestamp().c_str(),
              type_name(r.request_type),
              ev.local_port == 4011 ? "(4011)" : "", ev.from.address().to_string().c_str(),
              static_cast<unsigned>(ev.from.port()), r.mac ? r.mac->to_string().c_str() : "-", cls.c_str(),
              static_cast<int>(r.outcome.size()), r.outcome.data());
  if (!r.address.is_unspecified()) std::printf(" %s", r.address.to_string().c_str());
  if (!r.boot_file.empty()) std::printf(" file %.*s", static_cast<int>(r.boot_file.size()), r.boot_file.data());
  if (r.delay_ms > 0) std::printf(" (delayed %u ms)", r.delay_ms);
  if (ev.error) std::printf(" NOT SENT: lease commit failed: %s", ev.error.message().c_str());
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  args a{"pinetboot-dhcpd",
         "DHCP server and proxyDHCP for network boot: Raspberry Pi (option 43 'Raspberry Pi Boot'),\n"
         "PXE BIOS/UEFI, UEFI HTTP boot and iPXE. In proxy mode it answers PXE clients only and leaves\n"
         "addresses to the site's DHCP server."};
  a.option("mode", "proxy|full", "proxy: boot information only; full: also hand out addresses", "proxy")
      .option("interface", "IF", "serve DHCP on this interface only (SO_BINDTODEVICE); required")
      .option("listen", "ADDR", "local address to bind", "0.0.0.0")
      .option("port", "N", "DHCP server port", "67")
      .option("pxe-port", "N", "PXE boot-server port (0 = off)", "4011")
      .option("client-port", "N", "port replies are sent to", "68")
      .option("server-address", "ADDR", "our address in option 54 (default: the receiving interface's)")
      .option("subnet", "SPEC", "NET/PREFIX,range=A-B[,router=R][,dns=D1+D2][,domain=X][,lease=SECONDS][,boot=FILE][,next-server=A]", "",
              true)
      .option("host", "SPEC", "MAC[,IP][,NAME][,file=F][,server=IP]: reservation / per-host boot", "", true)
      .option("boot", "CLASS=FILE",
              "boot file per class: x86_bios uefi_ia32 uefi_x64 uefi_arm32 uefi_arm64 uefi_http ipxe", "", true)
      .option("pi-menu", "TEXT", "Raspberry Pi boot menu text", "Raspberry Pi Boot")
      .option("pi-delay-ms", "N", "delay replies to Pi 2/3 boot ROMs (dnsmasq dhcp-reply-delay)", "0")
      .option("pi-server", "ADDR", "TFTP server for Raspberry Pi boards (default: ours)")
      .option("pi-oui", "XX:XX:XX", "extra Raspberry Pi MAC prefix", "", true)
      .option("lease-file", "PATH", "lease journal (full mode; fsync before every ACK)")
      .option("commit-window-us", "N", "under load, ACKs wait up to N us to share one fsync (0 = no wait)", "1000")
      .option("user", "NAME", "drop root to this user after binding", "nobody")
      .flag("verbose", "also log ignored messages");
  // Every argument is checked here, before a file or a socket is opened.
  dhcp::engine_config cfg;
  net::dhcp_server_options so;
  std::string mode, lease_file, user;
  bool verbose = false;
  try {
    if (auto rc = a.parse(argc, argv)) return *rc;
    mode = a.get("mode");
    if (mode == "proxy") cfg.mode = dhcp::server_mode::proxy;
    else if (mode == "full") cfg.mode = dhcp::server_mode::full;
    else throw usage_error("--mode: expected proxy or full, got '" + mode + "'");
    if (a.has("server-address")) cfg.server_address = a.ipv4("server-address");
    for (auto const& s : a.all("subnet")) cfg.subnets.push_back(parse_subnet(s));
    for (auto const& h : a.all("host")) cfg.hosts.push_back(parse_host(h));
    for (auto const& b : a.all("boot")) set_boot(cfg.boot, b);
    cfg.boot.pi_menu = a.get("pi-menu");
    cfg.boot.pi3_reply_delay_ms = static_cast<std::uint32_t>(a.number("pi-delay-ms", 0, 10000));
    if (a.has("pi-server")) cfg.boot.pi_server = a.ipv4("pi-server");
    for (auto const& o : a.all("pi-oui")) {
      auto m = core::mac_address::parse(o + ":00:00:00");
      if (!m) throw usage_error("--pi-oui: expected XX:XX:XX, got " + o);
      cfg.pi_ouis.push_back({(*m)[0], (*m)[1], (*m)[2]});
    }
    if (cfg.mode == dhcp::server_mode::full && cfg.subnets.empty())
      throw usage_error("--mode full needs at least one --subnet");
    so.interface = a.get("interface");
    // As dnsmasq serves no DHCP without a dhcp-range: never on every interface by default.
    if (so.interface.empty())
      throw usage_error("name the interface to serve DHCP on (--interface IF): pinetboot-dhcpd never "
                        "answers on every interface");
    so.listen_address = a.ipv4("listen");
    so.port = a.port("port");
    so.pxe_port = a.port("pxe-port", 0);
    so.client_port = a.port("client-port");
    so.commit_window = std::chrono::microseconds{a.number("commit-window-us", 0, 1'000'000)};
    lease_file = a.get("lease-file");
    user = a.get("user");
    verbose = a.has("verbose");
  } catch (std::invalid_argument const& e) {
    std::fprintf(stderr, "pinetboot-dhcpd: %s\n", e.what());
    return examples::exit_usage;
  }

  try {
    auto leases = dhcp::lease_store::open({.path = lease_file});
    if (!leases) {
      std::fprintf(stderr, "pinetboot-dhcpd: cannot open lease file %s: %s\n", lease_file.c_str(),
                   leases.error().message().c_str());
      return 1;
    }
    if (leases->recovery().discarded_bytes > 0)
      std::printf("%s lease journal: recovered %zu records, discarded a torn tail of %llu bytes\n",
                  timestamp().c_str(), leases->recovery().records,
                  static_cast<unsigned long long>(leases->recovery().discarded_bytes));
    dhcp::server_engine engine{cfg, *leases};

    asio::io_context io;
    net::dhcp_server server{io, engine, *leases, so, [verbose](auto const& ev) { log_exchange(ev, verbose); }};
    if (auto ec = server.start()) {
      std::fprintf(stderr, "pinetboot-dhcpd: cannot listen on port %u%s%s: %s\n", so.port,
                   so.interface.empty() ? "" : " of ", so.interface.c_str(), ec.message().c_str());
      return 1;
    }
    if (::geteuid() == 0 && !user.empty()) {
      if (auto ec = net::drop_privileges(user)) {
        std::fprintf(stderr, "pinetboot-dhcpd: cannot drop privileges to %s: %s\n", user.c_str(),
                     ec.message().c_str());
        return 1;
      }
    }
    std::printf("%s pinetboot-dhcpd: %s mode on %s port %u%s, %zu subnet(s), %zu host(s), %zu lease(s)\n",
                timestamp().c_str(), mode.c_str(), so.interface.empty() ? "all interfaces" : so.interface.c_str(),
                static_cast<unsigned>(server.bound_port()), so.pxe_port != 0 ? " and 4011" : "", cfg.subnets.size(),
                cfg.hosts.size(), leases->size());
    std::fflush(stdout);

    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](std::error_code, int sig) {
      std::printf("%s pinetboot-dhcpd: signal %d, committing leases and stopping\n", timestamp().c_str(), sig);
      server.stop();
      io.stop();
    });
    io.run();
    auto const& st = server.stats();
    std::printf("pinetboot-dhcpd: received %llu, replied %llu, ignored %llu, commits %llu\n",
                static_cast<unsigned long long>(st.received), static_cast<unsigned long long>(st.replied),
                static_cast<unsigned long long>(st.ignored), static_cast<unsigned long long>(st.commits));
    return 0;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pinetboot-dhcpd: %s\n", e.what());
    return 2;
  }
}
