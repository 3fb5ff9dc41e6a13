// pinetboot-impair: a user-space link impairment between two TAP devices, because this
// kernel has no sch_netem. It creates two TAP interfaces in the current network namespace
// (the caller moves them where they belong with `ip link set NAME netns NS`) and forwards
// Ethernet frames between them with seeded loss, duplication, delay and reordering.
//
//   pinetboot-impair --a NAME --b NAME [--loss P] [--dup P] [--reorder P] [--delay-ms D]
//                    [--reorder-extra-ms R] [--seed N] [--duration S] [--ready-file F]
//
// Probabilities are in [0,1] and apply per frame and per direction. A reordered frame is held
// back for R extra milliseconds (default: 2*D + 1) so later frames overtake it. The program
// exits after --duration seconds (default 600) or on SIGTERM/SIGINT, and prints counters.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void on_signal(int /*sig*/) { g_stop = true; }

int open_tap(std::string const& name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    std::perror("open /dev/net/tun");
    std::exit(2);
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    std::perror("TUNSETIFF");
    std::exit(2);
  }
  return fd;
}

struct frame {
  steady::time_point due;
  std::uint64_t seq;
  int out_fd;
  std::vector<unsigned char> bytes;
  bool operator>(frame const& o) const { return due != o.due ? due > o.due : seq > o.seq; }
};

double arg_double(char const* v) { return std::strtod(v, nullptr); }

}  // namespace

int main(int argc, char** argv) {
  std::string a, b, ready_file;
  double loss = 0, dup = 0, reorder = 0, delay_ms = 0, reorder_extra_ms = -1, duration = 600;
  unsigned long seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    char const* v = argv[i + 1];
    if (k == "--a") a = v;
    else if (k == "--b") b = v;
    else if (k == "--loss") loss = arg_double(v);
    else if (k == "--dup") dup = arg_double(v);
    else if (k == "--reorder") reorder = arg_double(v);
    else if (k == "--delay-ms") delay_ms = arg_double(v);
    else if (k == "--reorder-extra-ms") reorder_extra_ms = arg_double(v);
    else if (k == "--seed") seed = std::strtoul(v, nullptr, 10);
    else if (k == "--duration") duration = arg_double(v);
    else if (k == "--ready-file") ready_file = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 1;
    }
  }
  if (a.empty() || b.empty()) {
    std::fprintf(stderr, "usage: %s --a TAP --b TAP [--loss P] [--dup P] [--reorder P] [--delay-ms D] ...\n", argv[0]);
    return 1;
  }
  if (reorder_extra_ms < 0) reorder_extra_ms = 2 * delay_ms + 1;

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::array<int, 2> fds{open_tap(a), open_tap(b)};
  if (!ready_file.empty()) std::ofstream{ready_file} << "ready\n";

  std::mt19937_64 rng{seed};
  std::uniform_real_distribution<double> uni{0.0, 1.0};
  std::priority_queue<frame, std::vector<frame>, std::greater<>> queue;
  std::uint64_t seq = 0, forwarded = 0, dropped = 0, duplicated = 0, reordered = 0;
  auto const end = steady::now() + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(duration));
  auto const delay = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double, std::milli>(delay_ms));
  auto const extra = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double, std::milli>(reorder_extra_ms));
  std::vector<unsigned char> buf(65536);

  while (!g_stop && steady::now() < end) {
    auto now = steady::now();
    while (!queue.empty() && queue.top().due <= now) {
      auto const& f = queue.top();
      if (::write(f.out_fd, f.bytes.data(), f.bytes.size()) >= 0) ++forwarded;
      queue.pop();
    }
    // Sleep exactly until the next frame is due (ppoll has nanosecond resolution); poll's
    // millisecond timeout would either spin or add up to a millisecond of extra delay.
    timespec ts{0, 100'000'000};
    if (!queue.empty()) {
      auto w = std::max<long long>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(queue.top().due - now).count());
      ts = {static_cast<time_t>(w / 1'000'000'000), static_cast<long>(w % 1'000'000'000)};
    }
    std::array<pollfd, 2> p{pollfd{fds[0], POLLIN, 0}, pollfd{fds[1], POLLIN, 0}};
    int n = ::ppoll(p.data(), p.size(), &ts, nullptr);
    if (n < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < 2; ++i) {
      if ((p[i].revents & POLLIN) == 0) continue;
      for (int burst = 0; burst < 64; ++burst) {
        ssize_t len = ::read(fds[i], buf.data(), buf.size());
        if (len <= 0) break;
        int out = fds[1 - i];
        if (uni(rng) < loss) {
          ++dropped;
          continue;
        }
        int copies = uni(rng) < dup ? 2 : 1;
        duplicated += static_cast<std::uint64_t>(copies - 1);
        for (int c = 0; c < copies; ++c) {
          auto due = steady::now() + delay;
          if (uni(rng) < reorder) {
            due += extra;
            ++reordered;
          }
          if (delay.count() == 0 && due <= steady::now()) {
            if (::write(out, buf.data(), static_cast<std::size_t>(len)) >= 0) ++forwarded;
            continue;
          }
          queue.push(frame{due, seq++, out, std::vector<unsigned char>(buf.begin(), buf.begin() + len)});
        }
      }
    }
  }
  std::fprintf(stderr, "impair: forwarded %llu dropped %llu duplicated %llu reordered %llu\n",
               static_cast<unsigned long long>(forwarded), static_cast<unsigned long long>(dropped),
               static_cast<unsigned long long>(duplicated), static_cast<unsigned long long>(reordered));
  return 0;
}
