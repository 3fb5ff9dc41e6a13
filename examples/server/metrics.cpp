#include "metrics.hpp"

#include <cstdio>
#include <sstream>

#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

namespace pinetboot::server {

std::string metrics::render() const {
  std::ostringstream o;
  o << "# HELP pinetboot_dhcp_messages_total DHCP requests received, by message type and client class.\n"
       "# TYPE pinetboot_dhcp_messages_total counter\n";
  for (auto const& [k, v] : dhcp_messages)
    o << "pinetboot_dhcp_messages_total{type=\"" << k.first << "\",class=\"" << k.second << "\"} " << v << "\n";
  o << "# HELP pinetboot_dhcp_replies_total DHCP replies sent, by message type.\n"
       "# TYPE pinetboot_dhcp_replies_total counter\n";
  for (auto const& [k, v] : dhcp_replies) o << "pinetboot_dhcp_replies_total{type=\"" << k << "\"} " << v << "\n";
  o << "# HELP pinetboot_dhcp_ignored_total DHCP messages not answered (not ours, malformed, no address).\n"
       "# TYPE pinetboot_dhcp_ignored_total counter\npinetboot_dhcp_ignored_total "
    << dhcp_ignored << "\n";
  o << "# HELP pinetboot_tftp_transfers_total Finished TFTP transfers by outcome.\n"
       "# TYPE pinetboot_tftp_transfers_total counter\n";
  for (auto const& [k, v] : tftp_transfers) o << "pinetboot_tftp_transfers_total{outcome=\"" << k << "\"} " << v << "\n";
  o << "# HELP pinetboot_tftp_bytes_total Payload bytes moved by TFTP.\n# TYPE pinetboot_tftp_bytes_total counter\n"
    << "pinetboot_tftp_bytes_total " << tftp_bytes << "\n";
  o << "# HELP pinetboot_tftp_retransmits_total TFTP packets sent again.\n"
       "# TYPE pinetboot_tftp_retransmits_total counter\npinetboot_tftp_retransmits_total "
    << tftp_retransmits << "\n";
  o << "# HELP pinetboot_tftp_active_transfers Transfers in progress.\n# TYPE pinetboot_tftp_active_transfers gauge\n"
    << "pinetboot_tftp_active_transfers " << (tftp_active ? tftp_active() : 0) << "\n";
  o << "# HELP pinetboot_boot_seconds Time from a board's first DHCPDISCOVER to its kernel served.\n"
       "# TYPE pinetboot_boot_seconds histogram\n";
  for (auto const& [cls, h] : boot_seconds) {
    for (std::size_t i = 0; i < histogram::bounds.size(); ++i)
      o << "pinetboot_boot_seconds_bucket{class=\"" << cls << "\",le=\"" << histogram::bounds[i] << "\"} "
        << h.counts[i] << "\n";
    o << "pinetboot_boot_seconds_bucket{class=\"" << cls << "\",le=\"+Inf\"} " << h.count << "\n";
    o << "pinetboot_boot_seconds_sum{class=\"" << cls << "\"} " << h.sum << "\n";
    o << "pinetboot_boot_seconds_count{class=\"" << cls << "\"} " << h.count << "\n";
  }
  o << "# HELP pinetboot_reloads_total Configuration reloads (SIGHUP), and those that failed.\n"
       "# TYPE pinetboot_reloads_total counter\npinetboot_reloads_total "
    << reloads << "\npinetboot_reload_failures_total " << reload_failures << "\n";
  o << "# HELP pinetboot_descriptor_exhaustion_total TFTP requests or transfers that failed because the "
       "process or system ran out of file descriptors (raise LimitNOFILE / ulimit -n).\n"
       "# TYPE pinetboot_descriptor_exhaustion_total counter\npinetboot_descriptor_exhaustion_total "
    << descriptor_exhaustion << "\n";
  o << "# HELP pinetboot_lease_compaction_failures_total Lease journal compactions that failed (the "
       "journal keeps growing until one succeeds).\n"
       "# TYPE pinetboot_lease_compaction_failures_total counter\npinetboot_lease_compaction_failures_total "
    << (lease_compaction_failures ? lease_compaction_failures() : 0) << "\n";
  return o.str();
}

metrics_endpoint::metrics_endpoint(asio::io_context& io, metrics const& m) : m_{m}, acceptor_{io} {}

std::error_code metrics_endpoint::start(std::string const& listen) {
  auto colon = listen.rfind(':');
  std::error_code ec;
  auto addr = asio::ip::make_address_v4(listen.substr(0, colon), ec);
  if (ec) return ec;
  asio::ip::tcp::endpoint ep{addr, static_cast<std::uint16_t>(std::atoi(listen.substr(colon + 1).c_str()))};
  acceptor_.open(ep.protocol(), ec);
  if (ec) return ec;
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor_.bind(ep, ec);
  if (ec) return ec;
  acceptor_.listen(16, ec);
  if (ec) return ec;
  accept();
  return {};
}

void metrics_endpoint::stop() {
  std::error_code ec;
  acceptor_.close(ec);
}

std::uint16_t metrics_endpoint::port() const {
  std::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void metrics_endpoint::accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
      auto buf = std::make_shared<asio::streambuf>(8192);
      asio::async_read_until(*sock, *buf, "\r\n\r\n", [this, sock, buf](std::error_code rec, std::size_t) {
        if (rec) return;
        std::istream in{buf.get()};
        std::string method, path;
        in >> method >> path;
        auto body = std::make_shared<std::string>();
        if (method == "GET" && (path == "/metrics" || path == "/")) {
          auto text = m_.render();
          *body = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                  std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text;
        } else {
          *body = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        }
        asio::async_write(*sock, asio::buffer(*body), [sock, body](std::error_code, std::size_t) {
          std::error_code e;
          sock->shutdown(asio::ip::tcp::socket::shutdown_both, e);
        });
      });
    }
    accept();
  });
}

}  // namespace pinetboot::server
