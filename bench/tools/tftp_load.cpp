// pinetboot-tftp-load: many simultaneous TFTP downloads from one process, for load tests of a
// server (bench/tftp_concurrency.sh). Each transfer is a tftp::client_reader on its own UDP
// socket; one thread drives them all with epoll and a deadline scan. The bytes are not stored:
// each transfer hashes what it receives (FNV-1a 64, in offset order) and the hash is compared
// with the hash of the local copy given by --expect.
//
//   pinetboot-tftp-load --server ADDR [--port 69] --file NAME --clients N [--blksize 1024]
//                       [--window 1] [--expect LOCAL_FILE] [--timeout SECONDS] [--ramp-ms MS]
//                       [--ready-file F]
//
// Prints one summary line per phase and exits 0 only if every transfer completed with the
// expected size and hash. With --ready-file, the file is created once every transfer has
// received its first block (all N are live at the same time from then on, for a lockstep
// client at least until its last block).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pinetboot/core/time.hpp"
#include "pinetboot/tftp/client_session.hpp"

namespace {

using namespace pinetboot;

constexpr std::uint64_t fnv_offset = 14695981039346656037ULL;
constexpr std::uint64_t fnv_prime = 1099511628211ULL;

std::uint64_t fnv(std::uint64_t h, std::span<const std::byte> in) noexcept {
  for (auto b : in) {
    h ^= std::to_integer<std::uint64_t>(b);
    h *= fnv_prime;
  }
  return h;
}

/// A block_sink that keeps only a running hash; data must arrive in offset order.
class hash_sink {
 public:
  [[nodiscard]] result<std::size_t> write_at(std::uint64_t off, std::span<const std::byte> in) noexcept {
    if (off != size_) return tftp::errc::io_error;
    hash_ = fnv(hash_, in);
    size_ += in.size();
    return in.size();
  }
  [[nodiscard]] std::error_code commit() noexcept {
    committed_ = true;
    return {};
  }
  void abort() noexcept { aborted_ = true; }
  [[nodiscard]] std::uint64_t hash() const noexcept { return hash_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] bool committed() const noexcept { return committed_; }

