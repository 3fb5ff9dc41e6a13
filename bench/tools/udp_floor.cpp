// pinetboot-udp-floor: the cost floor of a lockstep TFTP server on a link, for
// bench/fleet_compare.sh. The server answers every 4-byte "ACK" with a 1028-byte "DATA" straight
// from memory (no file, no session, no timers): what a server pays per block for the system
// calls and the kernel's UDP path alone. The client runs many lockstep flows at once, each from
// its own address, as a booting fleet does.
//
//   pinetboot-udp-floor server --bind ADDR [--port 6969] [--mode per-flow|single]
//                              [--idle-ms 2000] [--duration 600]
//   pinetboot-udp-floor client --server ADDR [--port 6969] --flows N --rounds K
//                              [--source-base A.B.C.D] [--timeout 120]
//
// per-flow: the first datagram of a peer gets a socket of its own (connected, an ephemeral port,
// as a TFTP transfer's TID), all of them in one epoll set: one epoll_wait, then one recv and one
// send per ready flow (the socket-per-transfer server's pattern). single: every flow on the one
// socket, batched with recvmmsg/sendmmsg (the single-port server's pattern).
// The server ends when no datagram came for --idle-ms after the first one (or after --duration)
// and prints "exchanges=N cpu_s=S us_per_exchange=U" (getrusage: user + system time).
// The client flow i sends from --source-base + i (10.77.1.1, 10.77.1.2, ...: each address must be
// local in the client's namespace), repeats a lost ACK after 200 ms, and prints
// "flows=N rounds=K exchanges=E resent=R wall_s=W"; it exits 1 when a flow did not finish
// before --timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t kData = 4 + 1024;
constexpr int kMaxFlows = 4000;

[[noreturn]] void usage(std::string_view why) {
  std::fprintf(stderr,
               "pinetboot-udp-floor: %.*s\n"
               "usage: pinetboot-udp-floor server --bind ADDR [--port P] [--mode per-flow|single] "
               "[--idle-ms MS] [--duration S]\n"
               "       pinetboot-udp-floor client --server ADDR [--port P] --flows N --rounds K "
               "[--source-base ADDR] [--timeout S]\n",
               static_cast<int>(why.size()), why.data());
  std::exit(2);
}

in_addr parse_ipv4(std::string const& name, std::string const& v) {
  in_addr a{};
  if (::inet_pton(AF_INET, v.c_str(), &a) != 1) usage(name + " wants an IPv4 address, not '" + v + "'");
  return a;
}

long parse_count(std::string const& name, std::string const& v, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(v.c_str(), &end, 10);
  if (errno != 0 || end == v.c_str() || *end != '\0' || n < lo || n > hi)
    usage(name + " wants a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", not '" + v + "'");
  return n;
}

sockaddr_in endpoint(in_addr a, std::uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_addr = a;
  s.sin_port = htons(port);
  return s;
}

int udp_socket() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("pinetboot-udp-floor: socket");
    std::exit(1);
  }
  return fd;
}

void bind_or_die(int fd, sockaddr_in const& s) {
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr const*>(&s), sizeof s) != 0) {
    char a[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &s.sin_addr, a, sizeof a);
    std::fprintf(stderr, "pinetboot-udp-floor: bind %s:%u: %s\n", a, ntohs(s.sin_port), std::strerror(errno));
    std::exit(1);
  }
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto tv = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

/// The DATA answer to an ACK of block n: opcode 3, block n + 1, 1024 bytes.
void fill_data(std::array<unsigned char, kData>& d, unsigned char const* ack) {
  unsigned block = (static_cast<unsigned>(ack[2]) << 8U | ack[3]) + 1U;
  d[0] = 0;
  d[1] = 3;
  d[2] = static_cast<unsigned char>(block >> 8U);
  d[3] = static_cast<unsigned char>(block);
}

struct server_config {
  in_addr bind{};
  std::uint16_t port = 6969;
  bool single = false;
  int idle_ms = 2000;
  int duration_s = 600;
};

