// pinetboot-server: one process that boots a fleet. DHCP (proxy, full or off) and TFTP on one
// io_context, sharing what they learn (IP <-> MAC) so per-MAC roots work; one log line per boot
// phase per board; Prometheus metrics; SIGHUP reloads the configuration without dropping live
// transfers; SIGTERM lets transfers finish (up to shutdown_grace), commits leases and exits.
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include "../common/args.hpp"
#include "../common/log.hpp"
#include "git_description.hpp"
#include "config.hpp"
#include "http.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "status.hpp"
#include "status_cli.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/dhcp/lease_store.hpp"
#include "pinetboot/net/dhcp_server.hpp"
#include "pinetboot/net/neighbour_table.hpp"
#include "pinetboot/net/privileges.hpp"
#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/net/udp.hpp"

#ifndef PINETBOOT_DEFAULT_CONFIG
#define PINETBOOT_DEFAULT_CONFIG "/etc/pinetboot/pinetboot.toml"
#endif

namespace {

using namespace pinetboot;
using server::log_level;
using server::logger;
using examples::type_name;

std::string class_name(dhcp::classification const& c) {
  std::string s{dhcp::to_string(c.kind)};
  if (c.kind == dhcp::client_class::raspberry_pi && c.pi != dhcp::pi_generation::unknown)
    s += "/" + std::string{dhcp::to_string(c.pi)};
  return s;
}

/// EMFILE/ENFILE: the fix is a limit, so it is reported as such.
bool out_of_descriptors(std::error_code ec) {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system;
}

/// MAC for an IP: the DHCP side's leases first, then the kernel's neighbour table.
class shared_mac_lookup final : public tftp::mac_lookup {
 public:
  explicit shared_mac_lookup(dhcp::lease_store const& leases) : leases_{leases} {}
  [[nodiscard]] std::optional<core::mac_address> find(core::ipv4_address ip) const noexcept override {
    if (auto it = learned_.find(ip.to_uint()); it != learned_.end()) return it->second;
    if (auto m = leases_.mac_for(ip)) return m;
    return neighbours_.find(ip);
  }
  void learn(core::ipv4_address ip, core::mac_address mac) {
    // Bounded: DHCP traffic is not authenticated, a flood of made-up addresses must not grow us.
    if (learned_.size() >= kMaxLearned && !learned_.contains(ip.to_uint())) learned_.erase(learned_.begin());
    learned_[ip.to_uint()] = mac;
  }

 private:
  static constexpr std::size_t kMaxLearned = 65536;
  dhcp::lease_store const& leases_;
  std::map<std::uint32_t, core::mac_address> learned_;
  net::neighbour_table neighbours_;
};

/// Follows each board from its first DISCOVER to its kernel.
class boot_tracker {
 public:
  boot_tracker(logger& log, server::metrics& m, shared_mac_lookup& macs) : log_{log}, m_{m}, macs_{macs} {}
  void set_complete_files(std::vector<std::string> f) { complete_files_ = std::move(f); }

  void on_dhcp(net::dhcp_log_event const& ev, bool verbose) {
    auto const& r = *ev.reply;
    auto type = type_name(r.request_type);
    m_.dhcp_messages[{type, std::string{dhcp::to_string(r.client.kind)}}]++;
    if (r.size == 0) ++m_.dhcp_ignored;
    else if (!ev.error) m_.dhcp_replies[type_name(r.reply_type)]++;
    std::string mac = r.mac ? r.mac->to_string() : "-";
    if (r.mac && r.client.kind != dhcp::client_class::not_pxe &&
        r.request_type == dhcp::message_type::discover) {
      auto& b = boards_[*r.mac];
      auto now = core::steady_clock::now();
      if (!b.started || b.booted || now - b.first > std::chrono::minutes(10)) {
        b = board{};
        b.started = true;
        b.first = now;
      }
      b.cls = class_name(r.client);
    }
    if (r.mac && !r.address.is_unspecified()) macs_.learn(r.address, *r.mac);
    // Proxy mode hands out no addresses: a boot client's REQUEST to the router says its IP.
    if (r.mac && r.client.kind != dhcp::client_class::not_pxe && !r.client_address.is_unspecified())
      macs_.learn(r.client_address, *r.mac);
    bool notable = r.size > 0 || ev.error || r.outcome == "no free address in the pool";
    if (!notable && !verbose) return;
    std::string text = "board " + mac + " (" + class_name(r.client) + "): dhcp " + type + (ev.local_port == 4011 ? "/4011" : "") +
                       " -> " + std::string{r.outcome};
    if (!r.address.is_unspecified()) text += " " + r.address.to_string();
    if (!r.boot_file.empty()) text += " file " + std::string{r.boot_file};
    if (r.delay_ms > 0) text += " (delayed " + std::to_string(r.delay_ms) + " ms)";
    if (ev.error) text += " NOT SENT: lease commit failed: " + ev.error.message();
    auto level = ev.error ? log_level::error : r.size == 0 && notable ? log_level::warning : log_level::info;
    log_.line(level, "dhcp",
              {{"mac", mac},
               {"class", class_name(r.client)},
               {"request", type},
               {"outcome", r.outcome},
               {"address", r.address.is_unspecified() ? std::string{} : r.address.to_string()},
               {"boot_file", r.boot_file},
               {"delay_ms", r.delay_ms},
               {"port", ev.local_port},
               {"sent", r.size > 0 && !ev.error},
               {"from", ev.from.address().to_string()}},
              text);
  }

