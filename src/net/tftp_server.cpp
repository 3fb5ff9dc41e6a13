#include "pinetboot/net/tftp_server.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>
#include <variant>

#include <asio/error.hpp>
#include <asio/post.hpp>

#include "pinetboot/core/time.hpp"
#include "pinetboot/net/udp.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "tftp_admission.hpp"
#include "tftp_transfer.hpp"
#include "tftp_transport.hpp"

namespace pinetboot::net {
namespace {

std::uint32_t client_key(asio::ip::udp::endpoint const& e) { return e.address().to_v4().to_uint(); }
detail::tftp_peer peer_of(asio::ip::udp::endpoint const& e) {
  return {e.address().to_v4().to_uint(), e.port()};
}

detail::tftp_admission_limits admission_limits(tftp_server_options const& o) {
  return {.max_transfers = o.max_transfers,
          .max_per_client = o.max_per_client,
          .requests_per_second = o.requests_per_second,
          .request_burst = o.request_burst};
}

}  // namespace

tftp_server::tftp_server(asio::io_context& io, tftp_server_options opts, log_function log)
    : io_{io},
      opts_{std::move(opts)},
      log_{std::move(log)},
      socket_{io},
      wakeup_{io},
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
  // The one place the transport is chosen; reconfigure() keeps single_port.
  if (!transport_)
    transport_ =
        opts_.single_port ? detail::make_single_port_transport(*this) : detail::make_socket_transport(*this);
  udp_bind_options b{.address = opts_.listen_address,
                     .port = opts_.port,
                     .device = opts_.interface,
                     .reuse_address = true,
                     .receive_buffer = 4 << 20};  // RRQ bursts of a booting fleet
  if (auto ec = transport_->listen(b)) return ec;
  admission_->start(admission_limits(opts_), core::steady_clock::now());
  accepting_ = true;
  transport_->start();
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
  if (transport_) transport_->reconfigure(opts);
  opts_ = std::move(opts);
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
  if (transport_) {
    transport_->stop_accepting();
    return;
  }
  std::error_code ec;  // never started
  socket_.close(ec);
}

void tftp_server::stop() {
  stop_accepting();
  std::vector<transfer*> live;
  for (auto const& [p, t] : transfers_) live.push_back(p);
  for (auto* t : live) t->abort();
  if (transport_) transport_->stopped();
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
  auto d =
      admission_->decide(admission_limits(opts_), peer_of(from), req->filename, core::steady_clock::now());
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
  std::error_code ec;
  auto endpoint = transport_->open(*t, transfers_.size(), ec);
  if (!endpoint) {
    ++stats_.refused_busy;
    refuse(from, {}, "no transfer port available");
    // Reported like a finished transfer, so the log says why (out of descriptors has a fix).
    if (log_) log_(transfer::unopened_record(from, *req, ec));
    return;
  }
  t->attach(std::move(endpoint));
  auto* raw = t.get();
  transfers_.emplace(raw, std::move(t));
  admission_->admitted(raw, peer_of(from));
  ++stats_.started;

  auto opened = detail::open_request(*req, from_asio(from.address().to_v4()), opts_, root_fd_.get(),
                                     write_fd_.get(), cache_);
  if (auto* why = std::get_if<std::error_code>(&opened)) {
    raw->reject(*why);
  } else if (auto* sink = std::get_if<tftp::file_sink>(&opened)) {
    raw->start_write(std::move(*sink), *req);
  } else if (auto* file = std::get_if<detail::tftp_read_file>(&opened)) {
    raw->start_read(std::move(file->source), *req, std::move(file->root));
  }
}

void tftp_server::schedule(transfer& t, std::optional<core::time_point> at) noexcept {
  if (!at) {
    timers_.cancel(t);
    if (timers_.empty() && wakeup_at_) {
      // Nothing left to wait for: a pending wait would keep io_context::run() from returning.
      wakeup_at_.reset();
      wakeup_.cancel();
    }
    return;
  }
  timers_.schedule(t, *at);
  // A later deadline needs nothing more: the wakeup set for an earlier one finds it on the
  // wheel. on_wakeup() arms once, after firing.
  if (!expiring_ && (!wakeup_at_ || *at < *wakeup_at_)) arm_wakeup(*at);
}

void tftp_server::arm_wakeup(core::time_point at) {
  // Deadlines of many transfers share a wakeup: it is set on a 250 us grid (timer slack),
  // so a server with a thousand transfers wakes at most 4000 times a second, not once per
  // distinct deadline. Retransmission timers are 5 ms and more; pacing gaps lose at most
  // the slack.
  constexpr core::duration slack = std::chrono::microseconds{250};
  auto since = at.time_since_epoch();
  at = core::time_point{(since + slack - core::duration{1}) / slack * slack};
  if (wakeup_at_ && *wakeup_at_ == at) return;
  wakeup_at_ = at;
  wakeup_.expires_at(at);  // cancels a wait already set (its handler sees operation_aborted)
  wakeup_.async_wait([this](std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    wakeup_at_.reset();
    on_wakeup();
  });
}

void tftp_server::on_wakeup() {
  auto now = core::steady_clock::now();
  expiring_ = true;
  timers_.expire(now, [now](core::timer_wheel::hook& h) { static_cast<transfer&>(h).on_deadline(now); });
  expiring_ = false;
  if (auto next = timers_.next_expiry(); next && (!wakeup_at_ || *next < *wakeup_at_)) arm_wakeup(*next);
}

tftp::session_limits tftp_server::limits_for(std::uint32_t client) const {
  auto limits = opts_.limits;
  auto it = learned_.find(client);
  if (it != learned_.end() && core::steady_clock::now() - it->second.at < kLearnedFor)
    limits.remembered = it->second.path;
  return limits;
}

void tftp_server::finish(transfer* t, tftp_transfer_record const& rec) {
  auto it = transfers_.find(t);
  if (it == transfers_.end()) return;
  auto key = client_key(rec.client);
  admission_->finished(t, peer_of(rec.client));
  if (rec.not_found)
    ++stats_.not_found;
  else if (!rec.outcome)
    ++stats_.completed;
  else if (rec.outcome == tftp::errc::client_aborted)
    ++stats_.aborted_by_client;
  else
    ++stats_.failed;
  stats_.bytes += rec.bytes;
  stats_.retransmits += rec.stats.retransmits;
  switch (rec.write ? tftp::memory_update::keep : tftp::after_read(rec.stats, rec.outcome)) {
    case tftp::memory_update::keep:
      break;
    case tftp::memory_update::forget:
      learned_.erase(key);
      break;
    case tftp::memory_update::store:
      if (learned_.size() >= kMaxLearned && !learned_.contains(key)) learned_.clear();
      learned_[key] = {tftp::remember(rec.stats), core::steady_clock::now()};
      break;
  }
  if (log_) log_(rec);
  transfers_.erase(it);
  transport_->transfer_finished();
}

}  // namespace pinetboot::net
