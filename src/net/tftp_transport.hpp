/// @file
/// @brief How tftp_server's transfers reach their clients (private to pinetboot::net). One
/// transport is chosen at start(): a socket per transfer (tftp_transport_socket.cpp: Asio
/// waits on it, or under load the transport's own epoll set does), or single-port mode
/// (tftp_transport_single_port.cpp: every transfer on the listening socket, batched
/// recvmmsg/sendmmsg). The transfer (tftp_transfer.hpp) drives its engine and talks to its
/// client only through its endpoint.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <memory>
#include <span>
#include <system_error>

#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/net/udp.hpp"

namespace pinetboot::net::detail {

/// One transfer's side of the transport (its TID). Delivers the client's datagrams to the
/// transfer (transfer::on_datagram or ::deliver, then ::flush) from arm_receive() on.
class tftp_endpoint {
 public:
  tftp_endpoint() = default;
  tftp_endpoint(tftp_endpoint const&) = delete;
  tftp_endpoint& operator=(tftp_endpoint const&) = delete;
  virtual ~tftp_endpoint() = default;

  /// Room to receive a datagram of a transfer with this blksize (DATA for a receiver).
  virtual void size_receive(std::size_t blksize) = 0;
  /// Starts delivering datagrams (after the transfer's first flush).
  virtual void arm_receive() = 0;
  /// Where to write the next packet for the client: `tx` (the transfer's buffer) or a slot of
  /// the same size in a send batch (no copy).
  [[nodiscard]] virtual std::span<std::byte> send_buffer(std::span<std::byte> tx) = 0;
  /// Sends `packet`, written into the last send_buffer(), to the client. False: the socket is
  /// full (the engine counts the packet as sent; its retransmission timer recovers it).
  [[nodiscard]] virtual bool send_buffered(std::span<const std::byte> packet) = 0;
  /// Sends `packet` (an ERROR) from this transfer's TID to `to`; failures are ignored.
  virtual void send(std::span<const std::byte> packet, sockaddr_in const& to) = 0;
  /// After send_buffered() said full: flush the transfer again once the socket drains.
  virtual void wait_writable() = 0;
  /// No more I/O for the transfer (it finished).
  virtual void close() = 0;
};

/// The server's side of the transport: the listening socket's receive loop and the life of
/// the shared resources (epoll set, batches).
class tftp_transport {
 public:
  tftp_transport() = default;
  tftp_transport(tftp_transport const&) = delete;
  tftp_transport& operator=(tftp_transport const&) = delete;
  virtual ~tftp_transport() = default;

  /// Binds the server's listening socket with `b` (the transport may add to it).
  [[nodiscard]] virtual std::error_code listen(udp_bind_options b) = 0;
  /// Starts receiving on the listening socket (the server is accepting).
  virtual void start() = 0;
  /// Opens transfer `t`'s endpoint, `live` transfers already running. Null and `ec` set when
  /// no endpoint can be had (out of ports or descriptors).
  [[nodiscard]] virtual std::unique_ptr<tftp_endpoint> open(tftp_server::transfer& t, std::size_t live,
                                                            std::error_code& ec) = 0;
  /// reconfigure() is about to apply `next` (the server's options are still the old ones).
  virtual void reconfigure(tftp_server_options const& next) = 0;
  /// The server stopped accepting requests.
  virtual void stop_accepting() = 0;
  /// stop() aborted every live transfer.
  virtual void stopped() = 0;
  /// A finished transfer was removed from the server.
  virtual void transfer_finished() = 0;
};

[[nodiscard]] std::unique_ptr<tftp_transport> make_socket_transport(tftp_server& server);
[[nodiscard]] std::unique_ptr<tftp_transport> make_single_port_transport(tftp_server& server);

}  // namespace pinetboot::net::detail
