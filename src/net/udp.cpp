#include "pinetboot/net/udp.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <asio/error.hpp>

namespace pinetboot::net {
namespace {
std::error_code errno_code() { return {errno, std::generic_category()}; }

// Asio reports system errors in its own category; map them to the generic one so callers
// can compare with std::errc.
std::error_code normalize(std::error_code ec) {
  if (ec && ec.category() == asio::error::get_system_category()) return {ec.value(), std::generic_category()};
  return ec;
}

std::error_code set_int(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return errno_code();
  return {};
}
}  // namespace

std::error_code open_udp(asio::ip::udp::socket& socket, udp_bind_options const& opts) {
  std::error_code ec;
  socket.open(asio::ip::udp::v4(), ec);
  if (ec) return normalize(ec);
  int fd = socket.native_handle();
  if (opts.reuse_address) {
    if (auto e = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) return e;
  }
  if (opts.broadcast) {
    if (auto e = set_int(fd, SOL_SOCKET, SO_BROADCAST, 1)) return e;
  }
  if (opts.pktinfo) {
    if (auto e = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1)) return e;
  }
  if (opts.receive_buffer > 0) {
    // SO_RCVBUFFORCE passes net.core.rmem_max when we still have CAP_NET_ADMIN (the servers
    // bind before dropping root); otherwise the kernel caps SO_RCVBUF at rmem_max.
    if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, opts.receive_buffer)) {
      if (auto e = set_int(fd, SOL_SOCKET, SO_RCVBUF, opts.receive_buffer)) return e;
    }
  }
  if (opts.send_buffer > 0) {
    if (auto e = set_int(fd, SOL_SOCKET, SO_SNDBUF, opts.send_buffer)) return e;
  }
  if (!opts.device.empty()) {
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, opts.device.c_str(),
                     static_cast<socklen_t>(opts.device.size())) != 0)
      return errno_code();
  }
  socket.non_blocking(true, ec);
  if (ec) return normalize(ec);
  socket.bind(asio::ip::udp::endpoint{to_asio(opts.address), opts.port}, ec);
  return normalize(ec);
}

result<datagram_info> receive_from(asio::ip::udp::socket& socket, std::span<std::byte> buffer) noexcept {
  sockaddr_in from{};
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket.native_handle(), &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_code();
  datagram_info info;
  info.size = static_cast<std::size_t>(n);
  info.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  info.from = asio::ip::udp::endpoint{asio::ip::address_v4{ntohl(from.sin_addr.s_addr)}, ntohs(from.sin_port)};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi{};
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      info.ifindex = pi.ipi_ifindex;
      info.local = core::ipv4_address{ntohl(pi.ipi_addr.s_addr)};
      info.spec_dst = core::ipv4_address{ntohl(pi.ipi_spec_dst.s_addr)};
    }
  }
  return info;
}

std::error_code send_to(asio::ip::udp::socket& socket, std::span<const std::byte> data,
                        asio::ip::udp::endpoint const& to, int ifindex, core::ipv4_address source) noexcept {
  sockaddr_in dst = to_sockaddr(to);
  iovec iov{const_cast<std::byte*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = &dst;
  msg.msg_namelen = sizeof dst;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (ifindex != 0 || !source.is_unspecified()) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_ifindex = ifindex;
    pi.ipi_spec_dst.s_addr = htonl(source.to_uint());
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket.native_handle(), &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_code();
  return {};
}

result<core::ipv4_address> interface_address(std::string const& name) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return errno_code();
  result<core::ipv4_address> found{std::make_error_code(std::errc::no_such_device_or_address)};
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || name != i->ifa_name) continue;
    sockaddr_in sin{};
    std::memcpy(&sin, i->ifa_addr, sizeof sin);
    found = core::ipv4_address{ntohl(sin.sin_addr.s_addr)};
    break;
  }
  ::freeifaddrs(list);
  return found;
}

result<int> interface_index(std::string const& name) {
  unsigned idx = ::if_nametoindex(name.c_str());
  if (idx == 0) return errno_code();
  return static_cast<int>(idx);
}

}  // namespace pinetboot::net