  void on_tftp(net::tftp_transfer_record const& r) {
    auto ip = net::from_asio(r.client.address().to_v4());
    auto mac = macs_.find(ip);
    std::string who = mac ? mac->to_string() : ip.to_string();
    std::string outcome = r.not_found                                       ? "not found"
                          : !r.outcome                                      ? "sent"
                          : r.outcome == tftp::errc::client_aborted         ? "ended by client"
                                                                            : "failed: " + r.outcome.message();
    if (out_of_descriptors(r.outcome)) {
      ++m_.descriptor_exhaustion;
      outcome += r.outcome == std::errc::too_many_files_open
                     ? " (out of file descriptors: raise LimitNOFILE= in the systemd unit or ulimit -n, or lower "
                       "tftp.max_transfers)"
                     : " (the system ran out of file descriptors: raise fs.file-max)";
    }
    m_.tftp_transfers[r.not_found ? "not_found" : !r.outcome ? "complete" : r.outcome == tftp::errc::client_aborted ? "client_aborted" : "failed"]++;
    m_.tftp_bytes += r.bytes;
    m_.tftp_retransmits += r.stats.retransmits;
    double secs = std::chrono::duration<double>(r.elapsed).count();
    char stats[160];
    std::snprintf(stats, sizeof stats, "%llu bytes in %.3f s, blksize %u, window %u, %llu retransmits",
                  static_cast<unsigned long long>(r.bytes), secs, r.blksize, r.windowsize,
                  static_cast<unsigned long long>(r.stats.retransmits));
    std::string text = "board " + who + ": tftp " + (r.write ? "WRQ " : "") + r.file + " " + outcome;
    if (!r.not_found) text += " (" + std::string{stats} + ")";
    if (!r.root.empty()) text += " from " + r.root + "/";
    // A missing file (boards probe for optional ones) or a client that gave up is the client's
    // business; a failed transfer is ours.
    auto level = out_of_descriptors(r.outcome)                                              ? log_level::error
                 : !r.not_found && r.outcome && r.outcome != tftp::errc::client_aborted ? log_level::warning
                                                                                          : log_level::info;
    log_.line(level, "tftp",
              {{"board", who},
               {"client", ip.to_string()},
               {"file", r.file},
               {"write", r.write},
               {"outcome", outcome},
               {"bytes", r.bytes},
               {"seconds", secs},
               {"blksize", r.blksize},
               {"windowsize", r.windowsize},
               {"retransmits", r.stats.retransmits},
               {"root", r.root}},
              text);
    if (!mac || r.outcome || r.not_found || r.write) return;
    auto it = boards_.find(*mac);
    if (it == boards_.end() || it->second.booted || !it->second.started) return;
    auto slash = r.file.rfind('/');
    std::string base = slash == std::string::npos ? r.file : r.file.substr(slash + 1);
    bool kernel = false;
    for (auto const& f : complete_files_) kernel = kernel || f == base;
    if (!kernel) return;
    it->second.booted = true;
    double t = std::chrono::duration<double>(core::steady_clock::now() - it->second.first).count();
    m_.boot_seconds[it->second.cls].observe(t);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f", t);
    log_.line("booted", {{"board", who}, {"class", it->second.cls}, {"seconds", t}, {"file", r.file}},
              "board " + who + " (" + it->second.cls + "): booted in " + buf + " s (" + r.file + " served)");
  }

