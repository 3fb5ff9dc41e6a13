// TFTP codec and engine benchmarks: ns per parse/write, a read session moving blocks in
// memory to a client session (blocks/s) with the allocations per block reported as a counter,
// and the loss-adaptive window against a fixed one on the simulated lossy link (simulated
// transfer time, so the figure does not depend on this machine's load).
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <vector>

#include "pinetboot/tftp/client_session.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "support/alloc_counter.hpp"
#include "support/lossy_link.hpp"
#include "support/memory_source.hpp"

namespace {
using namespace pinetboot;
using namespace pinetboot::tftp;
using namespace std::string_literals;

std::vector<std::byte> bytes(std::string const& s) {
  std::vector<std::byte> v(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) v[i] = static_cast<std::byte>(s[i]);
  return v;
}

// Requests as real clients send them (Pi 3 ROM, Pi 4 EEPROM, atftp with windowsize).
std::vector<std::vector<std::byte>> const& requests() {
  static std::vector<std::vector<std::byte>> const r{
      bytes("\0\1bootcode.bin\0octet\0"s),
      bytes("\0\1"
            "9ffefdef/start4.elf\0octet\0tsize\0"
            "0\0blksize\0"
            "1024\0"s),
      bytes("\0\1vmlinuz\0octet\0blksize\0"
            "1428\0windowsize\0"
            "64\0tsize\0"
            "0\0timeout\0"
            "3\0"s),
  };
  return r;
}

void BM_ParseRequest(benchmark::State& state) {
  auto const& reqs = requests();
  std::size_t i = 0, total = 0;
  for (auto _ : state) {
    auto const& b = reqs[i++ % reqs.size()];
    auto r = parse_request(b);
    benchmark::DoNotOptimize(r);
    total += b.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(total));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRequest);

void BM_NegotiateAndWriteOack(benchmark::State& state) {
  auto req = *parse_request(requests()[2]);
  std::array<std::byte, 512> out{};
  for (auto _ : state) {
    auto n = negotiate(req, {}, 123'456'789);
    auto len = write_oack(out, *n);
    benchmark::DoNotOptimize(len);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NegotiateAndWriteOack);

void BM_ParseDataAndAck(benchmark::State& state) {
  std::vector<std::byte> data(4 + 1428);
  (void)write_data_header(data, 77);
  std::array<std::byte, 4> ack{};
  (void)write_ack(ack, 77);
  for (auto _ : state) {
    auto d = parse_data(data);
    auto a = parse_ack(ack);
    benchmark::DoNotOptimize(d);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_ParseDataAndAck);

void BM_WriteDataHeaderAndAck(benchmark::State& state) {
  std::array<std::byte, 4 + 1468> out{};
  std::uint16_t b = 0;
  for (auto _ : state) {
    auto n = write_data_header(out, ++b);
    auto m = write_ack(out, b);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_WriteDataHeaderAndAck);

// A whole download in memory: read_session -> client_reader, args = blksize, windowsize.
void BM_ReadSessionTransfer(benchmark::State& state) {
  auto blksize = static_cast<std::uint16_t>(state.range(0));
  auto window = static_cast<std::uint16_t>(state.range(1));
  test::generated_source src{8ULL << 20};
  std::vector<std::byte> sbuf(max_packet_size), cbuf(max_packet_size);
  std::uint64_t blocks = 0, allocs = 0;
  for (auto _ : state) {
    test::checking_sink sink;
    client_config cc;
    cc.options.blksize = blksize;
    cc.options.windowsize = window;
    client_reader<test::checking_sink> client{sink, cc, "bench.bin"};
    time_point now{};
    auto n = client.poll_transmit(cbuf, now);
    auto req = parse_request(std::span<const std::byte>(cbuf).first(*n));
    session_limits lim;
    lim.negotiation.max_blksize = 65464;
    read_session<test::generated_source> server{src, lim, *req};
    test::allocation_scope scope;
    while (!server.is_done()) {
      now += std::chrono::microseconds{10};
      for (;;) {
        auto k = server.poll_transmit(sbuf, now);
        if (!k || *k == 0) break;
        client.on_datagram(std::span<const std::byte>(sbuf).first(*k), now);
      }
      for (;;) {
        auto k = client.poll_transmit(cbuf, now);
        if (!k || *k == 0) break;
        server.on_datagram(std::span<const std::byte>(cbuf).first(*k), now);
      }
    }
    allocs += scope.count();
    blocks += server.stats().blocks;
    if (sink.mismatches != 0 || sink.written != src.size()) state.SkipWithError("corrupt transfer");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * src.size()));
  state.counters["blocks/s"] = benchmark::Counter(static_cast<double>(blocks), benchmark::Counter::kIsRate);
  state.counters["allocs/block"] = static_cast<double>(allocs) / static_cast<double>(blocks ? blocks : 1);
}
BENCHMARK(BM_ReadSessionTransfer)
    ->Args({512, 1})
    ->Args({1428, 1})
    ->Args({1428, 16})
    ->Args({8192, 64})
    ->Unit(benchmark::kMillisecond);

// Window 64, blksize 1428, 2 MiB over the deterministic lossy link (tests/support), seeds 1..8;
// args = adaptive (0/1), loss per mille (both directions), bottleneck (0: none; 1: 100 Mbit/s
// with an 8-packet drop-tail queue, like a small receive buffer). Counters: simulated seconds
// for the 8 transfers, and DATA packets sent per packet needed.
void BM_WindowUnderLoss(benchmark::State& state) {
  bool adaptive = state.range(0) != 0;
  double loss = static_cast<double>(state.range(1)) / 1000.0;
  bool bottleneck = state.range(2) != 0;
  test::generated_source src{2ULL << 20};
  std::vector<std::byte> buf(max_packet_size);
  double sim_s = 0, sent = 0, needed = 0;
  for (auto _ : state) {
    sim_s = sent = needed = 0;
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
      test::checking_sink sink;
      client_config cc;
      cc.options.blksize = 1428;
      cc.options.windowsize = 64;
      client_reader<test::checking_sink> client{sink, cc, "bench.bin"};
      time_point start{};
      auto n = client.poll_transmit(buf, start);
      auto req = parse_request(std::span<const std::byte>(buf).first(n.value_or(0)));
      session_limits lim;
      lim.adaptive_window = adaptive;
      read_session<test::generated_source> server{src, lim, *req};
      test::link_config lc;
      lc.seed = seed;
      lc.loss = loss;
      if (bottleneck) {
        lc.rate_bytes_per_s = 12'500'000;
        lc.queue_limit = 8;
      }
      test::lossy_link link{lc};
      auto st = link.run(client, server, start);
      if (!client.is_complete() || sink.mismatches != 0) state.SkipWithError("transfer incomplete or corrupt");
      sim_s += std::chrono::duration<double>(st.transfer_time()).count();
      sent += static_cast<double>(st.data_sent());
      needed += static_cast<double>(src.size() / 1428 + 1);
    }
  }
  state.counters["sim_s"] = sim_s;
  state.counters["sent/needed"] = sent / needed;
}
BENCHMARK(BM_WindowUnderLoss)
    ->ArgNames({"adaptive", "loss_permille", "bottleneck"})
    ->ArgsProduct({{0, 1}, {0, 10, 50}, {0, 1}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
