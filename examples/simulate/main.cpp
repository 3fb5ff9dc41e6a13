// pinetboot-simulate: boots a fleet of simulated Raspberry Pi boards against a netboot server.
//
//   pinetboot-simulate --interface eth0 --count 200 --generation mix [--json] [-v]
//
// Each board does its generation's DHCP (dhcp::pi_client) and then the TFTP file sequence of
// shared/spec/raspberry-pi-netboot.md 4.3 (tftp::pi_boot_sequence), all in one thread. Exit 0
// only if every board booted (received its kernel). Needs root (port 68, SO_BINDTODEVICE).
#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "../common/args.hpp"
#include "pinetboot/net/fleet.hpp"

namespace {

using namespace pinetboot;
using examples::args;

int run(int argc, char** argv) {
  // "-v" is accepted as an alias of --verbose.
  std::vector<char*> argv2;
  for (int i = 0; i < argc; ++i) {
    static char verbose[] = "--verbose";
    argv2.push_back(std::string_view{argv[i]} == "-v" ? verbose : argv[i]);
  }
  args a{"pinetboot-simulate",
         "Boots N simulated Raspberry Pi boards at once (DHCP, then the per-generation TFTP file\n"
         "sequence with the Pi's options, probes and per-serial prefix) and reports per-board phases\n"
         "and time-to-boot percentiles. Exit 0 only if every board booted.\n"
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
      .option("seed", "N", "seed of the Pi 4/5 DHCP xids", "1")
      .flag("broadcast-flag", "set the BOOTP broadcast flag (default on)")
      .flag("no-broadcast-flag", "leave the broadcast flag clear (replies must reach the shared MAC)")
      .flag("json", "print the report as JSON")
      .flag("verbose", "one line per board (also -v)");
  a.parse(static_cast<int>(argv2.size()), argv2.data());

  net::fleet_config cfg;
  if (!a.has("interface")) throw std::invalid_argument("--interface is required");
  cfg.interface = a.get("interface");
  cfg.count = static_cast<std::size_t>(a.number("count", 1, 100000));
  auto mix = net::parse_fleet_mix(a.get("generation"));
  if (!mix) throw std::invalid_argument("--generation: expected pi3, pi4, pi5 or mix");
  cfg.generation = *mix;
  if (a.has("mac-base")) {
    auto m = core::mac_address::parse(a.get("mac-base"));
    if (!m) throw std::invalid_argument("--mac-base: not a MAC address");
    cfg.mac_base = *m;
  }
  {
    auto text = a.get("serial-base");
    char* end = nullptr;
    unsigned long v = std::strtoul(text.c_str(), &end, 16);
    if (text.empty() || *end != '\0' || v > 0xffffffffUL)
      throw std::invalid_argument("--serial-base: expected hex");
    cfg.serial_base = static_cast<std::uint32_t>(v);
  }
  if (a.has("tftp-server")) {
    auto ip = core::ipv4_address::parse(a.get("tftp-server"));
    if (!ip) throw std::invalid_argument("--tftp-server: not an IPv4 address");
    cfg.tftp_server = *ip;
  }
  cfg.concurrency = static_cast<std::size_t>(a.number("concurrency", 0, 100000));
  cfg.timeout = std::chrono::seconds{a.number("timeout", 1, 86400)};
  cfg.dhcp_retry = std::chrono::milliseconds{a.number("dhcp-retry-ms", 0, 60000)};
  cfg.tftp_rto = std::chrono::milliseconds{a.number("tftp-rto-ms", 10, 60000)};
  cfg.broadcast_flag = !a.has("no-broadcast-flag");
  cfg.seed = static_cast<std::uint64_t>(a.number("seed", 0, 0x7fffffffL));

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
