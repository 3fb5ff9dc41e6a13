#include "pinetboot/net/tftp_server.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>
#include <variant>

#include <asio/error.hpp>
#include <asio/steady_timer.hpp>

#include "pinetboot/net/udp.hpp"
#include "tftp_admission.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "pinetboot/tftp/write_session.hpp"

namespace pinetboot::net {
namespace {

using steady = std::chrono::steady_clock;

std::uint32_t client_key(asio::ip::udp::endpoint const& e) { return e.address().to_v4().to_uint(); }
detail::tftp_peer peer_of(asio::ip::udp::endpoint const& e) { return {e.address().to_v4().to_uint(), e.port()}; }

detail::tftp_admission_limits admission_limits(tftp_server_options const& o) {
  return {.max_transfers = o.max_transfers, .max_per_client = o.max_per_client,
          .requests_per_second = o.requests_per_second, .request_burst = o.request_burst};
}

bool is_not_found(std::error_code ec) {
  return ec == tftp::errc::file_not_found || ec == std::errc::no_such_file_or_directory;
}

}  // namespace

/// One live transfer: its own socket (the server's TID), a timer, and the engine.
class tftp_server::transfer {
 public:
  using read_engine = tftp::read_session<tftp::file_source>;
  using write_engine = tftp::write_session<tftp::file_sink>;

  transfer(tftp_server& server, asio::ip::udp::endpoint peer, std::string file)
      : server_{server}, socket_{server.io_}, timer_{server.io_}, peer_{std::move(peer)}, peer_sa_{to_sockaddr(peer_)} {
    record_.client = peer_;
    record_.file = std::move(file);
    started_ = steady::now();
    last_activity_ = started_;
  }

  /// Opens this transfer's socket (its TID). With few transfers live, Asio waits on it (four
  /// system calls per lockstep block, the least for one transfer: the receive, the send, the
  /// epoll_wait and a receive that says EAGAIN). Under load it goes into the server's epoll set
  /// instead, where one wait serves every ready transfer (two per block plus a share of the
  /// round's epoll calls): measured 10 % less server CPU booting 1000 boards. A lone client is
  /// 5-8 % slower that way (one more call per block), hence the threshold.
  std::error_code open_socket() {
    if (server_.opts_.single_port) return {};  // the server's socket carries every transfer
    if (auto ec = server_.open_transfer_socket(socket_)) return ec;
    if (server_.transfers_.size() < kPolledFrom) return {};
    std::error_code ec;
    fd_ = tftp::unique_fd{socket_.release(ec)};  // ours from now on; Asio forgets it
    if (ec) return ec;
    polled_ = true;
    return server_.watch(fd_.get(), this, EPOLL_CTL_ADD, EPOLLIN);
  }

  /// The server's epoll set says this socket is readable (or writable again, or in error).
  void on_ready(std::uint32_t events) {
    if (finished_) return;
    if ((events & EPOLLOUT) != 0 && waiting_write_) {
      waiting_write_ = false;
      (void)server_.watch(fd_.get(), this, EPOLL_CTL_MOD, EPOLLIN);
    }
    // One datagram per readiness: the set is level-triggered, so any further one comes back in
    // the next round, and a lockstep transfer never pays for a receive that finds nothing.
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) receive_one();
    flush();
  }

  void start_read(tftp::file_source src, tftp::request_view const& rrq, std::string root_name) {
    source_ = std::move(src);
    record_.size = source_->size();
    record_.root = std::move(root_name);
    engine_.emplace<read_engine>(*source_, server_.limits_for(client_key(peer_)), rrq);
    auto const& o = std::get<read_engine>(engine_).options();
    size_buffers(o.blksize);
    record_.blksize = o.blksize;
    record_.windowsize = o.windowsize;
    run();
  }

