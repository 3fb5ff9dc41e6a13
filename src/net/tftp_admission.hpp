/// @file
/// @brief Which TFTP requests become transfers (private to pinetboot::net): the request-rate
/// token bucket, the caps on live transfers in total and per client address, the detection
/// of a request the client repeated because it has not seen our answer yet, and what an
/// admitted request opens (name resolution, per-client root, write policy). No sockets and
/// no clock: time is an argument, so every decision is a unit test
/// (tests/net/tftp_admission_test.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/tftp/file_source.hpp"
#include "pinetboot/tftp/packet.hpp"

namespace pinetboot::net {
struct tftp_server_options;
}  // namespace pinetboot::net

namespace pinetboot::net::detail {

/// A client's address and port (its TID), host byte order.
struct tftp_peer {
  std::uint32_t address = 0;
  std::uint16_t port = 0;
  [[nodiscard]] constexpr std::uint64_t key() const noexcept { return std::uint64_t{address} << 16 | port; }
};

/// What admission enforces (a subset of tftp_server_options; reconfigure() may change it).
struct tftp_admission_limits {
  std::size_t max_transfers = 4096;
  std::size_t max_per_client = 64;
  double requests_per_second = 0;  ///< 0 = no rate limit
  double request_burst = 200;
};

/// Token bucket on requests: `requests_per_second` refill, `request_burst` deep.
class tftp_request_rate {
 public:
  /// Full bucket at `now` (server start).
  void reset(double burst, core::time_point now) noexcept {
    tokens_ = burst;
    last_refill_ = now;
  }
  /// Takes a token for a request at `now`; false: over the rate. Always true with rate 0.
  [[nodiscard]] bool take(tftp_admission_limits const& l, core::time_point now) noexcept {
    if (l.requests_per_second <= 0) return true;
    double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min(l.request_burst, tokens_ + elapsed * l.requests_per_second);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double tokens_ = 0;
  core::time_point last_refill_{};
};

enum class tftp_admission_verdict : std::uint8_t {
  admit,         ///< start a transfer (then call admitted())
  duplicate,     ///< the client repeated the request of its live transfer `live`
  refused_rate,  ///< over the request rate: drop silently (an answer would amplify a flood)
  refused_busy,  ///< a cap is reached: tell the client to try again
};

template <class Transfer>
struct tftp_admission_decision {
  tftp_admission_verdict verdict = tftp_admission_verdict::admit;
  Transfer* live = nullptr;  ///< duplicate: the transfer that answers the repeated request
  /// Whatever the verdict: a live transfer of this client address and port that the new
  /// request replaces (a reused port); end it without telling the client. Admission already
  /// forgot it by peer; it still counts against the caps until finished() is called for it.
  Transfer* replaced = nullptr;
};

/// The live transfers, as admission sees them. `Transfer` has `file()` (the requested name)
/// and `heard_from_client()` (the client answered on the transfer's port).
template <class Transfer>
class tftp_admission {
 public:
  using decision = tftp_admission_decision<Transfer>;

  /// Server start: a full request bucket.
  void start(tftp_admission_limits const& l, core::time_point now) noexcept {
    rate_.reset(l.request_burst, now);
  }

  /// A well-formed RRQ/WRQ for `file` from `from` at `now`. Order matters and matches what
  /// clients see: the rate limit first (a flood costs no lookups), then a repeated request,
  /// then the caps.
  [[nodiscard]] decision decide(tftp_admission_limits const& l, tftp_peer from, std::string_view file,
                                core::time_point now) {
    decision d;
    if (!rate_.take(l, now)) {
      d.verdict = tftp_admission_verdict::refused_rate;
      return d;
    }
    if (auto it = by_peer_.find(from.key()); it != by_peer_.end()) {
      if (it->second->file() == file && !it->second->heard_from_client()) {
        d.verdict = tftp_admission_verdict::duplicate;
        d.live = it->second;
        return d;
      }
      // Another file, or the client had already been talking to the old transfer: a new
      // request from a reused port (Pi bootcode.bin reuses ports; ephemeral ports come round
      // again). The client is done with the old transfer, whose final ACK we must have missed.
      d.replaced = it->second;
      by_peer_.erase(it);
    }
    if (live_ >= l.max_transfers || live_for(from.address) >= l.max_per_client)
      d.verdict = tftp_admission_verdict::refused_busy;
    return d;
  }

  /// Transfer `t` for `from` started (after an admit verdict).
  void admitted(Transfer* t, tftp_peer from) {
    ++live_;
    by_peer_[from.key()] = t;
    ++per_client_[from.address];
  }

  /// Transfer `t` for `from` ended (admitted() was called for it).
  void finished(Transfer* t, tftp_peer from) {
    --live_;
    if (auto pc = per_client_.find(from.address); pc != per_client_.end() && --pc->second == 0)
      per_client_.erase(pc);
    if (auto bp = by_peer_.find(from.key()); bp != by_peer_.end() && bp->second == t) by_peer_.erase(bp);
  }

  [[nodiscard]] std::size_t live() const noexcept { return live_; }
  [[nodiscard]] std::size_t live_for(std::uint32_t address) const noexcept {
    auto it = per_client_.find(address);
    return it == per_client_.end() ? 0 : it->second;
  }
  /// The live transfer answering `from`, if any.
  [[nodiscard]] Transfer* find(tftp_peer from) const noexcept {
    auto it = by_peer_.find(from.key());
    return it == by_peer_.end() ? nullptr : it->second;
  }

 private:
  tftp_request_rate rate_;
  std::size_t live_ = 0;
  std::map<std::uint32_t, std::size_t> per_client_;
  /// Live transfers by client address and port: a client that repeats its request (its RRQ
  /// retransmit timer fired before our OACK/DATA arrived, as the Pi 4 does every 2 s) must not
  /// get a second transfer answering from another port.
  std::map<std::uint64_t, Transfer*> by_peer_;
};

/// An admitted RRQ's file, and the per-client directory it came from ("" = shared root).
struct tftp_read_file {
  tftp::file_source source;
  std::string root;
};

/// What an admitted request opens: the file to read (RRQ) or to write (WRQ), or the error to
/// answer with (its ERROR packet goes from the transfer's TID).
using tftp_opened = std::variant<std::error_code, tftp_read_file, tftp::file_sink>;

/// Opens what request `req` from `client` asks for under `opts`: resolves the name
/// (opts.paths), then for a WRQ checks opts.allow_write and creates the file beneath
/// `write_fd`, for an RRQ picks the client's root and opens the file beneath `root_fd`
/// through `cache`. Errors: those of tftp::resolve_path, tftp::file_sink::create,
/// tftp::open_for_client; errc::access_violation for a WRQ when writing is off.
[[nodiscard]] tftp_opened open_request(tftp::request_view const& req, core::ipv4_address client,
                                       tftp_server_options const& opts, int root_fd, int write_fd,
                                       tftp::file_cache& cache);

}  // namespace pinetboot::net::detail