int run_server(server_config const& c) {
  int listen_fd = udp_socket();
  int big = 4 << 20;
  ::setsockopt(listen_fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  bind_or_die(listen_fd, endpoint(c.bind, c.port));
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);

  std::array<unsigned char, kData> data{};
  std::memset(data.data() + 4, 'x', kData - 4);
  std::map<std::uint64_t, int> flows;  // peer (address, port) -> its socket, per-flow mode
  std::uint64_t exchanges = 0;
  double cpu0 = cpu_seconds();
  auto start = clock_type::now();
  auto last = start;
  bool heard = false;
  constexpr unsigned kBatch = 64;
  std::array<mmsghdr, kBatch> in{}, out{};
  std::array<iovec, kBatch> in_iov{}, out_iov{};
  std::array<sockaddr_in, kBatch> from{};
  std::array<std::array<unsigned char, 64>, kBatch> rx{};
  std::array<std::array<unsigned char, kData>, kBatch> tx{};
  std::array<epoll_event, 256> events{};
  for (;;) {
    auto now = clock_type::now();
    if (now - start > std::chrono::seconds{c.duration_s}) break;
    if (heard && now - last > std::chrono::milliseconds{c.idle_ms}) break;
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) {
      std::perror("pinetboot-udp-floor: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == listen_fd) {
        for (unsigned k = 0; k < kBatch; ++k) {
          in_iov[k] = {rx[k].data(), rx[k].size()};
          in[k].msg_hdr = {};
          in[k].msg_hdr.msg_iov = &in_iov[k];
          in[k].msg_hdr.msg_iovlen = 1;
          in[k].msg_hdr.msg_name = &from[k];
          in[k].msg_hdr.msg_namelen = sizeof from[k];
        }
        int got = ::recvmmsg(listen_fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) continue;
        heard = true;
        last = clock_type::now();
        unsigned sends = 0;
        for (unsigned k = 0; k < static_cast<unsigned>(got); ++k) {
          if (in[k].msg_len < 4) continue;
          ++exchanges;
          if (c.single) {
            tx[sends] = data;
            fill_data(tx[sends], rx[k].data());
            out_iov[sends] = {tx[sends].data(), kData};
            out[sends].msg_hdr = {};
            out[sends].msg_hdr.msg_iov = &out_iov[sends];
            out[sends].msg_hdr.msg_iovlen = 1;
            out[sends].msg_hdr.msg_name = &from[k];
            out[sends].msg_hdr.msg_namelen = sizeof from[k];
            ++sends;
            continue;
          }
          auto key = std::uint64_t{from[k].sin_addr.s_addr} << 16U | from[k].sin_port;
          auto it = flows.find(key);
          if (it == flows.end()) {
            if (flows.size() >= kMaxFlows) continue;
            int f = udp_socket();
            bind_or_die(f, endpoint(c.bind, 0));
            if (::connect(f, reinterpret_cast<sockaddr const*>(&from[k]), sizeof from[k]) != 0) {
              ::close(f);
              continue;
            }
            epoll_event fe{};
            fe.events = EPOLLIN;
            fe.data.fd = f;
            ::epoll_ctl(ep, EPOLL_CTL_ADD, f, &fe);
            it = flows.emplace(key, f).first;
          }
          fill_data(data, rx[k].data());
          (void)::send(it->second, data.data(), kData, 0);
        }
        // A partial sendmmsg (a full send buffer) sends the rest in further calls, a bounded few.
        for (unsigned done = 0, tries = 0; done < sends && tries < 8; ++tries) {
          int sent = ::sendmmsg(listen_fd, out.data() + done, sends - done, 0);
          if (sent <= 0) break;
          done += static_cast<unsigned>(sent);
        }
        continue;
      }
      // A flow's own socket (per-flow mode): one receive, one send.
      std::array<unsigned char, 64> ack{};
      auto got = ::recv(fd, ack.data(), ack.size(), MSG_DONTWAIT);
      if (got < 4) continue;
      heard = true;
      last = clock_type::now();
      ++exchanges;
      fill_data(data, ack.data());
      (void)::send(fd, data.data(), kData, 0);
    }
  }
  double cpu = cpu_seconds() - cpu0;
  for (auto const& [k, f] : flows) ::close(f);
  ::close(ep);
  ::close(listen_fd);
  std::printf("exchanges=%llu cpu_s=%.3f us_per_exchange=%.2f\n", static_cast<unsigned long long>(exchanges), cpu,
              exchanges ? cpu * 1e6 / static_cast<double>(exchanges) : 0.0);
  return 0;
}

struct client_config {
  in_addr server{};
  std::uint16_t port = 6969;
  int flows = 0;
  long rounds = 0;
  std::optional<in_addr> source_base;
  int timeout_s = 120;
};

struct flow {
  int fd = -1;
  long done = 0;  // DATA blocks received in order
  clock_type::time_point sent{};
  sockaddr_in peer{};
};

void send_ack(flow& f) {
  std::array<unsigned char, 4> ack{0, 4, static_cast<unsigned char>(f.done >> 8U), static_cast<unsigned char>(f.done)};
  (void)::sendto(f.fd, ack.data(), ack.size(), 0, reinterpret_cast<sockaddr const*>(&f.peer), sizeof f.peer);
  f.sent = clock_type::now();
}

