// A read session moving 10k blocks to a client session allocates nothing after construction.
#include "support/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "pinetboot/tftp/client_session.hpp"
#include "pinetboot/tftp/read_session.hpp"
#include "support/memory_source.hpp"

namespace pinetboot::tftp {
namespace {

using namespace std::chrono_literals;

template <class A, class B>
std::size_t pump(A& from, B& to, std::span<std::byte> buf, time_point now) {
  std::size_t count = 0;
  for (;;) {
    auto n = from.poll_transmit(buf, now);
    if (!n || *n == 0) break;
    to.on_datagram(buf.first(*n), now);
    ++count;
  }
  return count;
}

void run_transfer(transfer_mode mode, std::uint16_t window) {
  constexpr std::size_t blocks = 10'000;
  std::vector<std::byte> data(blocks * 512 + 100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 31 % 251);
  test::memory_source src{data};
  test::memory_sink sink;
  sink.data.reserve(data.size() * 2 + 1024);
  client_config cc;
  cc.mode = mode;
  cc.options.windowsize = window;
  client_reader<test::memory_sink> client{sink, cc, "big.bin"};
  std::vector<std::byte> cbuf(max_packet_size);
  std::vector<std::byte> sbuf(max_packet_size);
  time_point now = time_point{} + 1h;
  auto rrq_len = client.poll_transmit(cbuf, now);
  ASSERT_TRUE(rrq_len);
  auto req = parse_request(std::span<const std::byte>(cbuf).first(*rrq_len));
  ASSERT_TRUE(req);
  read_session<test::memory_source> server{src, {}, *req};

  std::size_t rounds = 0;
  if (mode == transfer_mode::netascii) {
    // The client sizes its netascii scratch buffer once the server's first answer fixed blksize.
    now += 50us;
    pump(server, client, sbuf, now);
    pump(client, server, cbuf, now);
  }
  test::allocation_scope scope;
  while (!server.is_done() && rounds < 1'000'000) {
    now += 50us;
    pump(server, client, sbuf, now);
    pump(client, server, cbuf, now);
    ++rounds;
  }
  EXPECT_EQ(scope.count(), 0U);
  EXPECT_TRUE(server.is_done());
  EXPECT_FALSE(server.close_reason());
  EXPECT_TRUE(client.is_complete());
  EXPECT_GE(server.stats().blocks, blocks);
  if (mode == transfer_mode::octet) {
    EXPECT_EQ(sink.data, data);
  }
}

TEST(TftpSessionAlloc, TenThousandBlocksLockstepAllocateNothing) { run_transfer(transfer_mode::octet, 1); }
TEST(TftpSessionAlloc, TenThousandBlocksWindowedAllocateNothing) { run_transfer(transfer_mode::octet, 16); }
TEST(TftpSessionAlloc, NetasciiAllocatesOnlyAtSetup) { run_transfer(transfer_mode::netascii, 8); }

}  // namespace
}  // namespace pinetboot::tftp
