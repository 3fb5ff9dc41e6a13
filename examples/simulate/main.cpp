// pinetboot-simulate: boots a fleet of simulated Raspberry Pi boards against a netboot server.
//
//   pinetboot-simulate --interface eth0 --count 200 --generation mix [--json] [-v]
//
// Each board does its generation's DHCP (dhcp::pi_client) and then the TFTP file sequence of
// shared/spec/raspberry-pi-netboot.md 4.3 (tftp::pi_boot_sequence), all in one thread. Exit 0
// only if every board booted (received its kernel). Needs root (port 68, SO_BINDTODEVICE).
#include <sys/resource.h>

#include <charconv>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "../common/args.hpp"
#include "pinetboot/sim/fleet.hpp"

namespace {

using namespace pinetboot;
using examples::args;
using examples::usage_error;

int run(int argc, char** argv) {
  args a{"pinetboot-simulate",
         "Boots N simulated Raspberry Pi boards at once (DHCP, then the per-generation TFTP file\n"
         "sequence with the Pi's options, probes and per-serial prefix) and reports per-board phases\n"
         "and time-to-boot percentiles. Exit 0 only if every board booted; 1 if one did not or the\n"
         "command line is wrong; 2 if the fleet could not be started.\n"
         "Deviation: the boards share the interface's MAC, so the DHCP requests carry the broadcast\n"
         "flag by default (--no-broadcast-flag to clear it)."};
  a.option("interface", "IF", "interface to boot on (required)")
      .option("count", "N", "number of boards", "1")
      .option("generation", "pi4|pi3|pi5|mix", "board generation(s)", "pi4")
      .option("mac-base", "MAC",
              "MAC of board 0 (default: per generation b8:27:eb / dc:a6:32 / 2c:cf:67:00:00:00)")
      .option("serial-base", "HEX", "serial of board 0", "0x10000000")
      .option("tftp-server", "ADDR", "TFTP server (default: from DHCP)")
      .option("concurrency", "N", "boards booting at once (0 = all)", "0")
      .option("timeout", "S", "give up on unfinished boards after S seconds", "120")
      .option("dhcp-retry-ms", "MS", "DHCP retransmission interval (0 = the Pi's: 4 s, Pi 3 5 s)", "0")
      .option("tftp-rto-ms", "MS", "TFTP retransmission timeout (the Pi 4 re-sends an RRQ every 2 s)", "2000")
      .option("seed", "N", "seed of the Pi 4/5 DHCP xids and of the ACK delays", "1")
      .option("ack-delay-ms", "MIN-MAX",
              "slow, jittery clients: handle (and ACK) each TFTP datagram after a delay drawn "
              "from MIN..MAX ms, e.g. 0.1-50")
      .flag("broadcast-flag", "set the BOOTP broadcast flag (default on)")
      .flag("no-broadcast-flag", "leave the broadcast flag clear (replies must reach the shared MAC)")
      .flag("tftp-from-lease", "send each board's TFTP from its DHCP address (it must be local: see README)")
      .flag("json", "print the report as JSON")
      .flag("verbose", "one line per board")
      .alias('v', "verbose");

  // Every argument is checked here, before a socket is opened.
  net::fleet_config cfg;
  try {
    if (auto rc = a.parse(argc, argv)) return *rc;
    if (!a.has("interface")) throw usage_error("--interface IF is required (the interface to boot the boards on)");
    cfg.interface = a.get("interface");
    cfg.count = static_cast<std::size_t>(a.number("count", 1, 100000));
    auto mix = net::parse_fleet_mix(a.get("generation"));
    if (!mix) throw usage_error("--generation: expected pi3, pi4, pi5 or mix, got '" + a.get("generation") + "'");
    cfg.generation = *mix;
    if (a.has("mac-base")) {
      auto m = core::mac_address::parse(a.get("mac-base"));
      if (!m)
        throw usage_error("--mac-base: expected a MAC address like dc:a6:32:00:00:00, got '" + a.get("mac-base") +
                          "'");
      cfg.mac_base = *m;
    }
    {
      auto text = a.get("serial-base");
      std::string_view digits{text};
      if (digits.substr(0, 2) == "0x" || digits.substr(0, 2) == "0X") digits.remove_prefix(2);
      std::uint32_t v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 16);
      if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
        throw usage_error("--serial-base: expected up to 8 hex digits like 0x10000000, got '" + text + "'");
      cfg.serial_base = v;
    }
    if (a.has("tftp-server")) cfg.tftp_server = a.ipv4("tftp-server");
    cfg.concurrency = static_cast<std::size_t>(a.number("concurrency", 0, 100000));
    cfg.timeout = std::chrono::seconds{a.number("timeout", 1, 86400)};
    cfg.dhcp_retry = std::chrono::milliseconds{a.number("dhcp-retry-ms", 0, 60000)};
    cfg.tftp_rto = std::chrono::milliseconds{a.number("tftp-rto-ms", 10, 60000)};
    if (a.has("broadcast-flag") && a.has("no-broadcast-flag"))
      throw usage_error("--broadcast-flag and --no-broadcast-flag contradict each other; give one");
    cfg.broadcast_flag = !a.has("no-broadcast-flag");
    cfg.tftp_from_lease = a.has("tftp-from-lease");
    cfg.seed = static_cast<std::uint64_t>(a.number("seed", 0, 0x7fffffffL));
    if (a.has("ack-delay-ms")) {
      auto text = a.get("ack-delay-ms");
      auto dash = text.find('-');
      double lo = -1, hi = -1;
      auto whole = [](std::string_view t, double& v) {
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        return !t.empty() && ec == std::errc{} && end == t.data() + t.size();
      };
      if (dash == std::string::npos || !whole(std::string_view{text}.substr(0, dash), lo) ||
          !whole(std::string_view{text}.substr(dash + 1), hi) || lo < 0 || hi < lo || hi > 10000)
        throw usage_error("--ack-delay-ms: expected MIN-MAX in milliseconds (0 <= MIN <= MAX <= 10000), e.g. "
                          "0.1-50, got '" + text + "'");
      cfg.ack_delay_min = std::chrono::microseconds{static_cast<std::int64_t>(lo * 1000)};
      cfg.ack_delay_max = std::chrono::microseconds{static_cast<std::int64_t>(hi * 1000)};
    }
  } catch (std::invalid_argument const& e) {
    std::fprintf(stderr, "pinetboot-simulate: %s\n", e.what());
    return examples::exit_usage;
  }

  // One socket per booting board: lift the soft descriptor limit (1024 by default) to the hard one.
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
  auto rep = net::run_fleet(cfg);
  if (!rep) {
    std::fprintf(stderr, "pinetboot-simulate: %s\n", rep.error().message().c_str());
    return 2;
  }
  auto text = a.has("json") ? net::to_json(*rep) : net::to_text(*rep, a.has("verbose"));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return rep->summary.failed == 0 && rep->summary.booted == cfg.count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pinetboot-simulate: %s\n", e.what());
    return 2;
  }
}