  void start_write(tftp::file_sink sink, tftp::request_view const& wrq) {
    sink_ = std::move(sink);
    record_.write = true;
    engine_.emplace<write_engine>(*sink_, server_.opts_.limits, wrq);
    auto const& o = std::get<write_engine>(engine_).options();
    size_buffers(o.blksize);
    record_.blksize = o.blksize;
    record_.windowsize = o.windowsize;
    run();
  }

  /// Sends one ERROR from this transfer's TID and finishes (RFC 1350: errors to a request
  /// come from a new TID, like the transfer would).
  [[nodiscard]] std::string const& file() const noexcept { return record_.file; }
  /// True once the client answered on this transfer's port: its request was not lost, so a
  /// later request from the same address and port is a new transfer (ports get reused).
  [[nodiscard]] bool heard_from_client() const noexcept { return heard_; }

  /// The client repeated its request: it has not seen our first answer (OACK or DATA 1), so
  /// resend now instead of waiting for our retransmission timer, which before any RTT sample
  /// runs a whole second (RFC 6298 2.1).
  void on_repeated_request() {
    if (finished_) return;
    visit([&](auto& e) {
      if (auto d = e.next_deadline()) e.on_timer(*d);
    });
    flush();
  }

  void reject(std::error_code why) {
    size_buffers(512);
    if (auto n = tftp::write_error(tx_, why)) (void)send(std::span{tx_}.first(*n), peer_sa_);
    record_.outcome = why;
    record_.not_found = is_not_found(why);
    record_.normal = record_.not_found;
    done();
  }

  /// Ends the transfer. `tell_client`: send it an ERROR first (not when the client has
  /// visibly moved on to another request from the same port).
  void abort(bool tell_client = true) {
    if (finished_) return;
    std::array<std::byte, 64> buf{};
    if (auto n = tftp::write_error(buf, tftp::errc::timed_out); n && tell_client)
      (void)send(std::span{buf}.first(*n), peer_sa_);
    visit([&](auto& e) {
      record_.stats = e.stats();
      record_.bytes = e.stats().bytes;
    });
    record_.outcome = make_error_code(tftp::errc::timed_out);
    record_.normal = false;
    if (sink_) sink_->abort();
    done();
  }

 private:
  template <class F>
  void visit(F&& f) {
    if (auto* r = std::get_if<read_engine>(&engine_)) f(*r);
    else if (auto* w = std::get_if<write_engine>(&engine_)) f(*w);
  }

  void size_buffers(std::size_t blksize) {
    tx_.resize(blksize + 4);
    // A sender only receives ACK/ERROR; a receiver receives DATA of blksize. In single-port
    // mode datagrams arrive in the server's receive batch instead.
    if (!server_.opts_.single_port) rx_.resize(std::max<std::size_t>(blksize + 4, 516) + 1);
  }

  void run() {
    flush();
    if (!finished_ && !polled_ && !server_.opts_.single_port) receive();
  }

  [[nodiscard]] int fd() noexcept { return polled_ ? fd_.get() : socket_.native_handle(); }

  /// Asio-driven receive (few transfers live).
  void receive() {
    socket_.async_receive_from(asio::buffer(rx_), from_, [this](std::error_code ec, std::size_t n) {
      if (ec == asio::error::operation_aborted || finished_) return;
      if (!ec) on_datagram(std::span<const std::byte>{rx_.data(), std::min(n, rx_.size())},
                           from_.address().to_v4().to_uint(), from_.port());
      flush();
      if (!finished_) receive();
    });
  }

