// Deterministic, seeded network simulator for sans-I/O TFTP sessions (after ngtcp2's sim.h):
// moves datagrams between a client engine and a server engine in SIMULATED time with loss,
// duplication, reordering, delay, a bandwidth-limited bottleneck with a drop-tail queue, and
// per-packet drop hooks. Time advances to the earliest of the engines' deadlines and the
// in-flight deliveries, so a run is exact and repeatable for a given seed.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/session.hpp"

namespace pinetboot::test {

enum class direction : std::uint8_t { to_server, to_client };

struct link_config {
  std::uint64_t seed = 1;
  tftp::duration delay = std::chrono::milliseconds{1};  ///< one-way propagation delay
  double loss = 0;                                      ///< drop probability, both directions
  double loss_to_server = 0;  ///< extra drop probability client -> server (ACK-only loss for reads)
  double loss_to_client = 0;  ///< extra drop probability server -> client
  double duplicate = 0;       ///< probability a datagram is delivered twice
  double reorder = 0;         ///< probability a datagram is held back by reorder_delay
  tftp::duration reorder_delay = std::chrono::microseconds{1500};
  /// Bottleneck server -> client: bytes per second (0 = infinite) and queue length in packets
  /// (0 = unlimited). A full queue drops (tail drop).
  std::uint64_t rate_bytes_per_s = 0;
  std::size_t queue_limit = 0;
  tftp::duration max_time = std::chrono::hours{2};
  std::size_t buffer_size = tftp::max_packet_size;
  std::uint64_t max_steps = 50'000'000;  ///< guard against an engine that never advances
  /// Returns true to drop this datagram (deterministic scenarios); `index` counts datagrams
  /// sent in that direction so far, from 0.
  std::function<bool(direction, std::span<const std::byte>, std::uint64_t index)> drop_if;
};

struct link_stats {
  std::array<std::uint64_t, 7> server_sent{};  ///< by opcode (index = opcode value)
  std::array<std::uint64_t, 7> client_sent{};
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t delivered = 0;
  tftp::time_point start{};
  tftp::time_point end{};
  std::optional<tftp::time_point> client_complete;  ///< first time the client had all data
  bool finished = false;                            ///< both engines done
  bool stalled = false;                             ///< no deadlines and nothing in flight, but not done
  [[nodiscard]] tftp::duration elapsed() const { return end - start; }
  [[nodiscard]] tftp::duration transfer_time() const { return client_complete.value_or(end) - start; }
  [[nodiscard]] std::uint64_t data_sent() const { return server_sent[3]; }
};

class lossy_link {
 public:
  explicit lossy_link(link_config cfg) : cfg_{std::move(cfg)}, rng_{mix(cfg_.seed ^ 0x5851F42D4C957F2DULL)} {
    buf_.resize(cfg_.buffer_size);
  }

  /// Runs until both engines are done, `stop(now)` returns true, nothing can happen any more,
  /// or max_time passes.
  template <class Client, class Server>
  link_stats run(Client& client, Server& server, tftp::time_point start,
                 std::function<bool(tftp::time_point)> const& stop = {}) {
    link_stats st;
    st.start = start;
    now_ = start;
    for (std::uint64_t step = 0; step < cfg_.max_steps; ++step) {
      flush(client, direction::to_server, st);
      flush(server, direction::to_client, st);
      note_complete(client, st);
      if (client.is_done() && server.is_done()) {
        st.finished = true;
        break;
      }
      if (stop && stop(now_)) break;
      std::optional<tftp::time_point> next;
      auto take = [&](std::optional<tftp::time_point> t) {
        if (t && (!next || *t < *next)) next = t;
      };
      take(client.next_deadline());
      take(server.next_deadline());
      if (!flight_.empty()) take(std::min_element(flight_.begin(), flight_.end())->at);
      if (!next) {
        st.stalled = true;
        break;
      }
      now_ = std::max(now_, *next);
      if (now_ - start > cfg_.max_time) break;
      // Deliver everything due, earliest first, letting each receiver answer at once.
      for (;;) {
        auto it = std::min_element(flight_.begin(), flight_.end());
        if (it == flight_.end() || it->at > now_) break;
        packet p = std::move(*it);
        *it = std::move(flight_.back());
        flight_.pop_back();
        ++st.delivered;
        if (p.dir == direction::to_server) {
          server.on_datagram(p.bytes, now_);
          flush(server, direction::to_client, st);
        } else {
          client.on_datagram(p.bytes, now_);
          flush(client, direction::to_server, st);
        }
      }
      if (auto d = client.next_deadline(); d && *d <= now_) client.on_timer(now_);
      if (auto d = server.next_deadline(); d && *d <= now_) server.on_timer(now_);
    }
    note_complete(client, st);
    st.end = now_;
    return st;
  }

