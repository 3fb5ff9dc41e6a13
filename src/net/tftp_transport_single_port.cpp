// The single-port transport (tftp_server_options::single_port, dnsmasq's tftp-single-port):
// every transfer answers from the listening socket, which receives and sends the datagrams
// of all transfers in batches (recvmmsg / sendmmsg); transfers are told apart by the
// client's address and port.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include <asio/error.hpp>
#include <asio/post.hpp>

#include "pinetboot/net/udp.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "tftp_admission.hpp"
#include "tftp_transfer.hpp"
#include "tftp_transport.hpp"

namespace pinetboot::net::detail {
namespace {

/// The receive and send batches: `count` slots each, one datagram per slot.
struct batch_io {
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

}  // namespace

class tftp_single_port_transport final : public tftp_transport {
 public:
  explicit tftp_single_port_transport(tftp_server& server) : server_{server} {}

  std::error_code listen(udp_bind_options b) override {
    b.send_buffer = 4 << 20;  // a batch of every transfer's DATA
    return open_udp(server_.socket_, b);
  }

  void start() override {
    batch_.size_for(server_.opts_.limits.negotiation.max_blksize);
    receive_batch();
  }

  std::unique_ptr<tftp_endpoint> open(tftp_server::transfer& t, std::size_t live,
                                      std::error_code& ec) override;

  void reconfigure(tftp_server_options const& next) override {
    // A larger maximum blksize needs larger slots (not called inside a round).
    flush_sends();
    batch_.size_for(next.limits.negotiation.max_blksize);
  }

  // The live transfers still need the socket: closed with the last one.
  void stop_accepting() override { close_if_idle(); }

  void stopped() override {
    flush_sends();  // the aborted transfers' ERRORs
    std::error_code ec;
    server_.socket_.close(ec);
  }

  void transfer_finished() override { close_if_idle(); }

  /// Room for one packet of up to `size` bytes in the send batch (sent first if full).
  [[nodiscard]] std::span<std::byte> send_slot(std::size_t size) {
    auto& b = batch_;
    if (b.tx_count == b.count) flush_sends();
    if (size > b.tx_slot) return {};  // cannot happen: slots fit the largest blksize ever allowed
    return {b.tx.data() + b.tx_count * b.tx_slot, size};
  }

  /// Queues the `n` bytes written into the last send_slot() for `to`.
  void commit_send(std::size_t n, sockaddr_in const& to) {
    auto& b = batch_;
    b.tx_to[b.tx_count] = to;
    b.tx_iov[b.tx_count].iov_len = n;
    ++b.tx_count;
    if (!b.in_round && !b.flush_posted) {
      b.flush_posted = true;
      asio::post(server_.io_, [this] {
        batch_.flush_posted = false;
        flush_sends();
      });
    }
  }

  /// Copies `data` into the send batch for `to`.
  void queue_send(std::span<const std::byte> data, sockaddr_in const& to) {
    auto slot = send_slot(data.size());
    if (slot.size() < data.size()) return;
    std::copy(data.begin(), data.end(), slot.begin());
    commit_send(data.size(), to);
  }

 private:
  void close_if_idle() {
    if (server_.accepting_ || !server_.transfers_.empty()) return;
    flush_sends();
    std::error_code ec;
    server_.socket_.close(ec);
  }

  void receive_batch() {
    auto& s = server_.socket_;
    s.async_wait(asio::ip::udp::socket::wait_read, [this, &s](std::error_code ec) {
      if (ec == asio::error::operation_aborted || !s.is_open()) return;
      if (!ec) on_batch_ready();
      if (s.is_open()) receive_batch();
    });
  }

  void on_batch_ready() {
    auto& b = batch_;
    b.in_round = true;
    // A few batches per wakeup, then back to Asio so timers and the DHCP side get their turn.
    for (int round = 0; round < 8; ++round) {
      // The headers point at the slots (size_for); recvmmsg shortens the address lengths.
      for (std::size_t i = 0; i < b.count; ++i) b.rx_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      int n;
      do {
        n = ::recvmmsg(server_.socket_.native_handle(), b.rx_msgs.data(), static_cast<unsigned>(b.count),
                       MSG_DONTWAIT, nullptr);
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

  void dispatch(std::span<const std::byte> data, sockaddr_in const& from) {
    auto op = tftp::parse_opcode(data);
    std::uint32_t addr = ntohl(from.sin_addr.s_addr);
    std::uint16_t port = ntohs(from.sin_port);
    if (op && (*op == tftp::opcode::rrq || *op == tftp::opcode::wrq)) {
      if (server_.accepting_)
        server_.on_request(data, asio::ip::udp::endpoint{asio::ip::address_v4{addr}, port});
      return;
    }
    if (auto* t = server_.admission_->find({addr, port})) {
      if (t->finished()) return;
      t->deliver(data);
      t->flush();
      return;
    }
    // No transfer of this client's: ERROR 5, as from a transfer port (never answer an ERROR).
    if (op && *op == tftp::opcode::error) return;
    ++server_.stats_.wrong_tid;
    std::array<std::byte, 64> buf{};
    if (auto m = tftp::write_error(buf, tftp::errc::unknown_tid)) queue_send(std::span{buf}.first(*m), from);
  }

  void flush_sends() {
    auto& b = batch_;
    std::size_t done = 0;
    auto& s = server_.socket_;
    while (done < b.tx_count && s.is_open()) {
      int n = ::sendmmsg(s.native_handle(), b.tx_msgs.data() + done, static_cast<unsigned>(b.tx_count - done),
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

  tftp_server& server_;
  batch_io batch_;
};

namespace {

/// A transfer on the listening socket: its packets go into the send batch, its client's
/// datagrams come from the receive batch (dispatch()).
class single_port_endpoint final : public tftp_endpoint {
 public:
  single_port_endpoint(tftp_single_port_transport& transport, tftp_server::transfer& t)
      : transport_{transport}, transfer_{t} {}

  void size_receive(std::size_t) override {}  // datagrams arrive in the receive batch
  void arm_receive() override {}
  // Straight into the send batch (no copy); sent with one sendmmsg.
  std::span<std::byte> send_buffer(std::span<std::byte> tx) override {
    return transport_.send_slot(tx.size());
  }
  bool send_buffered(std::span<const std::byte> packet) override {
    transport_.commit_send(packet.size(), transfer_.peer());
    return true;
  }
  void send(std::span<const std::byte> packet, sockaddr_in const& to) override {
    transport_.queue_send(packet, to);
  }
  void wait_writable() override {}  // send_buffered() never says full
  void close() override {}

 private:
  tftp_single_port_transport& transport_;
  tftp_server::transfer& transfer_;
};

}  // namespace

std::unique_ptr<tftp_endpoint> tftp_single_port_transport::open(tftp_server::transfer& t, std::size_t,
                                                                std::error_code& ec) {
  ec = {};
  return std::make_unique<single_port_endpoint>(*this, t);
}

std::unique_ptr<tftp_transport> make_single_port_transport(tftp_server& server) {
  return std::make_unique<tftp_single_port_transport>(server);
}

}  // namespace pinetboot::net::detail