 private:
  struct board {
    bool started = false, booted = false;
    core::time_point first{};
    std::string cls;
  };
  logger& log_;
  server::metrics& m_;
  shared_mac_lookup& macs_;
  std::vector<std::string> complete_files_;
  std::map<core::mac_address, board> boards_;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (each TFTP transfer holds a socket and a
/// file) and returns the soft limit now in force.
rlim_t raise_nofile_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  if (r.rlim_cur < r.rlim_max) {
    rlimit want = r;
    want.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) r = want;
  }
  return r.rlim_cur;
}

/// Descriptors max_transfers needs: a socket and a file per transfer (the file only with
/// single_port), plus a reserve for the listening sockets, the journal, metrics and stdio.
std::uint64_t descriptors_needed(server::server_config const& c) {
  if (!c.tftp_enabled) return 0;
  std::uint64_t const per = c.tftp.single_port ? 1 : 2;
  return per * c.tftp.max_transfers + 64;
}

/// A warning when the descriptor limit cannot carry max_transfers ("" when it can).
std::string descriptor_warning(server::server_config const& c, rlim_t limit) {
  auto need = descriptors_needed(c);
  if (limit == RLIM_INFINITY || need <= limit) return {};
  return "warning: tftp.max_transfers = " + std::to_string(c.tftp.max_transfers) + " needs about " +
         std::to_string(need) + " file descriptors (a socket and a file per transfer), but the limit is " +
         std::to_string(limit) + ": raise it (LimitNOFILE=" + std::to_string(need) +
         " in the systemd unit, or ulimit -n " + std::to_string(need) + ") or lower max_transfers";
}

/// "FILE:LINE: message" (or "FILE: message") for a configuration error.
std::string located(std::string const& path, server::config_error const& e) {
  return e.line() > 0 ? path + ":" + std::to_string(e.line()) + ": " + e.what() : path + ": " + e.what();
}

/// The start-up record: in text, a line and the summary of --check-config below it; in JSON,
/// one object with the same facts as typed fields.
void log_start(logger& log, std::string const& config_path, server::server_config const& c) {
  if (!log.json()) {
    auto summary = server::describe(c);
    if (!summary.empty() && summary.back() == '\n') summary.pop_back();  // the logger ends the line
    log.line("start", {}, "pinetboot-server started (" + config_path + ")\n" + summary);
    return;
  }
  char const* mode = c.dhcp == server::dhcp_mode::off ? "off" : c.dhcp == server::dhcp_mode::proxy ? "proxy" : "full";
  bool const dhcp = c.dhcp != server::dhcp_mode::off;
  log.line("start",
           {{"version", PINETBOOT_VERSION},
            {"git", examples::git_description()},
            {"config", config_path},
            {"interface", c.interface},
            {"address", c.address.is_unspecified() ? std::string{} : c.address.to_string()},
            {"dhcp", mode},
            {"dhcp_port", dhcp ? c.dhcp_net.port : 0},
            {"pxe_port", dhcp ? c.dhcp_net.pxe_port : 0},
            {"subnets", c.engine.subnets.size()},
            {"hosts", c.engine.hosts.size()},
            {"provisioned", c.provisioned_clients},
            {"lease_file", c.dhcp == server::dhcp_mode::full ? c.lease_file.string() : std::string{}},
            {"tftp", c.tftp_enabled},
            {"tftp_root", c.tftp_enabled ? c.tftp.root.string() : std::string{}},
            {"tftp_port", c.tftp_enabled ? c.tftp.port : 0},
            {"max_blksize", c.tftp.limits.negotiation.max_blksize},
            {"max_windowsize", c.tftp.limits.negotiation.max_windowsize},
            {"max_transfers", c.tftp.max_transfers},
            {"metrics", c.metrics_listen}},
           {});
}

/// RELOADING=1 for systemd, stamped with CLOCK_MONOTONIC (systemd 253's Type=notify-reload
/// wants MONOTONIC_USEC to match the reload to its request).
void notify_reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1'000'000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  (void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view{argv[1]} == "status") return server::status_command(argc - 1, argv + 1);
  examples::args a{"pinetboot-server",
                   "Boots a fleet of Raspberry Pi boards and PXE clients: DHCP (proxy beside the site's router,\n"
                   "or full) and TFTP in one process, configured by one TOML file."};
  a.option("config", "FILE", "configuration file", PINETBOOT_DEFAULT_CONFIG)
      .flag("check-config", "validate the configuration, print what it does, and exit")
      .flag("json", "log JSON lines (overrides server.log_format)")
      .flag("verbose", "also log DHCP messages that get no answer")
      .positional_hint("a configuration file is given as --config FILE");
  std::string config_path;
  try {
    if (auto rc = a.parse(argc, argv)) return *rc;
    config_path = a.get("config");
  } catch (std::invalid_argument const& e) {
    std::fprintf(stderr, "pinetboot-server: %s\n", e.what());
    return examples::exit_usage;
  }

