// Test harness: a client engine and the server engine it talks to, wired by lossy_link. The
// server session is created from the client's first request (which does not cross the link).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "pinetboot/tftp/client_session.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "pinetboot/tftp/write_session.hpp"
#include "support/lossy_link.hpp"
#include "support/memory_source.hpp"

namespace pinetboot::tftp::testing {

inline time_point t0() { return time_point{} + std::chrono::hours{1}; }

inline std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed = 1) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761U + 1;
  for (auto& b : v) {
    x = x * 1664525U + 1013904223U;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

/// A download: client_reader<Sink> against read_session<Source>.
template <class Source, class Sink = test::memory_sink>
struct download {
  Source& src;
  client_config ccfg;
  session_limits slimits;
  Sink sink{};
  std::optional<client_reader<Sink>> client;
  std::optional<read_session<Source>> server;
  std::vector<std::byte> rrq;

  download(Source& s, client_config const& c, session_limits const& l, char const* name = "file.bin")
      : src{s}, ccfg{c}, slimits{l} {
    client.emplace(sink, ccfg, name);
    std::vector<std::byte> buf(max_packet_size);
    auto n = client->poll_transmit(buf, t0());
    EXPECT_TRUE(n && *n > 0);
    rrq.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n.value_or(0)));
    auto req = parse_request(rrq);
    EXPECT_TRUE(req) << req.error().message();
    if (req) server.emplace(src, slimits, *req);
  }

  test::link_stats run(test::link_config lc, std::function<bool(time_point)> const& stop = {}) {
    test::lossy_link link{std::move(lc)};
    return link.run(*client, *server, t0(), stop);
  }
};

/// An upload: client_writer<Source> against write_session<Sink>.
template <class Source, class Sink = test::memory_sink>
struct upload {
  Source& src;
  client_config ccfg;
  session_limits slimits;
  Sink sink{};
  std::optional<client_writer<Source>> client;
  std::optional<write_session<Sink>> server;
  std::vector<std::byte> wrq;

  upload(Source& s, client_config const& c, session_limits const& l) : src{s}, ccfg{c}, slimits{l} {
    client.emplace(src, ccfg, "upload.bin");
    std::vector<std::byte> buf(max_packet_size);
    auto n = client->poll_transmit(buf, t0());
    EXPECT_TRUE(n && *n > 0);
    wrq.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n.value_or(0)));
    auto req = parse_request(wrq);
    EXPECT_TRUE(req) << req.error().message();
    if (req) server.emplace(sink, slimits, *req);
  }

  test::link_stats run(test::link_config lc) {
    test::lossy_link link{std::move(lc)};
    return link.run(*client, *server, t0());
  }
};

}  // namespace pinetboot::tftp::testing
