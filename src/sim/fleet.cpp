#include "pinetboot/sim/fleet.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "pinetboot/core/error.hpp"
#include "pinetboot/core/pi_serial.hpp"
#include "pinetboot/core/time.hpp"
#include "pinetboot/net/udp.hpp"
#include "pinetboot/tftp/client_session.hpp"
#include "pinetboot/tftp/packet.hpp"

namespace pinetboot::net {
namespace {

using tftp::pi_file_result;

double ms_between(core::time_point a, core::time_point b) noexcept {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::uint64_t mac_key(core::mac_address const& m) noexcept {
  std::uint64_t k = 0;
  for (auto b : m.bytes()) k = k << 8 | b;
  return k;
}

/// Counts what a transfer delivers; the simulator keeps no file contents.
struct counting_sink {
  std::uint64_t size = 0;
  bool committed = false;
  result<std::size_t> write_at(std::uint64_t off, std::span<const std::byte> in) noexcept {
    size = std::max(size, off + in.size());
    return in.size();
  }
  std::error_code commit() noexcept {
    committed = true;
    return {};
  }
  void abort() noexcept {}
};

class fleet_runner;

/// One simulated board: its DHCP client, its boot sequence, and the current TFTP transfer.
struct board {
  board(asio::io_context& io, board_plan const& p, dhcp::pi_client_config const& dc)
      : plan{p}, dhcp_client{dc}, sequence{p.board, p.serial}, socket{io}, timer{io}, delay{io} {}

  board_plan plan;
  dhcp::pi_client dhcp_client;
  tftp::pi_boot_sequence sequence;
  board_result report;
  bool started = false, finished = false, tftp_phase = false;
  int dhcp_stage = 1;  // 2: the Pi 3's bootcode.bin, a second DHCP client (spec 3.1)
  core::time_point first_discover{};
  std::uint32_t epoch = 0;        // bumps with each transfer: stale socket completions are dropped
  std::uint32_t timer_epoch = 0;  // bumps with each re-arm

  // Current transfer. `request` holds the path the reader's string_view points into.
  tftp::pi_file_request request{};
  tftp::client_config tftp_cfg{};
  counting_sink sink{};
  std::optional<tftp::client_reader<counting_sink>> reader;
  asio::ip::udp::socket socket;
  asio::steady_timer timer;
  asio::steady_timer delay;  // slow clients: the received datagram waits here before handling
  asio::ip::udp::endpoint server, peer, from;
  bool have_peer = false, error_before_answer = false;
  core::time_point file_started{};
  std::array<std::byte, 1536> rx{};
  std::array<std::byte, 600> tx{};
};

class fleet_runner {
 public:
  explicit fleet_runner(fleet_config const& cfg) : cfg_{cfg}, dhcp_socket_{io_}, deadline_{io_} {}

  result<fleet_report> run() {
    if (cfg_.local_address) {
      local_ = *cfg_.local_address;
    } else {
      auto a = interface_address(cfg_.interface);
      if (!a) return a.error();
      local_ = *a;
    }
    udp_bind_options o;
    o.port = cfg_.dhcp_client_port;
    o.device = cfg_.interface;
    o.broadcast = true;
    o.reuse_address = true;
    o.receive_buffer = 4 << 20;
    if (auto ec = open_udp(dhcp_socket_, o)) return ec;

    auto plans = plan_fleet(cfg_);
    boards_.reserve(plans.size());
    for (auto const& p : plans) {
      dhcp::pi_client_config dc;
      dc.generation = p.dhcp_generation;
      dc.mac = p.mac;
      dc.serial = p.serial;
      dc.seed = cfg_.seed;
      dc.retry_interval = cfg_.dhcp_retry;
      dc.give_up_after = cfg_.dhcp_give_up;
      auto b = std::make_unique<board>(io_, p, dc);
      b->report.plan = p;
      b->report.files.reserve(b->sequence.steps().size() * 2 + 2);
      b->tftp_cfg.limits.initial_rto = cfg_.tftp_rto;
      b->tftp_cfg.limits.max_rto = cfg_.tftp_rto;
      b->tftp_cfg.limits.min_rto = cfg_.tftp_rto;  // a fixed timer, as in the firmware
      b->tftp_cfg.limits.max_retransmits = cfg_.tftp_max_retransmits;
      by_mac_.emplace(mac_key(p.mac), b.get());
      boards_.push_back(std::move(b));
    }

    delay_state_ ^= cfg_.seed * 0x2545f4914f6cdd1dULL;
    if (delay_state_ == 0) delay_state_ = 1;
    started_at_ = core::steady_clock::now();
    deadline_.expires_at(started_at_ + cfg_.timeout);
    deadline_.async_wait([this](std::error_code ec) {
      if (!ec) on_deadline();
    });
    dhcp_receive();
    std::size_t limit = cfg_.concurrency == 0 ? boards_.size() : std::min(cfg_.concurrency, boards_.size());
    for (std::size_t i = 0; i < limit; ++i) start_next();
    if (boards_.empty()) io_.stop();
    io_.run();

    fleet_report rep;
    rep.boards.reserve(boards_.size());
    for (auto& b : boards_) rep.boards.push_back(std::move(b->report));
    summarize(rep);
    rep.summary.wall_ms = ms_between(started_at_, core::steady_clock::now());
    return rep;
  }

 private:
  void start_next() {
    if (stopped_ || next_ >= boards_.size()) return;
    board& b = *boards_[next_++];
    b.started = true;
    ++active_;
    dhcp_flush(b);
  }

  // ------------------------------------------------------------------ DHCP
  void dhcp_receive() {
    dhcp_socket_.async_receive_from(
        asio::buffer(dhcp_rx_), dhcp_from_, [this](std::error_code ec, std::size_t n) {
          if (ec == asio::error::operation_aborted || stopped_) return;
          if (!ec && n >= 34) {
            auto in = std::span<const std::byte>{dhcp_rx_}.first(n);
            // chaddr at offset 28 (RFC 2131 2): every Pi 3 shares one xid, so the MAC tells boards apart.
            auto it = by_mac_.find(mac_key(core::mac_address::from_bytes_unchecked(in.subspan(28))));
            if (it != by_mac_.end() && it->second->started && !it->second->tftp_phase &&
                !it->second->finished) {
              board& b = *it->second;
              auto before = b.dhcp_client.offers_seen();
              b.dhcp_client.on_datagram(in, core::steady_clock::now());
              if (!b.report.offer_ms && b.dhcp_client.offers_seen() > before)
                b.report.offer_ms = ms_between(b.first_discover, core::steady_clock::now());
              dhcp_flush(b);
            }
          }
          dhcp_receive();
        });
  }

  void dhcp_flush(board& b) {
    auto now = core::steady_clock::now();
    for (;;) {
      auto n = b.dhcp_client.poll_transmit(dhcp_tx_, now);
      if (!n || *n == 0) break;
      if (b.dhcp_stage == 1 && b.dhcp_client.discovers_sent() == 1 && b.dhcp_client.requests_sent() == 0)
        b.first_discover = now;
      if (cfg_.broadcast_flag && *n > 10) dhcp_tx_[10] |= std::byte{0x80};  // flags: B (RFC 2131 2)
      std::error_code ec;
      dhcp_socket_.send_to(asio::buffer(dhcp_tx_.data(), *n),
                           asio::ip::udp::endpoint{to_asio(cfg_.dhcp_destination), cfg_.dhcp_server_port}, 0,
                           ec);
    }
    auto st = b.dhcp_client.state();
    if (st == dhcp::pi_client_state::bound) {
      record_dhcp(b, now);
      start_tftp(b);
      return;
    }
    if (st == dhcp::pi_client_state::failed) {
      record_dhcp(b, now);
      finish(b, "dhcp: no usable offer");
      return;
    }
    if (auto t = b.dhcp_client.next_deadline()) arm(b, *t);
  }

  void record_dhcp(board& b, core::time_point now) {
    auto const& out = b.dhcp_client.outcome();
    b.report.dhcp_state = b.dhcp_client.state();
    b.report.address = out.address;
    b.report.tftp_server = cfg_.tftp_server ? *cfg_.tftp_server : out.tftp_server;
    b.report.discovers += b.dhcp_client.discovers_sent();
    b.report.requests += b.dhcp_client.requests_sent();
    b.report.dhcp_stages = b.dhcp_stage;
    if (b.report.dhcp_state == dhcp::pi_client_state::bound) {
      (b.dhcp_stage == 1 ? b.report.ack_ms : b.report.stage2_ack_ms) = ms_between(b.first_discover, now);
    }
  }

  // ------------------------------------------------------------------ timers
  void arm(board& b, core::time_point t) {
    auto e = ++b.timer_epoch;
    b.timer.expires_at(t);
    b.timer.async_wait([this, &b, e](std::error_code ec) {
      if (ec || stopped_ || e != b.timer_epoch || b.finished) return;
      if (b.tftp_phase) {
        if (!b.reader) return;
        b.reader->on_timer(core::steady_clock::now());
        tftp_flush(b);
      } else {
        b.dhcp_client.on_timer(core::steady_clock::now());
        dhcp_flush(b);
      }
    });
  }

  // ------------------------------------------------------------------ TFTP
  void start_tftp(board& b) {
    b.tftp_phase = true;
    if (b.report.tftp_server.is_unspecified()) {
      finish(b, "dhcp: no TFTP server in the answer");
      return;
    }
    b.server = asio::ip::udp::endpoint{to_asio(b.report.tftp_server), cfg_.tftp_port};
    next_file(b);
  }

  void next_file(board& b) {
    auto req = b.sequence.current();
    if (!req) {
      if (b.sequence.booted()) {
        b.report.booted = true;
      }
      finish(b, b.sequence.booted() ? "" : "boot sequence failed");
      return;
    }
    if (req->redo_dhcp) {
      redo_dhcp(b);
      return;
    }
    b.request = *req;
    b.tftp_cfg.options = req->options;
    b.tftp_cfg.probe = req->kind == tftp::pi_step_kind::probe;
    b.sink = counting_sink{};
    b.reader.emplace(b.sink, b.tftp_cfg, b.request.path());
    // A new socket, hence a new source port, per RRQ (spec 4.1, Pi 4).
    ++b.epoch;
    std::error_code ignored;
    b.socket.close(ignored);
    udp_bind_options o;
    o.address = cfg_.tftp_from_lease && !b.report.address.is_unspecified() ? b.report.address : local_;
    o.device = cfg_.interface;
    if (auto ec = open_udp(b.socket, o)) {
      record_file(b, pi_file_result::failed, ec);
      finish(b, "tftp: cannot open a socket: " + ec.message());
      return;
    }
    b.have_peer = false;
    b.error_before_answer = false;
    b.file_started = core::steady_clock::now();
    tftp_receive(b);
    tftp_flush(b);
  }

  /// bootcode.bin starts: a new DHCP client with the bootcode.bin behaviour (variant B, serial GUID).
  void redo_dhcp(board& b) {
    b.sequence.dhcp_redone();
    ++b.epoch;
    ++b.timer_epoch;
    std::error_code ignored;
    b.socket.close(ignored);
    b.reader.reset();
    auto dc = b.dhcp_client.config();
    dc.generation = dhcp::pi_generation::pi3_bootcode;
    b.dhcp_client = dhcp::pi_client{dc};
    b.dhcp_stage = 2;
    b.tftp_phase = false;
    dhcp_flush(b);
  }

  void tftp_receive(board& b) {
    auto e = b.epoch;
    b.socket.async_receive_from(asio::buffer(b.rx), b.from, [this, &b, e](std::error_code ec, std::size_t n) {
      if (ec == asio::error::operation_aborted || stopped_ || e != b.epoch || b.finished) return;
      if (!ec && cfg_.ack_delay_max.count() > 0) {
        // A slow client: the datagram (still in b.rx; nothing else is received meanwhile) is
        // handled after the delay.
        b.delay.expires_after(next_ack_delay());
        b.delay.async_wait([this, &b, e, n](std::error_code tec) {
          if (tec || stopped_ || e != b.epoch || b.finished) return;
          tftp_handle(b, e, n);
        });
        return;
      }
      if (!ec) {
        bool from_server = b.have_peer ? b.from == b.peer : b.from.address() == b.server.address();
        if (from_server) {
          auto in = std::span<const std::byte>{b.rx}.first(n);
          if (!b.have_peer) {
            b.peer = b.from;  // the server's transfer ID (RFC 1350 4)
            b.have_peer = true;
          }
          auto op = tftp::parse_opcode(in);
          if (op && *op == tftp::opcode::error && !b.reader->answered()) b.error_before_answer = true;
          b.reader->on_datagram(in, core::steady_clock::now());
          tftp_flush(b);
          if (e != b.epoch || b.finished) return;  // moved on to the next file
        }
      }
      tftp_receive(b);
    });
  }

  /// The slow client's handling of the datagram in b.rx, then the next receive.
  void tftp_handle(board& b, std::uint32_t e, std::size_t n) {
    bool from_server = b.have_peer ? b.from == b.peer : b.from.address() == b.server.address();
    if (from_server) {
      auto in = std::span<const std::byte>{b.rx}.first(n);
      if (!b.have_peer) {
        b.peer = b.from;
        b.have_peer = true;
      }
      auto op = tftp::parse_opcode(in);
      if (op && *op == tftp::opcode::error && !b.reader->answered()) b.error_before_answer = true;
      b.reader->on_datagram(in, core::steady_clock::now());
      tftp_flush(b);
      if (e != b.epoch || b.finished) return;
    }
    tftp_receive(b);
  }

  std::chrono::microseconds next_ack_delay() {
    // xorshift64: deterministic per seed, no allocation.
    delay_state_ ^= delay_state_ << 13;
    delay_state_ ^= delay_state_ >> 7;
    delay_state_ ^= delay_state_ << 17;
    auto span = static_cast<std::uint64_t>((cfg_.ack_delay_max - cfg_.ack_delay_min).count()) + 1;
    return cfg_.ack_delay_min + std::chrono::microseconds{static_cast<std::int64_t>(delay_state_ % span)};
  }

  void tftp_flush(board& b) {
    auto& r = *b.reader;
    auto now = core::steady_clock::now();
    for (;;) {
      auto n = r.poll_transmit(b.tx, now);
      if (!n || *n == 0) break;
      // The reader writes blksize before tsize; send the RRQ byte for byte as the Pi does.
      if (auto op = tftp::parse_opcode(std::span{b.tx}.first(*n)); op && *op == tftp::opcode::rrq) {
        auto pi = tftp::write_pi_rrq(b.tx, b.request);
        if (pi) n = pi;
      }
      std::error_code ec;
      b.socket.send_to(asio::buffer(b.tx.data(), *n), b.have_peer ? b.peer : b.server, 0, ec);
    }
    if (r.is_complete()) {
      // The final ACK is out; a Pi moves on at once rather than dallying.
      record_file(b, b.tftp_cfg.probe ? pi_file_result::found : pi_file_result::received, {});
      advance(b);
      return;
    }
    if (r.is_done()) {
      auto reason = r.close_reason();
      pi_file_result res = pi_file_result::failed;
      if (b.tftp_cfg.probe && reason == tftp::errc::client_aborted && r.answered())
        res = pi_file_result::found;
      else if (b.error_before_answer)
        res = pi_file_result::not_found;
      record_file(b, res, reason);
      advance(b);
      return;
    }
    if (auto t = r.next_deadline()) arm(b, *t);
  }

  void record_file(board& b, pi_file_result res, std::error_code ec) {
    file_record f;
    auto p = b.request.path();
    std::copy(p.begin(), p.end(), f.path_buffer.begin());
    f.path_size = p.size();
    f.kind = b.request.kind;
    f.role = b.request.role;
    f.result = res;
    if (b.reader) {
      f.bytes = b.reader->bytes_received();
      auto const& o = b.reader->options();
      f.tsize = o.has(tftp::option_flag::tsize) ? o.tsize : 0;
      f.blksize = o.blksize;
      f.timeouts = b.reader->stats().timeouts;
      f.retransmits = b.reader->stats().retransmits;
      f.blocks = b.reader->stats().blocks;
      f.duplicate_blocks = b.reader->stats().duplicate_blocks;
    }
    f.ms = ms_between(b.file_started, core::steady_clock::now());
    if (res != pi_file_result::received && res != pi_file_result::found) f.error = ec;
    b.report.files.push_back(f);
  }

  void advance(board& b) {
    b.sequence.on_result(b.report.files.back().result);
    if (b.sequence.booted() && !b.report.boot_ms)
      b.report.boot_ms = ms_between(b.first_discover, core::steady_clock::now());
    ++b.timer_epoch;
    // Post, so that the receive handler of the finished transfer unwinds before the next opens.
    asio::post(io_, [this, &b] {
      if (!stopped_ && !b.finished) next_file(b);
    });
    ++b.epoch;
  }

  // ------------------------------------------------------------------ end
  void finish(board& b, std::string why) {
    if (b.finished) return;
    b.finished = true;
    ++b.epoch;
    ++b.timer_epoch;
    std::error_code ignored;
    b.socket.close(ignored);
    b.timer.cancel();
    b.delay.cancel();
    if (!b.report.booted) {
      b.report.error = why.empty() ? "did not boot" : std::move(why);
      if (b.report.dhcp_state == dhcp::pi_client_state::idle) b.report.dhcp_state = b.dhcp_client.state();
    }
    if (b.started) --active_;
    ++done_;
    if (done_ == boards_.size()) {
      stop();
      return;
    }
    start_next();
  }

  void on_deadline() {
    stopped_ = true;  // no new boards, no more I/O
    for (auto& b : boards_) {
      if (b->finished) continue;
      if (!b->tftp_phase) {
        record_dhcp(*b, core::steady_clock::now());
        b->report.ack_ms.reset();
      } else if (b->reader && !b->reader->is_done()) {
        record_file(*b, pi_file_result::failed, make_error_code(tftp::errc::timed_out));
      }
      finish(*b, b->started ? "timeout (--timeout)" : "not started before --timeout");
    }
    stop();
  }

  void stop() {
    stopped_ = true;
    deadline_.cancel();
    std::error_code ignored;
    dhcp_socket_.close(ignored);
    for (auto& b : boards_) {
      b->socket.close(ignored);
      b->timer.cancel();
    }
    io_.stop();
  }

  fleet_config const& cfg_;
  asio::io_context io_{1};
  asio::ip::udp::socket dhcp_socket_;
  asio::steady_timer deadline_;
  std::uint64_t delay_state_ = 0x9e3779b97f4a7c15ULL;  // next_ack_delay(); seeded in run()
  asio::ip::udp::endpoint dhcp_from_;
  std::array<std::byte, 1500> dhcp_rx_{};
  std::array<std::byte, 1024> dhcp_tx_{};
  core::ipv4_address local_;
  std::vector<std::unique_ptr<board>> boards_;
  std::unordered_map<std::uint64_t, board*> by_mac_;
  std::size_t next_ = 0, active_ = 0, done_ = 0;
  core::time_point started_at_{};
  bool stopped_ = false;
};

core::mac_address default_base(tftp::pi_board b) noexcept {
  switch (b) {
    case tftp::pi_board::pi3:
      return core::mac_address{{0xb8, 0x27, 0xeb, 0, 0, 0}};
    case tftp::pi_board::pi4:
      return core::mac_address{{0xdc, 0xa6, 0x32, 0, 0, 0}};
    case tftp::pi_board::pi5:
      return core::mac_address{{0x2c, 0xcf, 0x67, 0, 0, 0}};
  }
  return {};
}

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string fmt_ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string_view role_name(tftp::pi_file_role r) noexcept {
  switch (r) {
    case tftp::pi_file_role::required:
      return "required";
    case tftp::pi_file_role::optional:
      return "optional";
    case tftp::pi_file_role::normally_missing:
      return "normally_missing";
    case tftp::pi_file_role::kernel:
      return "kernel";
  }
  return "unknown";
}

}  // namespace

result<fleet_mix> parse_fleet_mix(std::string_view s) noexcept {
  if (s == "pi3") return fleet_mix::pi3;
  if (s == "pi4") return fleet_mix::pi4;
  if (s == "pi5") return fleet_mix::pi5;
  if (s == "mix") return fleet_mix::mix;
  return core::errc::invalid_syntax;
}

std::vector<board_plan> plan_fleet(fleet_config const& config) {
  std::vector<board_plan> out;
  out.reserve(config.count);
  for (std::size_t i = 0; i < config.count; ++i) {
    board_plan p;
    p.index = i;
    switch (config.generation) {
      case fleet_mix::pi3:
        p.board = tftp::pi_board::pi3;
        break;
      case fleet_mix::pi4:
        p.board = tftp::pi_board::pi4;
        break;
      case fleet_mix::pi5:
        p.board = tftp::pi_board::pi5;
        break;
      case fleet_mix::mix: {
        constexpr std::array<tftp::pi_board, 3> order{tftp::pi_board::pi4, tftp::pi_board::pi3,
                                                      tftp::pi_board::pi5};
        p.board = order[i % order.size()];
        break;
      }
    }
    p.dhcp_generation = p.board == tftp::pi_board::pi3   ? dhcp::pi_generation::pi3_rom
                        : p.board == tftp::pi_board::pi5 ? dhcp::pi_generation::pi5
                                                         : dhcp::pi_generation::pi4;
    auto base = config.mac_base ? *config.mac_base : default_base(p.board);
    auto bytes = base.bytes();
    std::uint32_t low =
        static_cast<std::uint32_t>(bytes[3]) << 16 | static_cast<std::uint32_t>(bytes[4]) << 8 | bytes[5];
    low = (low + static_cast<std::uint32_t>(i)) & 0xffffffU;
    bytes[3] = static_cast<std::uint8_t>(low >> 16);
    bytes[4] = static_cast<std::uint8_t>(low >> 8);
    bytes[5] = static_cast<std::uint8_t>(low);
    p.mac = core::mac_address{bytes};
    p.serial = config.serial_base + static_cast<std::uint32_t>(i);
    out.push_back(p);
  }
  return out;
}

double percentile(std::span<const double> sorted, double p) noexcept {
  if (sorted.empty()) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  if (rank == 0) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

void summarize(fleet_report& report) {
  fleet_summary s;
  s.wall_ms = report.summary.wall_ms;
  s.boards = report.boards.size();
  std::vector<double> times;
  for (auto const& b : report.boards) {
    if (b.booted) {
      ++s.booted;
      if (b.boot_ms) times.push_back(*b.boot_ms);
    } else {
      ++s.failed;
    }
    if (b.discovers > 1) s.dhcp_retransmits += b.discovers - 1;
    if (b.requests > 1) s.dhcp_retransmits += b.requests - 1;
    for (auto const& f : b.files) {
      s.tftp_timeouts += f.timeouts;
      s.tftp_retransmits += f.retransmits;
      s.tftp_blocks += f.blocks;
      s.tftp_duplicate_blocks += f.duplicate_blocks;
      s.bytes += f.bytes;
      switch (f.result) {
        case tftp::pi_file_result::received:
          ++s.files_received;
          break;
        case tftp::pi_file_result::found:
          ++s.probes;
          break;
        case tftp::pi_file_result::not_found:
          ++s.not_found;
          break;
        case tftp::pi_file_result::failed:
          ++s.files_failed;
          break;
      }
    }
  }
  std::sort(times.begin(), times.end());
  s.p50_ms = percentile(times, 50);
  s.p99_ms = percentile(times, 99);
  s.max_ms = times.empty() ? 0 : times.back();
  report.summary = s;
}

std::string to_json(fleet_report const& report) {
  auto const& s = report.summary;
  std::string o;
  o += "{\"summary\":{";
  o += "\"boards\":" + std::to_string(s.boards);
  o += ",\"booted\":" + std::to_string(s.booted);
  o += ",\"failed\":" + std::to_string(s.failed);
  o += ",\"p50_ms\":" + fmt_ms(s.p50_ms);
  o += ",\"p99_ms\":" + fmt_ms(s.p99_ms);
  o += ",\"max_ms\":" + fmt_ms(s.max_ms);
  o += ",\"dhcp_retransmits\":" + std::to_string(s.dhcp_retransmits);
  o += ",\"tftp_timeouts\":" + std::to_string(s.tftp_timeouts);
  o += ",\"tftp_retransmits\":" + std::to_string(s.tftp_retransmits);
  o += ",\"tftp_blocks\":" + std::to_string(s.tftp_blocks);
  o += ",\"tftp_duplicate_blocks\":" + std::to_string(s.tftp_duplicate_blocks);
  o += ",\"files_received\":" + std::to_string(s.files_received);
  o += ",\"probes\":" + std::to_string(s.probes);
  o += ",\"not_found\":" + std::to_string(s.not_found);
  o += ",\"files_failed\":" + std::to_string(s.files_failed);
  o += ",\"bytes\":" + std::to_string(s.bytes);
  o += ",\"wall_ms\":" + fmt_ms(s.wall_ms);
  o += "},\"boards\":[";
  bool first_board = true;
  for (auto const& b : report.boards) {
    if (!first_board) o += ',';
    first_board = false;
    o += "{\"index\":" + std::to_string(b.plan.index);
    o += ",\"generation\":";
    json_string(o, tftp::to_string(b.plan.board));
    o += ",\"mac\":";
    json_string(o, b.plan.mac.to_string());
    o += ",\"serial\":";
    json_string(o, core::pi_serial{b.plan.serial}.to_string());
    o += ",\"dhcp\":{\"state\":";
    json_string(o, dhcp::to_string(b.dhcp_state));
    o += ",\"address\":";
    json_string(o, b.address.to_string());
    o += ",\"tftp_server\":";
    json_string(o, b.tftp_server.to_string());
    o += ",\"offer_ms\":" + (b.offer_ms ? fmt_ms(*b.offer_ms) : std::string{"null"});
    o += ",\"ack_ms\":" + (b.ack_ms ? fmt_ms(*b.ack_ms) : std::string{"null"});
    o += ",\"discovers\":" + std::to_string(b.discovers);
    o += ",\"requests\":" + std::to_string(b.requests);
    o += ",\"stages\":" + std::to_string(b.dhcp_stages);
    o += ",\"stage2_ack_ms\":" + (b.stage2_ack_ms ? fmt_ms(*b.stage2_ack_ms) : std::string{"null"});
    o += "},\"booted\":";
    o += b.booted ? "true" : "false";
    o += ",\"boot_ms\":" + (b.boot_ms ? fmt_ms(*b.boot_ms) : std::string{"null"});
    o += ",\"error\":";
    json_string(o, b.error);
    o += ",\"files\":[";
    bool first_file = true;
    for (auto const& f : b.files) {
      if (!first_file) o += ',';
      first_file = false;
      o += "{\"name\":";
      json_string(o, f.path());
      o += ",\"kind\":";
      json_string(o, f.kind == tftp::pi_step_kind::probe ? "probe" : "fetch");
      o += ",\"role\":";
      json_string(o, role_name(f.role));
      o += ",\"result\":";
      json_string(o, tftp::to_string(f.result));
      o += ",\"bytes\":" + std::to_string(f.bytes);
      o += ",\"tsize\":" + std::to_string(f.tsize);
      o += ",\"blksize\":" + std::to_string(f.blksize);
      o += ",\"ms\":" + fmt_ms(f.ms);
      o += ",\"timeouts\":" + std::to_string(f.timeouts);
      o += ",\"retransmits\":" + std::to_string(f.retransmits);
      o += ",\"duplicate_blocks\":" + std::to_string(f.duplicate_blocks);
      o += ",\"error\":";
      json_string(o, f.error ? f.error.message() : std::string{});
      o += '}';
    }
    o += "]}";
  }
  o += "]}\n";
  return o;
}

std::string to_text(fleet_report const& report, bool verbose) {
  std::string o;
  if (verbose) {
    for (auto const& b : report.boards) {
      std::size_t missing = 0, probes = 0, received = 0;
      for (auto const& f : b.files) {
        missing += f.result == tftp::pi_file_result::not_found;
        probes += f.result == tftp::pi_file_result::found;
        received += f.result == tftp::pi_file_result::received;
      }
      o += "board " + std::to_string(b.plan.index) + " " + std::string{tftp::to_string(b.plan.board)} + " " +
           b.plan.mac.to_string() + " serial " + core::pi_serial{b.plan.serial}.to_string() + " ip " +
           b.address.to_string() + " tftp " + b.tftp_server.to_string();
      o += " offer " + (b.offer_ms ? fmt_ms(*b.offer_ms) + " ms" : std::string{"-"});
      o += " ack " + (b.ack_ms ? fmt_ms(*b.ack_ms) + " ms" : std::string{"-"});
      if (b.stage2_ack_ms) o += " bootcode-ack " + fmt_ms(*b.stage2_ack_ms) + " ms";
      o += " files " + std::to_string(received) + " probes " + std::to_string(probes) + " not-found " +
           std::to_string(missing);
      if (b.booted)
        o += " booted in " + fmt_ms(b.boot_ms.value_or(0)) + " ms\n";
      else
        o += " FAILED: " + b.error + "\n";
    }
  }
  auto const& s = report.summary;
  o += "boards " + std::to_string(s.boards) + " booted " + std::to_string(s.booted) + " failed " +
       std::to_string(s.failed) + "\n";
  o += "time to boot: p50 " + fmt_ms(s.p50_ms) + " ms, p99 " + fmt_ms(s.p99_ms) + " ms, max " +
       fmt_ms(s.max_ms) + " ms\n";
  o += "files received " + std::to_string(s.files_received) + ", probes " + std::to_string(s.probes) +
       ", not found (normal) " + std::to_string(s.not_found) + ", failed " + std::to_string(s.files_failed) +
       ", " + std::to_string(s.bytes) + " bytes in " + fmt_ms(s.wall_ms) + " ms\n";
  o += "client timeouts: dhcp retransmits " + std::to_string(s.dhcp_retransmits) + ", tftp timeouts " +
       std::to_string(s.tftp_timeouts) + ", tftp retransmits " + std::to_string(s.tftp_retransmits) + "\n";
  o += "duplicate DATA blocks received: " + std::to_string(s.tftp_duplicate_blocks) + " of " +
       std::to_string(s.tftp_blocks + s.tftp_duplicate_blocks) + "\n";
  return o;
}

result<fleet_report> run_fleet(fleet_config const& config) {
  fleet_runner r{config};
  return r.run();
}

}  // namespace pinetboot::net
