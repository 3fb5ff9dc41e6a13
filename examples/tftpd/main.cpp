// pinetboot-tftpd: the TFTP side of a netboot server as a standalone program.
//   pinetboot-tftpd --root /srv/tftp [--per-client mac] [--max-blksize 1468] [--max-window 64]
// RFC 1350 with option negotiation (2347), blksize (2348), timeout/tsize (2349) and windowsize
// (7440); adaptive retransmission timer and loss-adaptive windows; confined to --root.
// One log line per transfer: client, file, bytes, duration, retransmits, outcome.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <exception>
#include <string>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "../common/args.hpp"
#include "../common/log.hpp"
#include "pinetboot/net/neighbour_table.hpp"
#include "pinetboot/net/privileges.hpp"
#include "pinetboot/net/tftp_server.hpp"

namespace {

using namespace pinetboot;
using examples::timestamp;
using examples::usage_error;

void log_transfer(net::tftp_transfer_record const& r, bool verbose) {
  if (r.not_found && !verbose) {
    std::printf("%s tftp %s %s: not found\n", timestamp().c_str(), r.client.address().to_string().c_str(),
                r.file.c_str());
    std::fflush(stdout);
    return;
  }
  double secs = std::chrono::duration<double>(r.elapsed).count();
  double rate = secs > 0 ? static_cast<double>(r.bytes) / secs / 1e6 : 0;
  std::string outcome = !r.outcome ? "complete"
                        : r.outcome == tftp::errc::client_aborted ? "ended by client"
                                                                  : "FAILED: " + r.outcome.message();
  std::printf("%s tftp %s %s %s%s%s: %llu bytes in %.3f s (%.1f MB/s) blksize %u window %u retransmits %llu, %s\n",
              timestamp().c_str(), r.write ? "WRQ" : "RRQ", r.client.address().to_string().c_str(),
              r.file.c_str(), r.root.empty() ? "" : " root ", r.root.c_str(),
              static_cast<unsigned long long>(r.bytes), secs, rate, r.blksize, r.windowsize,
              static_cast<unsigned long long>(r.stats.retransmits), outcome.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  examples::args a{"pinetboot-tftpd",
                   "TFTP server for network boot: RFC 1350 + options (blksize, timeout, tsize, windowsize),\n"
                   "adaptive retransmission and loss-adaptive windows, confined to --root."};
  a.option("root", "DIR", "served directory (nothing outside it is ever read)")
      .option("listen", "ADDR", "local address", "0.0.0.0")
      .option("port", "N", "request port", "69")
      .option("interface", "IF", "bind to this interface (SO_BINDTODEVICE)")
      .option("per-client", "MODE",
              "per-client roots: shared | mac (dash or colon folder) | mac-dash | mac-colon | ip", "shared")
      .option("max-blksize", "N", "largest blksize granted (8..65464)", "1468")
      .option("max-window", "N", "largest windowsize granted (1..65535)", "64")
      .option("port-range", "A-B", "ports for transfers (default: ephemeral)")
      .flag("single-port", "answer every transfer from the listening port (batched I/O)")
      .option("max-transfers", "N", "simultaneous transfers", "4096")
      .option("max-per-client", "N", "simultaneous transfers per client address", "64")
      .option("rate", "N", "requests per second accepted (0 = unlimited)", "0")
      .option("idle-timeout", "SECONDS", "abort a transfer silent this long", "30")
      .option("retries", "N", "retransmissions before giving up", "8")
      .option("rollover", "0|1", "block number after 65535", "0")
      .option("strip-prefix", "PATH", "absolute prefix clients may send (e.g. /srv/tftp)")
      .flag("allow-write", "accept WRQ uploads (atomic: temp file renamed into place)")
      .option("write-root", "DIR", "writable area (default: --root)")
      .option("max-write-size", "BYTES", "largest upload", "67108864")
      .flag("overwrite", "uploads may replace existing files")
      .flag("no-options", "plain RFC 1350: never send an OACK")
      .flag("fixed-window", "send every window at once, never paced by measured loss")
      .flag("no-symlinks", "refuse every symbolic link")
      .option("user", "NAME", "drop root to this user after binding", "nobody")
      .flag("verbose", "log not-found probes in full");
  // Every argument is checked here, before a file or a socket is opened.
  net::tftp_server_options o;
  std::string mode, user;
  bool verbose = false;
  try {
    if (auto rc = a.parse(argc, argv)) return *rc;
    if (!a.has("root")) throw usage_error("--root DIR is required (the folder to serve)");
    o.root = a.get("root");
    o.listen_address = a.ipv4("listen");
    o.port = a.port("port", 0);
    o.interface = a.get("interface");
    mode = a.get("per-client");
    if (auto m = tftp::parse_root_mode(mode)) o.roots.mode = *m;
    else throw usage_error("--per-client: expected shared, mac, mac-dash, mac-colon or ip, got '" + mode + "'");
    static net::neighbour_table neighbours;
    if (o.roots.mode.needs_mac()) o.roots.lookup = &neighbours;
    o.roots.open.follow_symlinks = !a.has("no-symlinks");
    o.limits.negotiation.max_blksize = static_cast<std::uint16_t>(a.number("max-blksize", 8, 65464));
    o.limits.negotiation.max_windowsize = static_cast<std::uint16_t>(a.number("max-window", 1, 65535));
    o.limits.negotiation.enable_options = !a.has("no-options");
    o.limits.adaptive_window = !a.has("fixed-window");
    o.limits.max_retransmits = static_cast<unsigned>(a.number("retries", 1, 100));
    o.limits.block_rollover = a.number("rollover", 0, 1) == 0 ? tftp::rollover::to_zero : tftp::rollover::to_one;
    if (a.has("port-range")) {
      auto r = a.get("port-range");
      auto dash = r.find('-');
      if (dash == std::string::npos) throw usage_error("--port-range: expected FIRST-LAST, got '" + r + "'");
      auto first = examples::parse_number(r.substr(0, dash), 1, 65535, "--port-range first port");
      auto last = examples::parse_number(r.substr(dash + 1), 1, 65535, "--port-range last port");
      if (first > last) throw usage_error("--port-range: the first port must not exceed the last, got '" + r + "'");
      o.port_first = static_cast<std::uint16_t>(first);
      o.port_last = static_cast<std::uint16_t>(last);
    }
    o.max_transfers = static_cast<std::size_t>(a.number("max-transfers", 1, 1'000'000));
    o.max_per_client = static_cast<std::size_t>(a.number("max-per-client", 1, 1'000'000));
    o.requests_per_second = static_cast<double>(a.number("rate", 0, 10'000'000));
    o.limits.idle_timeout = std::chrono::seconds(a.number("idle-timeout", 1, 86400));
    static std::string strip;
    strip = a.get("strip-prefix");
    o.paths.strip_prefix = strip;
    o.allow_write = a.has("allow-write");
    o.write_root = a.get("write-root");
    o.max_write_size = static_cast<std::uint64_t>(a.number("max-write-size", 0, 1LL << 40));
    o.write_overwrite = a.has("overwrite");
    o.socket_buffer = 1 << 20;
    o.single_port = a.has("single-port");
    if (o.single_port && a.has("port-range"))
      throw usage_error("--port-range has no use with --single-port (every transfer uses the listening port)");
    for (auto const* w : {"write-root", "max-write-size", "overwrite"})
      if (!o.allow_write && a.has(w))
        throw usage_error(std::string{"--"} + w + " has no use without --allow-write");
    user = a.get("user");
    verbose = a.has("verbose");
  } catch (std::invalid_argument const& e) {
    std::fprintf(stderr, "pinetboot-tftpd: %s\n", e.what());
    return examples::exit_usage;
  }

  try {
    asio::io_context io;
    net::tftp_server server{io, o, [verbose](auto const& r) { log_transfer(r, verbose); }};
    if (auto ec = server.start()) {
      std::fprintf(stderr, "pinetboot-tftpd: cannot serve %s on port %u: %s\n", o.root.c_str(), o.port,
                   ec.message().c_str());
      return 1;
    }
    bool dropped = false;
    if (::geteuid() == 0 && !user.empty()) {
      if (auto ec = net::drop_privileges(user)) {
        std::fprintf(stderr, "pinetboot-tftpd: cannot drop privileges to %s: %s\n", user.c_str(),
                     ec.message().c_str());
        return 1;
      }
      dropped = true;
    }
    if (auto w = net::unreadable_root_warning(o.root, dropped ? user : std::string{}); !w.empty())
      std::fprintf(stderr, "pinetboot-tftpd: warning: %s\n", w.c_str());
    std::printf("%s pinetboot-tftpd: serving %s on %s:%u (per-client %s, blksize <= %u, window <= %u)\n",
                timestamp().c_str(), o.root.c_str(), o.listen_address.to_string().c_str(),
                static_cast<unsigned>(server.bound_port()), mode.c_str(), o.limits.negotiation.max_blksize,
                o.limits.negotiation.max_windowsize);
    std::fflush(stdout);
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](std::error_code, int) {
      server.stop();
      io.stop();
    });
    io.run();
    auto const& s = server.stats();
    std::printf("pinetboot-tftpd: %llu requests, %llu complete, %llu ended by client, %llu not found, %llu failed\n",
                static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.completed),
                static_cast<unsigned long long>(s.aborted_by_client), static_cast<unsigned long long>(s.not_found),
                static_cast<unsigned long long>(s.failed));
    return 0;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pinetboot-tftpd: %s\n", e.what());
    return 2;
  }
}