  /// sendto from this transfer's socket; 0 or the errno.
  int send(std::span<const std::byte> data, sockaddr_in const& to) noexcept {
    if (server_.opts_.single_port) return server_.queue_send(data, to);
    ssize_t n;
    do {
      n = ::sendto(fd(), data.data(), data.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr const*>(&to),
                   sizeof to);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? errno : 0;
  }

  /// Epoll-driven receive (under load): one datagram per readiness.
  void receive_one() {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n;
    do {
      n = ::recvfrom(fd_.get(), rx_.data(), rx_.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return;  // nothing queued, or a pending socket error (now cleared)
    on_datagram(std::span<const std::byte>{rx_.data(), static_cast<std::size_t>(n)}, ntohl(from.sin_addr.s_addr),
                ntohs(from.sin_port));
  }

  /// A datagram `in` for this transfer, from `addr`:`port` (host byte order).
  void on_datagram(std::span<const std::byte> in, std::uint32_t addr, std::uint16_t port) {
    if (finished_) return;
    if (htonl(addr) != peer_sa_.sin_addr.s_addr || htons(port) != peer_sa_.sin_port) {
      // RFC 1350 section 4: a packet from a foreign TID gets ERROR 5 and is otherwise ignored.
      ++server_.stats_.wrong_tid;
      std::array<std::byte, 64> buf{};
      if (auto m = tftp::write_error(buf, tftp::errc::unknown_tid))
        (void)send(std::span{buf}.first(*m), to_sockaddr(addr, port));
      return;
    }
    deliver(in);
  }

  /// A datagram from this transfer's client, to the engine.
  void deliver(std::span<const std::byte> in) {
    last_activity_ = steady::now();
    heard_ = true;
    visit([&](auto& e) { e.on_datagram(in, last_activity_); });
  }

 public:
  /// Single-port mode: the server's receive batch holds a datagram from this transfer's client
  /// (the server found the transfer by the client's address and port).
  void on_batch_datagram(std::span<const std::byte> in) {
    if (finished_) return;
    deliver(in);
    flush();
  }

 private:

  void flush() {
    auto now = steady::now();
    bool blocked = false;
    visit([&](auto& e) {
      for (;;) {
        if (server_.opts_.single_port) {
          // Straight into the server's send batch (no copy); sent with one sendmmsg.
          auto slot = server_.send_slot(tx_.size());
          auto n = e.poll_transmit(slot, now);
          if (!n || *n == 0) break;
          server_.commit_send(*n, peer_sa_);
          continue;
        }
        auto n = e.poll_transmit(tx_, now);
        if (!n || *n == 0) break;
        int err = send(std::span{tx_}.first(*n), peer_sa_);
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
          // The engine counts the packet as sent; its retransmission timer recovers it. Wait
          // until the socket drains instead of spinning.
          blocked = true;
          break;
        }
      }
    });
    if (is_done()) {
      complete();
      return;
    }
    if (blocked && !waiting_write_) {
      waiting_write_ = true;
      if (polled_) {  // on_ready(EPOLLOUT) flushes again
        if (server_.watch(fd_.get(), this, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT)) waiting_write_ = false;
      } else {
        socket_.async_wait(asio::ip::udp::socket::wait_write, [this](std::error_code ec) {
          waiting_write_ = false;
          if (!ec && !finished_) flush();
        });
      }
    }
    arm_timer();
  }

  void arm_timer() {
    std::optional<tftp::time_point> deadline;
    visit([&](auto& e) { deadline = e.next_deadline(); });
    auto idle_deadline = last_activity_ + server_.opts_.idle_timeout;
    auto at = deadline ? std::min(*deadline, idle_deadline) : idle_deadline;
    // A timer already set to fire earlier stays: when it fires, the handler checks the real
    // deadline and re-arms. Moving it on every ACK cost a timerfd_settime per block.
    if (armed_ && armed_at_ <= at) return;
    armed_ = true;
    armed_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait([this](std::error_code ec) {
      if (ec == asio::error::operation_aborted || finished_) return;
      armed_ = false;
      auto now = steady::now();
      if (now - last_activity_ >= server_.opts_.idle_timeout) {
        abort();
        return;
      }
      visit([&](auto& e) {
        if (auto d = e.next_deadline(); d && *d <= now) e.on_timer(now);
      });
      flush();
    });
  }

  [[nodiscard]] bool is_done() {
    bool d = true;
    visit([&](auto& e) { d = e.is_done(); });
    return d;
  }

  void complete() {
    visit([&](auto& e) {
      record_.stats = e.stats();
      record_.outcome = e.close_reason();
    });
    if (auto* r = std::get_if<read_engine>(&engine_)) {
      record_.normal = r->ended_normally();
      record_.bytes = r->stats().bytes;
    } else if (auto* w = std::get_if<write_engine>(&engine_)) {
      record_.normal = !record_.outcome;
      record_.bytes = w->stats().bytes;
    }
    done();
  }

  void done() {
    if (finished_) return;
    finished_ = true;
    record_.elapsed = steady::now() - started_;
    timer_.cancel();
    fd_.reset();  // closing it also takes it out of the server's epoll set
    std::error_code ec;
    socket_.close(ec);
    // Defer destruction: we may be inside one of our own handlers.
    asio::post(server_.io_, [s = &server_, self = this, rec = record_] { s->finish(self, rec); });
  }

  tftp_server& server_;
  /// Transfers live before this one from which a new one goes into the server's epoll set.
  static constexpr std::size_t kPolledFrom = 8;
  asio::ip::udp::socket socket_;  ///< this transfer's socket (its TID) while Asio waits on it
  tftp::unique_fd fd_;            ///< the same socket once released into the server's epoll set
  bool polled_ = false;
  asio::steady_timer timer_;
  asio::ip::udp::endpoint peer_, from_;
  sockaddr_in peer_sa_{};
  std::optional<tftp::file_source> source_;
  std::optional<tftp::file_sink> sink_;
  std::variant<std::monostate, read_engine, write_engine> engine_;
  std::vector<std::byte> tx_, rx_;
  tftp_transfer_record record_;
  steady::time_point started_, last_activity_, armed_at_{};
  bool armed_ = false;
  bool heard_ = false;
  bool waiting_write_ = false;
  bool finished_ = false;
};

/// Single-port mode's receive and send batches: `count` slots each, one datagram per slot.
struct tftp_server::batch_io {
  static constexpr std::size_t max_count = 64;
  std::size_t count = 0, rx_slot = 0, tx_slot = 0;
  std::vector<std::byte> rx, tx;
  std::array<mmsghdr, max_count> rx_msgs{}, tx_msgs{};
  std::array<iovec, max_count> rx_iov{}, tx_iov{};
  std::array<sockaddr_in, max_count> rx_from{}, tx_to{};
  std::size_t tx_count = 0;
  bool in_round = false;      ///< a receive round is running: it sends the batch at its end
  bool flush_posted = false;  ///< a send of the batch is posted (packets from timers, stop())

  /// Sizes the slots for requests and DATA of up to `max_blksize`; they never shrink (live
  /// transfers may still use a larger blksize after a reload lowered the maximum). The caller
  /// neither holds a received datagram nor has packets queued. About 0.5 MB in all at the
  /// default maximum blksize, at most 2 MB. The message headers point at the slots once here;
  /// a send then only sets its length (commit_send).
  void size_for(std::size_t max_blksize) {
    std::size_t r = std::max({rx_slot, std::size_t{4096}, max_blksize + 5});  // +1: oversized shows
    std::size_t t = std::max({tx_slot, std::size_t{516}, max_blksize + 4});
    if (r == rx_slot && t == tx_slot) return;
    rx_slot = r;
    tx_slot = t;
    count = std::clamp<std::size_t>((std::size_t{1} << 20) / r, 4, max_count);
    rx.assign(rx_slot * count, std::byte{});
    tx.assign(tx_slot * count, std::byte{});
    for (std::size_t i = 0; i < count; ++i) {
      rx_iov[i] = {rx.data() + i * rx_slot, rx_slot};
      rx_msgs[i] = {};
      rx_msgs[i].msg_hdr.msg_name = &rx_from[i];
      rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
      rx_msgs[i].msg_hdr.msg_iovlen = 1;
      tx_iov[i] = {tx.data() + i * tx_slot, 0};
      tx_msgs[i] = {};
      tx_msgs[i].msg_hdr.msg_name = &tx_to[i];
      tx_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      tx_msgs[i].msg_hdr.msg_iov = &tx_iov[i];
      tx_msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};

tftp_server::tftp_server(asio::io_context& io, tftp_server_options opts, log_function log)
    : io_{io},
      opts_{std::move(opts)},
      log_{std::move(log)},
      socket_{io},
      transfer_poll_{io},
      rx_(4096),
      admission_{std::make_unique<detail::tftp_admission<transfer>>()} {}

tftp_server::~tftp_server() {
  stop();
  // Pending posted finish() calls reference transfers; they are owned here and die with us.
}

std::error_code tftp_server::start() {
  auto root = tftp::open_root(opts_.root.c_str());
  if (!root) return root.error();
  root_fd_ = std::move(*root);
  if (opts_.allow_write) {
    auto const& wr = opts_.write_root.empty() ? opts_.root : opts_.write_root;
    auto w = tftp::open_root(wr.c_str());
    if (!w) return w.error();
    write_fd_ = std::move(*w);
  }
  if (!transfer_poll_.is_open()) {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return {errno, std::generic_category()};
    transfer_poll_.assign(ep);
  }
  udp_bind_options b{.address = opts_.listen_address, .port = opts_.port, .device = opts_.interface,
                     .reuse_address = true, .receive_buffer = 4 << 20};  // RRQ bursts of a booting fleet
  if (opts_.single_port) b.send_buffer = 4 << 20;  // a batch of every transfer's DATA
  if (auto ec = open_udp(socket_, b)) return ec;
  next_port_ = opts_.port_first;
  admission_->start(admission_limits(opts_), steady::now());
  accepting_ = true;
  if (opts_.single_port) {
    if (!batch_) batch_ = std::make_unique<batch_io>();
    batch_->size_for(opts_.limits.negotiation.max_blksize);
    receive_batch();
  } else {
    receive();
  }
  return {};
}

std::error_code tftp_server::reconfigure(tftp_server_options opts) {
  auto root = tftp::open_root(opts.root.c_str());
  if (!root) return root.error();
  tftp::unique_fd write_fd;
  if (opts.allow_write) {
    auto const& wr = opts.write_root.empty() ? opts.root : opts.write_root;
    auto w = tftp::open_root(wr.c_str());
    if (!w) return w.error();
    write_fd = std::move(*w);
  }
  opts.listen_address = opts_.listen_address;
  opts.port = opts_.port;
  opts.interface = opts_.interface;
  opts.single_port = opts_.single_port;
  if (opts.port_first != opts_.port_first || opts.port_last != opts_.port_last) next_port_ = opts.port_first;
  opts_ = std::move(opts);
  if (batch_) {  // a larger maximum blksize needs larger slots (not called inside a round)
    flush_sends();
    batch_->size_for(opts_.limits.negotiation.max_blksize);
  }
  root_fd_ = std::move(*root);
  write_fd_ = std::move(write_fd);
  // Cached open files stay valid (they are open descriptors); new opens use the new root.
  return {};
}

std::uint16_t tftp_server::bound_port() const {
  std::error_code ec;
  auto ep = socket_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void tftp_server::stop_accepting() {
  accepting_ = false;
  // In single-port mode the live transfers still need the socket: closed with the last one.
  if (opts_.single_port) {
    close_if_idle();
    return;
  }
  std::error_code ec;
  socket_.close(ec);
}

void tftp_server::stop() {
  stop_accepting();
  std::vector<transfer*> live;
  for (auto const& [p, t] : transfers_) live.push_back(p);
  for (auto* t : live) t->abort();
  if (opts_.single_port && batch_) {
    flush_sends();  // the aborted transfers' ERRORs
    std::error_code ec;
    socket_.close(ec);
  }
}

void tftp_server::close_if_idle() {
  if (accepting_ || !transfers_.empty()) return;
  if (batch_) flush_sends();
  std::error_code ec;
  socket_.close(ec);
}

void tftp_server::receive_batch() {
  socket_.async_wait(asio::ip::udp::socket::wait_read, [this](std::error_code ec) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    if (!ec) on_batch_ready();
    if (socket_.is_open()) receive_batch();
  });
}

void tftp_server::on_batch_ready() {
  auto& b = *batch_;
  b.in_round = true;
  // A few batches per wakeup, then back to Asio so timers and the DHCP side get their turn.
  for (int round = 0; round < 8; ++round) {
    // The headers point at the slots (size_for); recvmmsg shortens the address lengths.
    for (std::size_t i = 0; i < b.count; ++i) b.rx_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    int n;
    do {
      n = ::recvmmsg(socket_.native_handle(), b.rx_msgs.data(), static_cast<unsigned>(b.count), MSG_DONTWAIT,
                     nullptr);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) break;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      if (b.rx_msgs[i].msg_hdr.msg_namelen != sizeof(sockaddr_in)) continue;
      auto len = std::min<std::size_t>(b.rx_msgs[i].msg_len, b.rx_slot);
      dispatch(std::span<const std::byte>{b.rx.data() + i * b.rx_slot, len}, b.rx_from[i]);
    }
    flush_sends();
    if (static_cast<std::size_t>(n) < b.count) break;
  }
  b.in_round = false;
}

void tftp_server::dispatch(std::span<const std::byte> data, sockaddr_in const& from) {
  auto op = tftp::parse_opcode(data);
  std::uint32_t addr = ntohl(from.sin_addr.s_addr);
  std::uint16_t port = ntohs(from.sin_port);
  if (op && (*op == tftp::opcode::rrq || *op == tftp::opcode::wrq)) {
    if (accepting_) on_request(data, asio::ip::udp::endpoint{asio::ip::address_v4{addr}, port});
    return;
  }
  if (auto* t = admission_->find({addr, port})) {
    t->on_batch_datagram(data);
    return;
  }
  // No transfer of this client's: ERROR 5, as from a transfer port (never answer an ERROR).
  if (op && *op == tftp::opcode::error) return;
  ++stats_.wrong_tid;
  std::array<std::byte, 64> buf{};
  if (auto m = tftp::write_error(buf, tftp::errc::unknown_tid)) (void)queue_send(std::span{buf}.first(*m), from);
}

std::span<std::byte> tftp_server::send_slot(std::size_t size) {
  auto& b = *batch_;
  if (b.tx_count == b.count) flush_sends();
  if (size > b.tx_slot) return {};  // cannot happen: slots fit the largest blksize ever allowed
  return {b.tx.data() + b.tx_count * b.tx_slot, size};
}

void tftp_server::commit_send(std::size_t n, sockaddr_in const& to) {
  auto& b = *batch_;
  b.tx_to[b.tx_count] = to;
  b.tx_iov[b.tx_count].iov_len = n;
  ++b.tx_count;
  if (!b.in_round && !b.flush_posted) {
    b.flush_posted = true;
    asio::post(io_, [this] {
      batch_->flush_posted = false;
      flush_sends();
    });
  }
}

int tftp_server::queue_send(std::span<const std::byte> data, sockaddr_in const& to) {
  auto slot = send_slot(data.size());
  if (slot.size() < data.size()) return EMSGSIZE;
  std::copy(data.begin(), data.end(), slot.begin());
  commit_send(data.size(), to);
  return 0;
}

void tftp_server::flush_sends() {
  auto& b = *batch_;
  std::size_t done = 0;
  while (done < b.tx_count && socket_.is_open()) {
    int n = ::sendmmsg(socket_.native_handle(), b.tx_msgs.data() + done, static_cast<unsigned>(b.tx_count - done),
                       MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      break;  // the socket is full: the engines count these as sent and their timers resend
    } else {
      ++done;  // this datagram failed (no route to its client, say): the rest still go
    }
  }
  b.tx_count = 0;
}

std::error_code tftp_server::watch(int fd, transfer* t, int op, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = t;
  if (::epoll_ctl(transfer_poll_.native_handle(), op, fd, &ev) != 0) return {errno, std::generic_category()};
  if (!polling_) wait_transfers();
  return {};
}

void tftp_server::wait_transfers() {
  polling_ = true;
  transfer_poll_.async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // finish() cleared polling_ when it cancelled
    polling_ = false;
    if (ec) return;
    std::array<epoll_event, 128> ev{};
    int n;
    do {
      n = ::epoll_wait(transfer_poll_.native_handle(), ev.data(), static_cast<int>(ev.size()), 0);
    } while (n < 0 && errno == EINTR);
    // A transfer finished by an earlier event of this round stays alive until its posted
    // finish() runs, after this handler: its on_ready just returns.
    for (int i = 0; i < n; ++i) static_cast<transfer*>(ev[static_cast<std::size_t>(i)].data.ptr)->on_ready(ev[static_cast<std::size_t>(i)].events);
    if (!transfers_.empty() && !polling_) wait_transfers();
  });
}

std::error_code tftp_server::open_transfer_socket(asio::ip::udp::socket& s) {
  udp_bind_options b{.address = opts_.listen_address, .device = opts_.interface,
                     .receive_buffer = opts_.socket_buffer, .send_buffer = opts_.socket_buffer};
  if (opts_.port_first == 0) return open_udp(s, b);
  // Walk the configured range once, starting after the last port handed out.
  std::uint32_t span = std::uint32_t{opts_.port_last} - opts_.port_first + 1;
  std::error_code last;
  for (std::uint32_t i = 0; i < span; ++i) {
    b.port = next_port_;
    next_port_ = next_port_ >= opts_.port_last ? opts_.port_first : static_cast<std::uint16_t>(next_port_ + 1);
    std::error_code ec;
    if (s.is_open()) s.close(ec);
    last = open_udp(s, b);
    if (!last) return {};
  }
  return last;
}

void tftp_server::refuse(asio::ip::udp::endpoint const& to, std::error_code why, std::string_view message) {
  std::array<std::byte, 128> buf{};
  auto n = message.empty() ? tftp::write_error(buf, why)
                           : tftp::write_error(buf, tftp::error_code_wire::not_defined, message);
  if (n) {
    std::error_code ec;
    socket_.send_to(asio::buffer(buf.data(), *n), to, 0, ec);
  }
}

void tftp_server::receive() {
  socket_.async_receive_from(asio::buffer(rx_), from_, [this](std::error_code ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || !accepting_) return;
    if (!ec) on_request(std::span<const std::byte>{rx_.data(), n}, from_);
    receive();
  });
}