  rlim_t const fd_limit = raise_nofile_limit();
  server::server_config cfg;
  try {
    cfg = server::load_config(config_path);
  } catch (server::config_error const& e) {
    std::fprintf(stderr, "%s\n", located(config_path, e).c_str());
    return 2;
  }
  if (a.has("check-config")) {
    std::printf("%s: OK\n%s", config_path.c_str(), server::describe(cfg).c_str());
    for (auto const& w : cfg.warnings)
      std::fprintf(stderr, "%s:%d: warning: %s\n", config_path.c_str(), w.line, w.text.c_str());
    if (auto w = descriptor_warning(cfg, fd_limit); !w.empty()) std::fprintf(stderr, "%s: %s\n", config_path.c_str(), w.c_str());
    return 0;
  }
  bool verbose = a.has("verbose");
  logger log{cfg.json_logs || a.has("json")};

  if (cfg.address.is_unspecified() && !cfg.interface.empty()) {
    if (auto addr = net::interface_address(cfg.interface)) cfg.address = *addr;
  }
  cfg.engine.server_address = cfg.address;

  auto leases = dhcp::lease_store::open({.path = cfg.dhcp == server::dhcp_mode::full ? cfg.lease_file : ""});
  if (!leases) {
    std::fprintf(stderr, "pinetboot-server: cannot open lease file %s: %s\n", cfg.lease_file.c_str(),
                 leases.error().message().c_str());
    return 1;
  }
  if (leases->recovery().discarded_bytes > 0)
    log.line(log_level::warning, "leases",
             {{"records", leases->recovery().records}, {"discarded_bytes", leases->recovery().discarded_bytes}},
             "lease journal: recovered " + std::to_string(leases->recovery().records) +
                 " records, cut a torn tail of " + std::to_string(leases->recovery().discarded_bytes) + " bytes");
  if (auto n = leases->recovery().stale_temporaries; n > 0)
    log.line(log_level::info, "leases", {{"stale_temporaries", n}},
             "lease journal: removed " + std::to_string(n) + " file(s) of a compaction interrupted before its rename");

  asio::io_context io;
  server::metrics m;
  shared_mac_lookup macs{*leases};
  boot_tracker boots{log, m, macs};
  boots.set_complete_files(cfg.boot_complete_files);
  // The per-board view: /status, the page, per-board metrics.
  server::status_feed fleet{{.max_unknown = cfg.unknown_boards, .stuck_after = cfg.stuck_after}};
  fleet.load(cfg.registry, cfg.tftp.root, cfg.boot_complete_files);