int run_client(client_config const& c) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<flow> flows(static_cast<std::size_t>(c.flows));
  for (int i = 0; i < c.flows; ++i) {
    auto& f = flows[static_cast<std::size_t>(i)];
    f.fd = udp_socket();
    if (c.source_base) {
      in_addr a = *c.source_base;
      a.s_addr = htonl(ntohl(a.s_addr) + static_cast<std::uint32_t>(i));
      bind_or_die(f.fd, endpoint(a, 0));
    }
    f.peer = endpoint(c.server, c.port);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, f.fd, &ev);
  }
  auto start = clock_type::now();
  for (auto& f : flows) send_ack(f);
  long finished = 0;
  std::uint64_t exchanges = 0, resent = 0;
  std::array<epoll_event, 256> events{};
  auto last_scan = start;
  while (finished < c.flows) {
    auto now = clock_type::now();
    if (now - start > std::chrono::seconds{c.timeout_s}) break;
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 20);
    for (int i = 0; i < n; ++i) {
      auto& f = flows[events[static_cast<std::size_t>(i)].data.u32];
      std::array<unsigned char, kData + 4> buf{};
      sockaddr_in from{};
      socklen_t len = sizeof from;
      auto got = ::recvfrom(f.fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (got < 4 || buf[1] != 3 || f.done >= c.rounds) continue;
      long block = static_cast<long>(buf[2]) << 8 | buf[3];
      if (block != ((f.done + 1) & 0xFFFF)) continue;  // a late copy
      f.peer = from;  // per-flow mode: the flow's own port from now on
      ++f.done;
      ++exchanges;
      if (f.done == c.rounds) {
        ++finished;
        continue;
      }
      send_ack(f);
    }
    now = clock_type::now();
    if (now - last_scan > std::chrono::milliseconds{50}) {
      last_scan = now;
      for (auto& f : flows)
        if (f.done < c.rounds && now - f.sent > std::chrono::milliseconds{200}) {
          send_ack(f);
          ++resent;
        }
    }
  }
  double wall = std::chrono::duration<double>(clock_type::now() - start).count();
  for (auto& f : flows) ::close(f.fd);
  ::close(ep);
  std::printf("flows=%d rounds=%ld exchanges=%llu resent=%llu wall_s=%.2f\n", c.flows, c.rounds,
              static_cast<unsigned long long>(exchanges), static_cast<unsigned long long>(resent), wall);
  return finished == c.flows ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage("give 'server' or 'client'");
  std::string role = argv[1];
  if (role != "server" && role != "client") usage("unknown command '" + role + "' (server or client)");
  server_config s;
  client_config c;
  bool have_addr = false;
  // Every argument is checked before any socket is opened.
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage("option " + a + " needs a value");
    std::string v = argv[++i];
    if (a == "--port") {
      s.port = c.port = static_cast<std::uint16_t>(parse_count(a, v, 1, 65535));
    } else if (role == "server" && a == "--bind") {
      s.bind = parse_ipv4(a, v);
      have_addr = true;
    } else if (role == "server" && a == "--mode") {
      if (v != "per-flow" && v != "single") usage("--mode is per-flow or single, not '" + v + "'");
      s.single = v == "single";
    } else if (role == "server" && a == "--idle-ms") {
      s.idle_ms = static_cast<int>(parse_count(a, v, 10, 600000));
    } else if (role == "server" && a == "--duration") {
      s.duration_s = static_cast<int>(parse_count(a, v, 1, 3600));
    } else if (role == "client" && a == "--server") {
      c.server = parse_ipv4(a, v);
      have_addr = true;
    } else if (role == "client" && a == "--flows") {
      c.flows = static_cast<int>(parse_count(a, v, 1, kMaxFlows));
    } else if (role == "client" && a == "--rounds") {
      c.rounds = parse_count(a, v, 1, 1000000);
    } else if (role == "client" && a == "--source-base") {
      c.source_base = parse_ipv4(a, v);
    } else if (role == "client" && a == "--timeout") {
      c.timeout_s = static_cast<int>(parse_count(a, v, 1, 3600));
    } else {
      usage("unknown option '" + a + "' for " + role);
    }
  }
  if (!have_addr) usage(role == "server" ? "server needs --bind ADDR" : "client needs --server ADDR");
  if (role == "client" && (c.flows == 0 || c.rounds == 0)) usage("client needs --flows N and --rounds K");
  // A socket per flow: up to kMaxFlows descriptors, more than the usual soft limit of 1024.
  if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  return role == "server" ? run_server(s) : run_client(c);
}
