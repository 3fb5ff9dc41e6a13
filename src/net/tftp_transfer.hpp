/// @file
/// @brief One live TFTP transfer of tftp_server (private to pinetboot::net): the engine, its
/// timer, the transfer log record; its datagrams go through an endpoint of the server's
/// transport (tftp_transport.hpp), whichever it is.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "pinetboot/core/time.hpp"
#include "pinetboot/core/timer_wheel.hpp"
#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "pinetboot/tftp/write_session.hpp"
#include "tftp_transport.hpp"

namespace pinetboot::net {

/// A transfer is its own entry on the server's timer wheel (tftp_server::timers_).
class tftp_server::transfer : public core::timer_wheel::hook {
 public:
  using read_engine = tftp::read_session<tftp::file_source>;
  using write_engine = tftp::write_session<tftp::file_sink>;

  transfer(tftp_server& server, asio::ip::udp::endpoint peer, std::string file);
  transfer(transfer const&) = delete;
  transfer& operator=(transfer const&) = delete;
  ~transfer() { server_.timers_.cancel(*this); }

  /// The log record of a request refused because no endpoint could be opened (`why`), so
  /// the log says why (out of descriptors has a fix).
  [[nodiscard]] static tftp_transfer_record unopened_record(asio::ip::udp::endpoint const& client,
                                                            tftp::request_view const& req,
                                                            std::error_code why);

  /// The endpoint the transport opened for this transfer (before anything is sent).
  void attach(std::unique_ptr<detail::tftp_endpoint> ep) noexcept { endpoint_ = std::move(ep); }

  void start_read(tftp::file_source src, tftp::request_view const& rrq, std::string root_name);
  void start_write(tftp::file_sink sink, tftp::request_view const& wrq);

  [[nodiscard]] std::string const& file() const noexcept { return record_.file; }
  /// True once the client answered on this transfer's port: its request was not lost, so a
  /// later request from the same address and port is a new transfer (ports get reused).
  [[nodiscard]] bool heard_from_client() const noexcept { return heard_; }
  [[nodiscard]] bool finished() const noexcept { return finished_; }
  [[nodiscard]] tftp_server& server() const noexcept { return server_; }
  /// The client's address and port (network byte order).
  [[nodiscard]] sockaddr_in const& peer() const noexcept { return peer_sa_; }

  /// The client repeated its request: it has not seen our first answer (OACK or DATA 1), so
  /// resend now instead of waiting for our retransmission timer, which before any RTT sample
  /// runs a whole second (RFC 6298 2.1).
  void on_repeated_request();

  /// Sends one ERROR from this transfer's TID and finishes (RFC 1350: errors to a request
  /// come from a new TID, like the transfer would).
  void reject(std::error_code why);

  /// Ends the transfer. `tell_client`: send it an ERROR first (not when the client has
  /// visibly moved on to another request from the same port).
  void abort(bool tell_client = true);

  /// A datagram `in` for this transfer's TID, from `addr`:`port` (host byte order): to the
  /// engine if from the client, else ERROR 5 to the stranger.
  void on_datagram(std::span<const std::byte> in, std::uint32_t addr, std::uint16_t port);
  /// A datagram known to come from this transfer's client, to the engine.
  void deliver(std::span<const std::byte> in);
  /// Sends what the engine has to send, finishes the transfer if it is done, sets its deadline.
  void flush();
  /// Its deadline (the engine's next_deadline()) came: the server's timer wheel calls this.
  void on_deadline(core::time_point now);

 private:
  template <class F>
  void visit(F&& f) {
    if (auto* r = std::get_if<read_engine>(&engine_))
      f(*r);
    else if (auto* w = std::get_if<write_engine>(&engine_))
      f(*w);
  }

  void size_buffers(std::size_t blksize);
  void run();
  void set_deadline();
  [[nodiscard]] bool is_done();
  void complete();
  void done();

  tftp_server& server_;
  std::unique_ptr<detail::tftp_endpoint> endpoint_;
  asio::ip::udp::endpoint peer_;
  sockaddr_in peer_sa_{};
  std::optional<tftp::file_source> source_;
  std::optional<tftp::file_sink> sink_;
  std::variant<std::monostate, read_engine, write_engine> engine_;
  std::vector<std::byte> tx_;
  tftp_transfer_record record_;
  core::time_point started_;
  bool heard_ = false;
  bool finished_ = false;
};

}  // namespace pinetboot::net