  dhcp::server_engine engine{cfg.engine, *leases};
  std::optional<net::dhcp_server> dhcp_srv;
  if (cfg.dhcp != server::dhcp_mode::off) {
    dhcp_srv.emplace(io, engine, *leases, cfg.dhcp_net, [&](auto const& ev) {
      boots.on_dhcp(ev, verbose);
      fleet.on_dhcp(ev);
    });
    if (auto ec = dhcp_srv->start()) {
      std::fprintf(stderr, "pinetboot-server: cannot listen for DHCP on port %u: %s\n", cfg.dhcp_net.port,
                   ec.message().c_str());
      return 1;
    }
  }
  std::optional<net::tftp_server> tftp_srv;
  if (cfg.tftp_enabled) {
    cfg.tftp.roots.lookup = &macs;
    tftp_srv.emplace(io, cfg.tftp, [&](auto const& r) {
      boots.on_tftp(r);
      fleet.on_tftp(r, macs.find(net::from_asio(r.client.address().to_v4())));
    });
    if (auto ec = tftp_srv->start()) {
      std::fprintf(stderr, "pinetboot-server: cannot serve TFTP from %s on port %u: %s\n", cfg.tftp.root.c_str(),
                   cfg.tftp.port, ec.message().c_str());
      return 1;
    }
    m.tftp_active = [&] { return tftp_srv->active_transfers(); };
  }
  server::http_endpoint metrics_http{io, [&] {
    fleet.on_timer();
    return server::http_documents{m.render() + fleet.render_metrics(), fleet.render_json()};
  }};
  if (!cfg.metrics_listen.empty()) {
    if (auto ec = metrics_http.start(cfg.metrics_listen)) {
      std::fprintf(stderr, "pinetboot-server: cannot serve metrics on %s: %s\n", cfg.metrics_listen.c_str(),
                   ec.message().c_str());
      return 1;
    }
  }
  std::string run_user;  // named in the warning below when privileges were dropped
  if (::geteuid() == 0 && !cfg.user.empty()) {
    if (auto ec = net::drop_privileges(cfg.user)) {
      std::fprintf(stderr, "pinetboot-server: cannot drop privileges to %s: %s\n", cfg.user.c_str(),
                   ec.message().c_str());
      return 1;
    }
    run_user = cfg.user;
  }
  log_start(log, config_path, cfg);
  if (cfg.tftp_enabled) {
    if (auto w = net::unreadable_root_warning(cfg.tftp.root, run_user); !w.empty())
      log.line(log_level::warning, "tftp", {{"warning", w}}, w);
  }
  // Every port is bound: tell systemd (Type=notify; a no-op without $NOTIFY_SOCKET).
  if (auto w = descriptor_warning(cfg, fd_limit); !w.empty())
    log.line(log_level::warning, "limits", {{"warning", w}}, w);
  (void)sd_notify(0, "READY=1\nSTATUS=serving");

  // Lease journal compaction runs inside commits on the DHCP side; its failures do not fail
  // the commit, so look for new ones here, log them with the likely cause, and count them.
  m.lease_compaction_failures = [&] { return leases->compaction_failures(); };
  if (cfg.dhcp == server::dhcp_mode::full) {
    // Rendered on this thread (http.hpp), like everything else that reads the engine.
    m.dhcp_pools = [&] {
      std::vector<server::metrics::pool> pools;
      auto const& subnets = engine.config().subnets;
      auto now = static_cast<std::int64_t>(std::time(nullptr));
      for (std::size_t i = 0; i < subnets.size(); ++i)
        pools.push_back({subnets[i].network.to_string() + "/" + std::to_string(subnets[i].prefix_length),
                         engine.usage(i, now)});
      return pools;
    };
  }
  asio::steady_timer housekeeping{io};
  std::uint64_t compaction_failures_seen = 0;
  std::function<void()> check_leases = [&] {
    if (auto n = leases->compaction_failures(); n > compaction_failures_seen) {
      compaction_failures_seen = n;
      auto why = leases->compaction_error().message();
      log.line(log_level::error, "leases", {{"error", why}, {"failures", n}},
               "lease journal compaction FAILED (" + std::to_string(n) + " so far): " + why + "; the journal " +
                   cfg.lease_file.string() + " keeps growing until its directory is writable by the run user");
    }
    housekeeping.expires_after(std::chrono::seconds(1));
    housekeeping.async_wait([&](std::error_code ec) {
      if (!ec) check_leases();
    });
  };
  if (cfg.dhcp == server::dhcp_mode::full) check_leases();