 private:
  std::uint64_t hash_ = fnv_offset;
  std::uint64_t size_ = 0;
  bool committed_ = false;
  bool aborted_ = false;
};
static_assert(tftp::block_sink<hash_sink>);

struct transfer {
  hash_sink sink;
  std::optional<tftp::client_reader<hash_sink>> engine;
  int fd = -1;
  sockaddr_in peer{};  // request port until the first answer, then the server's TID
  bool connected = false;
  bool finished = false;
  bool first_block = false;
  core::time_point started{}, ended{};
};

[[noreturn]] void die(char const* what) {
  std::perror(what);
  std::exit(2);
}

struct args {
  std::string server, file, expect, ready_file;
  std::uint16_t port = 69, blksize = 1024, window = 1;
  unsigned clients = 100, timeout_s = 120, ramp_ms = 0;
};

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto v = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--server")
      a.server = v();
    else if (k == "--port")
      a.port = static_cast<std::uint16_t>(std::stoul(v()));
    else if (k == "--file")
      a.file = v();
    else if (k == "--clients")
      a.clients = static_cast<unsigned>(std::stoul(v()));
    else if (k == "--blksize")
      a.blksize = static_cast<std::uint16_t>(std::stoul(v()));
    else if (k == "--window")
      a.window = static_cast<std::uint16_t>(std::stoul(v()));
    else if (k == "--expect")
      a.expect = v();
    else if (k == "--timeout")
      a.timeout_s = static_cast<unsigned>(std::stoul(v()));
    else if (k == "--ramp-ms")
      a.ramp_ms = static_cast<unsigned>(std::stoul(v()));
    else if (k == "--ready-file")
      a.ready_file = v();
    else {
      std::fprintf(
          stderr,
          "usage: %s --server ADDR [--port 69] --file NAME --clients N [--blksize 1024] [--window 1]\n"
          "          [--expect LOCAL_FILE] [--timeout S] [--ramp-ms MS] [--ready-file F]\n",
          argv[0]);
      std::exit(2);
    }
  }
  if (a.server.empty() || a.file.empty() || a.clients == 0) {
    std::fprintf(stderr, "--server, --file and --clients are required\n");
    std::exit(2);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  args a = parse(argc, argv);

  std::optional<std::uint64_t> want_hash, want_size;
  if (!a.expect.empty()) {
    std::ifstream in{a.expect, std::ios::binary};
    if (!in) die(a.expect.c_str());
    std::vector<char> buf(1 << 20);
    std::uint64_t h = fnv_offset, n = 0;
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      auto got = static_cast<std::size_t>(in.gcount());
      h = fnv(h, std::as_bytes(std::span{buf.data(), got}));
      n += got;
    }
    want_hash = h;
    want_size = n;
  }

  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < a.clients + 64) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, a.clients + 64);
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }

  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(a.port);
  if (::inet_pton(AF_INET, a.server.c_str(), &server.sin_addr) != 1) {
    std::fprintf(stderr, "bad --server %s\n", a.server.c_str());
    return 2;
  }

  tftp::client_config cfg;
  cfg.options.blksize = a.blksize;
  cfg.options.tsize = true;
  if (a.window > 1) cfg.options.windowsize = a.window;
  cfg.limits.max_retransmits = 10;

  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  std::vector<std::unique_ptr<transfer>> ts;
  ts.reserve(a.clients);
  std::vector<std::byte> tx(std::size_t{a.blksize} + 4 < 1024 ? 1024 : std::size_t{a.blksize} + 4);
  std::vector<std::byte> rx(std::size_t{a.blksize} + 4 + 1);

  auto flush = [&](transfer& t, core::time_point now) {
    for (;;) {
      auto n = t.engine->poll_transmit(tx, now);
      if (!n || *n == 0) break;
      ::sendto(t.fd, tx.data(), *n, 0, reinterpret_cast<sockaddr const*>(&t.peer), sizeof t.peer);
    }
    if (t.engine->is_done() && !t.finished) {
      t.finished = true;
      t.ended = now;
      ::epoll_ctl(ep, EPOLL_CTL_DEL, t.fd, nullptr);
      ::close(t.fd);
      t.fd = -1;
    }
  };

  auto const t_start = core::steady_clock::now();
  auto const give_up = t_start + std::chrono::seconds{a.timeout_s};
  unsigned started = 0, finished = 0, live_first = 0;
  bool ready_written = false;
  std::array<epoll_event, 256> events{};
  auto next_scan = t_start;

  while (finished < a.clients) {
    auto now = core::steady_clock::now();
    if (now > give_up) break;
    // Start transfers (all at once, or spread over --ramp-ms).
    while (started < a.clients) {
      if (a.ramp_ms != 0) {
        auto due = t_start + std::chrono::milliseconds{a.ramp_ms} * started / a.clients;
        if (due > now) break;
      }
      auto t = std::make_unique<transfer>();
      t->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (t->fd < 0) die("socket");
      int rcv = 256 * 1024;
      ::setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
      sockaddr_in any{};
      any.sin_family = AF_INET;
      if (::bind(t->fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) die("bind");
      t->peer = server;
      t->started = now;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = t.get();
      if (::epoll_ctl(ep, EPOLL_CTL_ADD, t->fd, &ev) != 0) die("epoll_ctl");
      t->engine.emplace(t->sink, cfg, a.file);
      flush(*t, now);
      ts.push_back(std::move(t));
      ++started;
    }
    // Timers: scan at most every millisecond.
    if (now >= next_scan) {
      for (auto& t : ts) {
        if (t->finished) continue;
        if (auto d = t->engine->next_deadline(); d && *d <= now) {
          t->engine->on_timer(now);
          flush(*t, now);
          if (t->finished) ++finished;
        }
      }
      next_scan = now + std::chrono::milliseconds{1};
    }
    int wait_ms = started < a.clients && a.ramp_ms != 0 ? 0 : 1;
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), wait_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    now = core::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      auto* t = static_cast<transfer*>(events[static_cast<std::size_t>(i)].data.ptr);
      for (int burst = 0; burst < 64 && !t->finished; ++burst) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        auto got = ::recvfrom(t->fd, rx.data(), rx.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (got < 0) break;
        if (from.sin_addr.s_addr != server.sin_addr.s_addr) continue;
        if (!t->connected) {
          t->peer.sin_port = from.sin_port;  // the server's TID (RFC 1350 section 4)
          t->connected = true;
        } else if (from.sin_port != t->peer.sin_port) {
          continue;  // another TID: ignore
        }
        t->engine->on_datagram(std::span<const std::byte>{rx.data(), static_cast<std::size_t>(got)}, now);
        if (!t->first_block && t->sink.size() > 0) {
          t->first_block = true;
          ++live_first;
        }
        flush(*t, now);
        if (t->finished) ++finished;
      }
    }
    if (!ready_written && !a.ready_file.empty() && live_first == a.clients) {
      std::ofstream{a.ready_file} << "ready\n";
      ready_written = true;
    }
  }
  auto const t_end = core::steady_clock::now();

  unsigned ok = 0, bad_hash = 0, failed = 0, unfinished = 0;
  std::vector<double> secs;
  std::uint64_t bytes = 0;
  for (auto& t : ts) {
    if (!t->finished) {
      ++unfinished;
      continue;
    }
    bool good = !t->engine->close_reason() && t->sink.committed();
    if (good && want_hash && (t->sink.hash() != *want_hash || t->sink.size() != *want_size)) {
      ++bad_hash;
      continue;
    }
    if (!good) {
      if (failed < 5)
        std::fprintf(stderr, "transfer failed: %s after %llu bytes\n",
                     t->engine->close_reason().message().c_str(),
                     static_cast<unsigned long long>(t->sink.size()));
      ++failed;
      continue;
    }
    ++ok;
    bytes += t->sink.size();
    secs.push_back(std::chrono::duration<double>(t->ended - t->started).count());
  }
  unfinished += a.clients - started;
  std::sort(secs.begin(), secs.end());
  auto pct = [&](double p) {
    return secs.empty() ? 0.0 : secs[static_cast<std::size_t>(p * static_cast<double>(secs.size() - 1))];
  };
  double wall = std::chrono::duration<double>(t_end - t_start).count();
  std::printf(
      "clients %u ok %u failed %u bad_checksum %u unfinished %u | wall %.2f s, %.1f MB/s total | per "
      "transfer "
      "s: min %.2f median %.2f p99 %.2f max %.2f\n",
      a.clients, ok, failed, bad_hash, unfinished, wall, static_cast<double>(bytes) / wall / 1e6, pct(0),
      pct(0.5), pct(0.99), pct(1));
  return ok == a.clients ? 0 : 1;
}
