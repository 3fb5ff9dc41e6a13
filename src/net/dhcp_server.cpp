#include "pinetboot/net/dhcp_server.hpp"

#include <algorithm>
#include <ctime>
#include <utility>

namespace pinetboot::net {

struct dhcp_server::listener {
  explicit listener(asio::io_context& io) : socket{io} {}
  asio::ip::udp::socket socket;
  std::uint16_t port = 0;
};

/// One handled datagram waiting for the batch's commit.
struct dhcp_server::pending {
  std::array<std::byte, 1500> out{};
  dhcp::reply reply;
  datagram_info info;
  listener* from = nullptr;
};

std::int64_t unix_now() noexcept { return static_cast<std::int64_t>(std::time(nullptr)); }

dhcp_server::dhcp_server(asio::io_context& io, dhcp::server_engine& engine, dhcp::lease_store& leases,
                         dhcp_server_options opts, log_function log)
    : io_{io}, engine_{engine}, leases_{leases}, opts_{std::move(opts)}, log_{std::move(log)}, commit_timer_{io} {
  if (opts_.batch == 0) opts_.batch = 1;
  batch_.resize(opts_.batch);
  rx_.resize(65536);
}

dhcp_server::~dhcp_server() { stop(); }

std::error_code dhcp_server::start() {
  stopped_ = false;
  std::vector<std::uint16_t> ports{opts_.port};
  if (opts_.pxe_port != 0) ports.push_back(opts_.pxe_port);
  for (auto port : ports) {
    auto l = std::make_unique<listener>(io_);
    l->port = port;
    udp_bind_options b{.address = opts_.listen_address,
                       .port = port,
                       .device = opts_.interface,
                       .broadcast = true,
                       .pktinfo = true,
                       .reuse_address = true,
                       .receive_buffer = 4 << 20};  // a fleet's DISCOVER burst
    if (auto ec = open_udp(l->socket, b)) return ec;
    l->port = l->socket.local_endpoint().port();
    listeners_.push_back(std::move(l));
  }
  for (auto& l : listeners_) wait(*l);
  return {};
}

void dhcp_server::stop() {
  if (stopped_) return;
  stopped_ = true;
  commit_timer_.cancel();
  commit_armed_ = false;
  // Replies already waiting for a commit still go out once their leases are durable.
  if (waiting_ > 0) commit_and_flush();
  for (auto& l : listeners_) {
    std::error_code ec;
    l->socket.close(ec);
  }
  (void)leases_.commit();
}

std::uint16_t dhcp_server::bound_port() const {
  return listeners_.empty() ? 0 : listeners_.front()->port;
}

void dhcp_server::wait(listener& l) {
  l.socket.async_wait(asio::ip::udp::socket::wait_read, [this, &l](std::error_code ec) {
    if (ec || stopped_) return;
    drain(l);
    wait(l);
  });
}

void dhcp_server::drain(listener& l) {
  // Handle what is queued. Replies that need no commit (OFFERs, NAKs, proxy answers) leave at
  // once; the others wait in the batch for a lease commit, so that no ACK leaves before its
  // lease is on disk, and one fsync serves every reply that waits for it (group commit).
  auto now = unix_now();
  for (std::size_t received = 0; received < batch_.size(); ++received) {
    if (waiting_ == batch_.size()) commit_and_flush();  // a full batch commits at once
    auto got = receive_from(l.socket, rx_);
    if (!got) break;
    ++stats_.received;
    if (got->truncated) {
      ++stats_.ignored;
      continue;
    }
    auto& p = batch_[waiting_];
    p.info = *got;
    p.from = &l;
    dhcp::packet_context ctx{.local_address = got->local.is_unspecified() ? got->spec_dst : got->local,
                             .source = from_asio(got->from.address().to_v4()),
                             .source_port = got->from.port(),
                             .local_port = l.port == opts_.pxe_port && opts_.pxe_port != 0 ? std::uint16_t{4011}
                                                                                            : std::uint16_t{67},
                             .now = now};
    // A broadcast arrives with local = 255.255.255.255: answer from the interface's address.
    if (ctx.local_address == core::ipv4_address{0xffffffffU}) ctx.local_address = got->spec_dst;
    p.reply = engine_.handle(std::span{rx_}.first(got->size), ctx, p.out);
    if (p.reply.request_type) {
      auto t = static_cast<std::size_t>(*p.reply.request_type);
      if (t < stats_.by_request_type.size()) ++stats_.by_request_type[t];
    }
    if (p.reply.needs_commit) ++waiting_;  // keep the slot until the commit
    else dispatch(p);                      // offers' records ride along with the next commit
  }
  if (waiting_ == 0 || commit_armed_) return;
  auto since = core::steady_clock::now() - last_commit_;
  if (since >= opts_.commit_window) {
    commit_and_flush();
    return;
  }
  commit_armed_ = true;
  commit_timer_.expires_at(last_commit_ + opts_.commit_window);
  commit_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;  // cancelled: stop() has flushed (and `this` may be gone)
    commit_armed_ = false;
    if (!stopped_ && waiting_ > 0) commit_and_flush();
  });
}

void dhcp_server::commit_and_flush() {
  last_commit_ = core::steady_clock::now();
  auto commit_error = leases_.commit();
  ++stats_.commits;
  if (commit_error) ++stats_.commit_failures;
  stats_.largest_commit = std::max<std::uint64_t>(stats_.largest_commit, waiting_);
  for (std::size_t i = 0; i < waiting_; ++i) {
    auto& p = batch_[i];
    if (commit_error) {
      // Never acknowledge a lease that is not durable.
      if (log_) log_(dhcp_log_event{.reply = &p.reply, .from = p.info.from, .local_port = p.from->port,
                                    .error = commit_error});
    } else {
      dispatch(p);
    }
  }
  waiting_ = 0;
}

void dhcp_server::dispatch(pending& p) {
  if (p.reply.size == 0) {
    ++stats_.ignored;
  } else if (p.reply.delay_ms > 0) {
    // Pi 3 reply delay: copy the reply out of the batch slot and send it later.
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(p.reply.delay_ms));
    auto copy = std::make_shared<pending>(p);
    timer->async_wait([this, timer, copy](std::error_code ec) {
      if (!ec && !stopped_) send(*copy);
    });
  } else {
    send(p);
  }
  if (log_) log_(dhcp_log_event{.reply = &p.reply, .from = p.info.from, .local_port = p.from->port});
}

void dhcp_server::send(pending const& p) {
  auto const& r = p.reply;
  std::uint16_t port = r.port;
  if (port == 68) port = opts_.client_port;
  else if (port == 67) port = opts_.relay_port;
  asio::ip::udp::endpoint to{to_asio(r.destination), port};
  core::ipv4_address source = p.info.local.is_unspecified() || p.info.local == core::ipv4_address{0xffffffffU}
                                  ? p.info.spec_dst
                                  : p.info.local;
  auto ec = send_to(p.from->socket, std::span{p.out}.first(r.size), to, p.info.ifindex, source);
  if (ec) ++stats_.send_failures;
  else ++stats_.replied;
}

}  // namespace pinetboot::net