void tftp_server::on_request(std::span<const std::byte> data, asio::ip::udp::endpoint const& from) {
  ++stats_.requests;
  auto req = tftp::parse_request(data);
  if (!req) {
    // Not a request on the request port (RFC 1350: ignore stray packets, answer malformed
    // requests with an ERROR so the client does not wait).
    auto op = tftp::parse_opcode(data);
    if (op && (*op == tftp::opcode::rrq || *op == tftp::opcode::wrq)) refuse(from, req.error());
    return;
  }
  auto d = admission_->decide(admission_limits(opts_), peer_of(from), req->filename, steady::now());
  if (d.replaced) d.replaced->abort(false);
  switch (d.verdict) {
    case detail::tftp_admission_verdict::refused_rate:
      ++stats_.refused_rate;
      return;  // silently: an answer would amplify a flood
    case detail::tftp_admission_verdict::duplicate:
      ++stats_.duplicate_requests;
      d.live->on_repeated_request();  // answered from the live transfer's port
      return;
    case detail::tftp_admission_verdict::refused_busy:
      ++stats_.refused_busy;
      refuse(from, {}, "server busy, try again");
      return;
    case detail::tftp_admission_verdict::admit:
      break;
  }

  auto t = std::make_unique<transfer>(*this, from, std::string{req->filename});
  if (auto ec = t->open_socket()) {
    ++stats_.refused_busy;
    refuse(from, {}, "no transfer port available");
    // Reported like a finished transfer, so the log says why (out of descriptors has a fix).
    if (log_) {
      tftp_transfer_record rec;
      rec.client = from;
      rec.file = std::string{req->filename};
      rec.write = req->op == tftp::opcode::wrq;
      rec.outcome = ec;
      rec.normal = false;
      log_(rec);
    }
    return;
  }
  auto* raw = t.get();
  transfers_.emplace(raw, std::move(t));
  admission_->admitted(raw, peer_of(from));
  ++stats_.started;

  std::array<char, tftp::max_path_length + 1> path_buf{};
  auto path = tftp::resolve_path(req->filename, path_buf, opts_.paths);
  if (!path) {
    raw->reject(path.error());
    return;
  }
  if (req->op == tftp::opcode::wrq) {
    if (!opts_.allow_write) {
      raw->reject(make_error_code(tftp::errc::access_violation));
      return;
    }
    tftp::sink_options so{.max_size = opts_.max_write_size, .allow_overwrite = opts_.write_overwrite,
                          .open = opts_.roots.open};
    auto sink = tftp::file_sink::create(write_fd_.get(), *path, so);
    if (!sink) {
      raw->reject(sink.error());
      return;
    }
    raw->start_write(std::move(*sink), *req);
    return;
  }
  tftp::client_info client{.ip = from_asio(from.address().to_v4())};
  auto root = tftp::select_client_root(root_fd_.get(), opts_.roots, client);
  auto src = tftp::open_for_client(cache_, root_fd_.get(), opts_.roots, client, *path);
  if (!src) {
    raw->reject(src.error());
    return;
  }
  raw->start_read(std::move(*src), *req, root ? std::string{root->name.view()} : std::string{});
}

