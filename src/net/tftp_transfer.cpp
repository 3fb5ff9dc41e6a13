// tftp_server::transfer: drives one engine through its endpoint, and builds the transfer's
// log record (tftp_transfer_record) - every place that fills one is in this file.
#include "tftp_transfer.hpp"

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

namespace pinetboot::net {
namespace {

std::uint32_t client_key(asio::ip::udp::endpoint const& e) { return e.address().to_v4().to_uint(); }

bool is_not_found(std::error_code ec) {
  return ec == tftp::errc::file_not_found || ec == std::errc::no_such_file_or_directory;
}

}  // namespace

tftp_transfer_record tftp_server::transfer::unopened_record(asio::ip::udp::endpoint const& client,
                                                            tftp::request_view const& req,
                                                            std::error_code why) {
  tftp_transfer_record rec;
  rec.client = client;
  rec.file = std::string{req.filename};
  rec.write = req.op == tftp::opcode::wrq;
  rec.outcome = why;
  rec.normal = false;
  return rec;
}

tftp_server::transfer::transfer(tftp_server& server, asio::ip::udp::endpoint peer, std::string file)
    : server_{server}, peer_{std::move(peer)}, peer_sa_{to_sockaddr(peer_)} {
  record_.client = peer_;
  record_.file = std::move(file);
  started_ = core::steady_clock::now();
}

void tftp_server::transfer::start_read(tftp::file_source src, tftp::request_view const& rrq,
                                       std::string root_name) {
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

void tftp_server::transfer::start_write(tftp::file_sink sink, tftp::request_view const& wrq) {
  sink_ = std::move(sink);
  record_.write = true;
  engine_.emplace<write_engine>(*sink_, server_.opts_.limits, wrq);
  auto const& o = std::get<write_engine>(engine_).options();
  size_buffers(o.blksize);
  record_.blksize = o.blksize;
  record_.windowsize = o.windowsize;
  run();
}

void tftp_server::transfer::on_repeated_request() {
  if (finished_) return;
  auto now = core::steady_clock::now();
  visit([&](auto& e) { e.on_repeated_request(now); });
  flush();
}

void tftp_server::transfer::reject(std::error_code why) {
  size_buffers(512);
  if (auto n = tftp::write_error(tx_, why)) endpoint_->send(std::span{tx_}.first(*n), peer_sa_);
  record_.outcome = why;
  record_.not_found = is_not_found(why);
  record_.normal = record_.not_found;
  done();
}

void tftp_server::transfer::abort(bool tell_client) {
  if (finished_) return;
  std::array<std::byte, 64> buf{};
  if (auto n = tftp::write_error(buf, tftp::errc::timed_out); n && tell_client)
    endpoint_->send(std::span{buf}.first(*n), peer_sa_);
  visit([&](auto& e) {
    record_.stats = e.stats();
    record_.bytes = e.stats().bytes;
  });
  record_.outcome = make_error_code(tftp::errc::timed_out);
  record_.normal = false;
  if (sink_) sink_->abort();
  done();
}

void tftp_server::transfer::size_buffers(std::size_t blksize) {
  tx_.resize(blksize + 4);
  endpoint_->size_receive(blksize);
}

void tftp_server::transfer::run() {
  flush();
  if (!finished_) endpoint_->arm_receive();
}

void tftp_server::transfer::on_datagram(std::span<const std::byte> in, std::uint32_t addr,
                                        std::uint16_t port) {
  if (finished_) return;
  if (htonl(addr) != peer_sa_.sin_addr.s_addr || htons(port) != peer_sa_.sin_port) {
    // RFC 1350 section 4: a packet from a foreign TID gets ERROR 5 and is otherwise ignored.
    ++server_.stats_.wrong_tid;
    std::array<std::byte, 64> buf{};
    if (auto m = tftp::write_error(buf, tftp::errc::unknown_tid))
      endpoint_->send(std::span{buf}.first(*m), to_sockaddr(addr, port));
    return;
  }
  deliver(in);
}

void tftp_server::transfer::deliver(std::span<const std::byte> in) {
  auto now = core::steady_clock::now();
  heard_ = true;
  visit([&](auto& e) { e.on_datagram(in, now); });
}

void tftp_server::transfer::flush() {
  auto now = core::steady_clock::now();
  bool blocked = false;
  visit([&](auto& e) {
    for (;;) {
      auto out = endpoint_->send_buffer(tx_);
      auto n = e.poll_transmit(out, now);
      if (!n || *n == 0) break;
      if (!endpoint_->send_buffered(out.first(*n))) {
        blocked = true;
        break;
      }
    }
  });
  if (is_done()) {
    complete();
    return;
  }
  if (blocked) endpoint_->wait_writable();
  set_deadline();
}

void tftp_server::transfer::set_deadline() {
  std::optional<core::time_point> deadline;
  visit([&](auto& e) { deadline = e.next_deadline(); });
  server_.schedule(*this, deadline);
}

void tftp_server::transfer::on_deadline(core::time_point now) {
  if (finished_) return;
  // The engine's own idle timeout (session_limits::idle_timeout) ends a silent transfer with
  // an ERROR and errc::peer_silent (a retry budget running out: errc::timed_out).
  visit([&](auto& e) {
    if (auto d = e.next_deadline(); d && *d <= now) e.on_timer(now);
  });
  flush();
}

bool tftp_server::transfer::is_done() {
  bool d = true;
  visit([&](auto& e) { d = e.is_done(); });
  return d;
}

void tftp_server::transfer::complete() {
  visit([&](auto& e) {
    record_.stats = e.stats();
    record_.outcome = e.close_reason();
    record_.normal = e.ended_normally();
    record_.bytes = e.stats().bytes;
  });
  done();
}

void tftp_server::transfer::done() {
  if (finished_) return;
  finished_ = true;
  record_.elapsed = core::steady_clock::now() - started_;
  server_.schedule(*this, std::nullopt);
  endpoint_->close();
  // Defer destruction: we may be inside one of our own handlers.
  asio::post(server_.io_, [s = &server_, self = this, rec = record_] { s->finish(self, rec); });
}

}  // namespace pinetboot::net