  // The watchdog ping comes from this event loop's own timer, so a wedged loop stops it.
  asio::steady_timer watchdog{io};
  std::uint64_t watchdog_usec = 0;
  std::function<void()> pet_watchdog = [&] {
    (void)sd_notify(0, "WATCHDOG=1");
    watchdog.expires_after(std::chrono::microseconds(watchdog_usec / 2));
    watchdog.async_wait([&](std::error_code ec) {
      if (!ec) pet_watchdog();
    });
  };
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) pet_watchdog();

  // SIGHUP: reload. Live transfers keep their settings; new requests use the new ones.
  asio::signal_set hup{io, SIGHUP};
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](std::error_code ec, int) {
      if (ec) return;
      ++m.reloads;
      notify_reloading();
      try {
        auto next = server::load_config(config_path);
        if (next.dhcp != cfg.dhcp || next.dhcp_net.port != cfg.dhcp_net.port || next.tftp.port != cfg.tftp.port ||
            next.interface != cfg.interface || next.tftp_enabled != cfg.tftp_enabled)
          log.line(log_level::warning, "reload", {{"restart_needed", true}},
                   "reload: DHCP mode, ports, interface and enabling TFTP need a restart; kept as they were");
        next.address = next.address.is_unspecified() ? cfg.address : next.address;
        next.engine.server_address = next.address;
        next.engine.mode = cfg.engine.mode;
        engine.reconfigure(next.engine);
        if (tftp_srv) {
          next.tftp.roots.lookup = &macs;
          if (auto e2 = tftp_srv->reconfigure(next.tftp)) throw server::config_error("tftp.root: " + e2.message(), 0);
        }
        boots.set_complete_files(next.boot_complete_files);
        fleet.load(next.registry, next.tftp.root, next.boot_complete_files);
        fleet.set_stuck_after(next.stuck_after);  // unknown_boards: at the next start
        log.set_json(next.json_logs || a.has("json"));
        log.line("reload",
                 {{"hosts", next.engine.hosts.size()},
                  {"transfers_kept", tftp_srv ? tftp_srv->active_transfers() : std::size_t{0}}},
                 "reload: configuration reloaded, " + std::to_string(next.engine.hosts.size()) + " host(s), " +
                     std::to_string(tftp_srv ? tftp_srv->active_transfers() : 0) + " live transfer(s) kept");
        cfg = std::move(next);
        (void)sd_notify(0, "READY=1\nSTATUS=serving (configuration reloaded)");
      } catch (std::exception const& e) {
        ++m.reload_failures;
        auto const* ce = dynamic_cast<server::config_error const*>(&e);
        std::string why = ce ? located(config_path, *ce) : config_path + ": " + e.what();
        log.line(log_level::error, "reload", {{"error", why}}, "reload FAILED, keeping the running configuration: " + why);
        (void)sd_notifyf(0, "READY=1\nSTATUS=reload failed, running the previous configuration: %s", why.c_str());
      }
      wait_hup();
    });
  };
  wait_hup();

  // SIGTERM/SIGINT: stop taking requests, let transfers finish within the grace period.
  asio::signal_set term{io, SIGINT, SIGTERM};
  asio::steady_timer drain{io};
  core::time_point deadline{};
  std::function<void()> check_drained = [&] {
    std::size_t live = tftp_srv ? tftp_srv->active_transfers() : 0;
    if (live == 0 || core::steady_clock::now() >= deadline) {
      if (live > 0) log.line(log_level::warning, "stop", {{"aborted", live}}, "aborting " + std::to_string(live) + " transfer(s)");
      if (tftp_srv) tftp_srv->stop();
      metrics_http.stop();
      hup.cancel();
      watchdog.cancel();
      housekeeping.cancel();
      // Let the aborts' ERROR packets and finish handlers run, then end.
      asio::post(io, [&] { io.stop(); });
      return;
    }
    drain.expires_after(std::chrono::milliseconds(100));
    drain.async_wait([&](std::error_code ec) {
      if (!ec) check_drained();
    });
  };
  term.async_wait([&](std::error_code ec, int sig) {
    if (ec) return;
    (void)sd_notify(0, "STOPPING=1");
    log.line("stop", {{"signal", sig}, {"transfers", tftp_srv ? tftp_srv->active_transfers() : std::size_t{0}}},
             "signal " + std::to_string(sig) + ": no new requests; " +
                 std::to_string(tftp_srv ? tftp_srv->active_transfers() : 0) + " transfer(s) finishing");
    if (dhcp_srv) dhcp_srv->stop();  // commits leases
    if (tftp_srv) tftp_srv->stop_accepting();
    deadline = core::steady_clock::now() + cfg.shutdown_grace;
    check_drained();
  });

  io.run();
  if (auto ec = leases->commit()) std::fprintf(stderr, "pinetboot-server: final lease commit failed: %s\n", ec.message().c_str());
  log.line("exit", {}, "pinetboot-server stopped");
  return 0;
}