tftp::session_limits tftp_server::limits_for(std::uint32_t client) const {
  auto limits = opts_.limits;
  auto it = learned_.find(client);
  if (it != learned_.end() && std::chrono::steady_clock::now() - it->second.at < kLearnedFor)
    limits.remembered = it->second.path;
  return limits;
}

void tftp_server::finish(transfer* t, tftp_transfer_record const& rec) {
  auto it = transfers_.find(t);
  if (it == transfers_.end()) return;
  auto key = client_key(rec.client);
  admission_->finished(t, peer_of(rec.client));
  if (rec.not_found) ++stats_.not_found;
  else if (!rec.outcome) ++stats_.completed;
  else if (rec.outcome == tftp::errc::client_aborted) ++stats_.aborted_by_client;
  else ++stats_.failed;
  stats_.bytes += rec.bytes;
  stats_.retransmits += rec.stats.retransmits;
  if (!rec.write && rec.stats.srtt > tftp::duration::zero()) {
    // The RTO floor this transfer ended with (it started from the remembered one); after a
    // proven needless timeout, the slowest round trip it saw: the client is slow, not the
    // link lossy. A fast client's RTT spike without a needless timeout is not remembered, so
    // its losses are still resent after a LAN-sized timeout.
    auto floor = rec.stats.rto_floor;
    if (rec.stats.spurious_timeouts > 0) floor = std::max(floor, rec.stats.rtt_peak);
    if (learned_.size() >= kMaxLearned && !learned_.contains(key)) learned_.clear();
    learned_[key] = {{floor}, std::chrono::steady_clock::now()};
  }
  if (log_) log_(rec);
  transfers_.erase(it);
  if (opts_.single_port) close_if_idle();
  if (transfers_.empty() && polling_) {
    // Nothing left to wait for: a pending wait would keep io_context::run() from returning.
    polling_ = false;
    std::error_code ec;
    transfer_poll_.cancel(ec);
  }
}

}  // namespace pinetboot::net