  [[nodiscard]] tftp::time_point now() const { return now_; }

 private:
  struct packet {
    tftp::time_point at;
    std::uint64_t order;
    direction dir;
    std::vector<std::byte> bytes;
    friend bool operator<(packet const& a, packet const& b) {
      return a.at != b.at ? a.at < b.at : a.order < b.order;
    }
  };

  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  std::uint64_t next_u64() { return mix(rng_ += 0x9E3779B97F4A7C15ULL); }
  // splitmix64's finalizer: same sequence on every platform. Seeds are mixed too, so that
  // seeds 1, 2, 3... do not give shifted copies of one sequence.
  static std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  template <class Client>
  void note_complete(Client& client, link_stats& st) {
    if (st.client_complete) return;
    bool complete = false;
    if constexpr (requires { client.is_complete(); })
      complete = client.is_complete();
    else
      complete = client.is_done() && !client.close_reason();
    if (complete) st.client_complete = now_;
  }

  template <class Engine>
  void flush(Engine& e, direction dir, link_stats& st) {
    for (;;) {
      auto n = e.poll_transmit(buf_, now_);
      if (!n || *n == 0) break;
      std::span<const std::byte> bytes{buf_.data(), *n};
      send(dir, bytes, st);
    }
  }

  void send(direction dir, std::span<const std::byte> bytes, link_stats& st) {
    auto op = bytes.size() >= 2 ? std::to_integer<std::size_t>(bytes[1]) : 0;
    auto& counts = dir == direction::to_server ? st.client_sent : st.server_sent;
    if (op < counts.size()) ++counts[op];
    auto& index = dir == direction::to_server ? sent_to_server_ : sent_to_client_;
    std::uint64_t i = index++;
    if (cfg_.drop_if && cfg_.drop_if(dir, bytes, i)) {
      ++st.dropped;
      return;
    }
    double p = cfg_.loss + (dir == direction::to_server ? cfg_.loss_to_server : cfg_.loss_to_client);
    if (p > 0 && uniform() < p) {
      ++st.dropped;
      return;
    }
    tftp::time_point depart = now_;
    if (dir == direction::to_client && cfg_.rate_bytes_per_s != 0) {
      // Drop-tail queue in front of a serializing link.
      std::erase_if(queue_, [&](tftp::time_point t) { return t <= now_; });
      if (cfg_.queue_limit != 0 && queue_.size() >= cfg_.queue_limit) {
        ++st.dropped;
        return;
      }
      auto tx = std::chrono::duration_cast<tftp::duration>(
          std::chrono::nanoseconds{(bytes.size() + 28) * 1'000'000'000ULL / cfg_.rate_bytes_per_s});
      busy_until_ = std::max(busy_until_, now_) + tx;
      queue_.push_back(busy_until_);
      depart = busy_until_;
    }
    int copies = (cfg_.duplicate > 0 && uniform() < cfg_.duplicate) ? 2 : 1;
    if (copies == 2) ++st.duplicated;
    for (int c = 0; c < copies; ++c) {
      auto at = depart + cfg_.delay;
      if (cfg_.reorder > 0 && uniform() < cfg_.reorder) at += cfg_.reorder_delay;
      if (c == 1) at += std::chrono::microseconds{100};
      flight_.push_back(packet{at, order_++, dir, std::vector<std::byte>(bytes.begin(), bytes.end())});
    }
  }

  link_config cfg_;
  std::uint64_t rng_;
  tftp::time_point now_{};
  std::vector<std::byte> buf_;
  std::vector<packet> flight_;
  std::vector<tftp::time_point> queue_;
  tftp::time_point busy_until_{};
  std::uint64_t order_ = 0;
  std::uint64_t sent_to_server_ = 0;
  std::uint64_t sent_to_client_ = 0;
};

}  // namespace pinetboot::test
