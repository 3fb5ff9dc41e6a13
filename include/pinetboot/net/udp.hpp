/// @file
/// @brief UDP socket helpers shared by the TFTP and DHCP adapters: binding with the options
/// netboot servers need (SO_BINDTODEVICE, SO_BROADCAST, IP_PKTINFO, SO_REUSEADDR), and
/// receive/send that carry the local address and interface of each datagram.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include <asio/ip/udp.hpp>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"

namespace pinetboot::net {

struct udp_bind_options {
  core::ipv4_address address{};  ///< 0.0.0.0 = any
  std::uint16_t port = 0;        ///< 0 = ephemeral
  std::string device;            ///< SO_BINDTODEVICE when not empty (needs CAP_NET_RAW)
  bool broadcast = false;        ///< SO_BROADCAST (DHCP replies to 255.255.255.255)
  bool pktinfo = false;          ///< IP_PKTINFO: learn the receiving interface and address
  bool reuse_address = false;    ///< SO_REUSEADDR
  int receive_buffer = 0;        ///< SO_RCVBUF in bytes (0 = system default)
  int send_buffer = 0;           ///< SO_SNDBUF in bytes (0 = system default)
};

/// Opens and binds a UDP/IPv4 socket. Errors: the system call's error (address in use,
/// permission denied, no such device).
[[nodiscard]] std::error_code open_udp(asio::ip::udp::socket& socket, udp_bind_options const& opts);

/// A received datagram's metadata.
struct datagram_info {
  std::size_t size = 0;
  asio::ip::udp::endpoint from;
  core::ipv4_address local;     ///< destination address of the datagram (IP_PKTINFO ipi_addr)
  core::ipv4_address spec_dst;  ///< local address the kernel would answer from (ipi_spec_dst)
  int ifindex = 0;              ///< receiving interface (0 if unknown)
  bool truncated = false;       ///< MSG_TRUNC: datagram larger than the buffer
};

/// Non-blocking recvmsg with IP_PKTINFO. Returns `std::errc::operation_would_block` when no
/// datagram is queued.
[[nodiscard]] result<datagram_info> receive_from(asio::ip::udp::socket& socket,
                                                 std::span<std::byte> buffer) noexcept;

/// sendmsg to `to`, leaving from interface `ifindex` / source `source` when given (IP_PKTINFO),
/// so a server bound to 0.0.0.0 answers from the address the client talked to.
[[nodiscard]] std::error_code send_to(asio::ip::udp::socket& socket, std::span<const std::byte> data,
                                      asio::ip::udp::endpoint const& to, int ifindex = 0,
                                      core::ipv4_address source = {}) noexcept;

/// An IPv4 socket address from a host-order address and port.
[[nodiscard]] inline sockaddr_in to_sockaddr(std::uint32_t address, std::uint16_t port) noexcept {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(address);
  return sa;
}
[[nodiscard]] inline sockaddr_in to_sockaddr(asio::ip::udp::endpoint const& e) noexcept {
  return to_sockaddr(e.address().to_v4().to_uint(), e.port());
}

/// Converts between core and Asio address types.
[[nodiscard]] inline asio::ip::address_v4 to_asio(core::ipv4_address a) noexcept {
  return asio::ip::address_v4{a.to_uint()};
}
[[nodiscard]] inline core::ipv4_address from_asio(asio::ip::address_v4 a) noexcept {
  return core::ipv4_address{a.to_uint()};
}

/// The first IPv4 address of interface `name` (e.g. to fill option 54), or an error.
[[nodiscard]] result<core::ipv4_address> interface_address(std::string const& name);
/// The interface index of `name` (0 and an error if unknown).
[[nodiscard]] result<int> interface_index(std::string const& name);

}  // namespace pinetboot::net
