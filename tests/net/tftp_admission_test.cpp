// Admission decisions without sockets or a clock: the request-rate bucket, the caps in total
// and per client address, a repeated request answered by the live transfer, a new request
// from a reused port replacing the old transfer; and what an admitted request opens (in a
// temporary tree, no sockets).
#include "net/tftp_admission.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "pinetboot/core/time.hpp"
#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/tftp/error.hpp"

namespace pinetboot::net::detail {
namespace {

using namespace std::chrono_literals;
using verdict = tftp_admission_verdict;

struct fake_transfer {
  std::string name;
  bool heard = false;
  [[nodiscard]] std::string const& file() const noexcept { return name; }
  [[nodiscard]] bool heard_from_client() const noexcept { return heard; }
};

constexpr tftp_peer kA{0x0a000001, 1000}, kA2{0x0a000001, 1001}, kB{0x0a000002, 1000};
core::time_point const t0{};

TEST(TftpAdmission, AdmitsAndCountsLiveTransfers) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{};
  a.start(l, t0);
  fake_transfer t{"f"};
  auto d = a.decide(l, kA, "f", t0);
  EXPECT_EQ(d.verdict, verdict::admit);
  EXPECT_EQ(d.live, nullptr);
  EXPECT_EQ(d.replaced, nullptr);
  a.admitted(&t, kA);
  EXPECT_EQ(a.live(), 1U);
  EXPECT_EQ(a.live_for(kA.address), 1U);
  EXPECT_EQ(a.find(kA), &t);
  EXPECT_EQ(a.find(kA2), nullptr);
  a.finished(&t, kA);
  EXPECT_EQ(a.live(), 0U);
  EXPECT_EQ(a.live_for(kA.address), 0U);
  EXPECT_EQ(a.find(kA), nullptr);
}

TEST(TftpAdmission, RefusesBeyondTheTotalCap) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{.max_transfers = 2, .max_per_client = 10};
  a.start(l, t0);
  fake_transfer t1{"f"}, t2{"f"};
  a.admitted(&t1, kA);
  a.admitted(&t2, kB);
  EXPECT_EQ(a.decide(l, tftp_peer{0x0a000003, 7}, "f", t0).verdict, verdict::refused_busy);
  a.finished(&t1, kA);
  EXPECT_EQ(a.decide(l, tftp_peer{0x0a000003, 7}, "f", t0).verdict, verdict::admit);
}

TEST(TftpAdmission, RefusesBeyondThePerClientCap) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{.max_transfers = 100, .max_per_client = 1};
  a.start(l, t0);
  fake_transfer t{"f"};
  a.admitted(&t, kA);
  EXPECT_EQ(a.decide(l, kA2, "g", t0).verdict, verdict::refused_busy);  // same address, other port
  EXPECT_EQ(a.decide(l, kB, "g", t0).verdict, verdict::admit);          // another client
}

TEST(TftpAdmission, RepeatedRequestGoesToTheLiveTransfer) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{};
  a.start(l, t0);
  fake_transfer t{"start4.elf"};
  a.admitted(&t, kA);
  auto d = a.decide(l, kA, "start4.elf", t0 + 2s);
  EXPECT_EQ(d.verdict, verdict::duplicate);
  EXPECT_EQ(d.live, &t);
  EXPECT_EQ(d.replaced, nullptr);
  EXPECT_EQ(a.find(kA), &t);  // still live by peer
}

TEST(TftpAdmission, RequestFromAReusedPortReplacesTheOldTransfer) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{};
  a.start(l, t0);
  fake_transfer heard{"f", true}, other{"g"};
  a.admitted(&heard, kA);
  a.admitted(&other, kB);
  // Same file, but the client had been answering: a new transfer.
  auto d = a.decide(l, kA, "f", t0);
  EXPECT_EQ(d.verdict, verdict::admit);
  EXPECT_EQ(d.replaced, &heard);
  EXPECT_EQ(a.find(kA), nullptr);
  EXPECT_EQ(a.live(), 2U);  // until finished() for the replaced one
  // Another file from the same port: a new transfer too.
  d = a.decide(l, kB, "h", t0);
  EXPECT_EQ(d.verdict, verdict::admit);
  EXPECT_EQ(d.replaced, &other);
  // The replacement registers; the old one finishing later does not forget it.
  fake_transfer next{"f"};
  a.admitted(&next, kA);
  a.finished(&heard, kA);
  EXPECT_EQ(a.find(kA), &next);
  EXPECT_EQ(a.live_for(kA.address), 1U);
}

TEST(TftpAdmission, ReplacedEvenWhenTheNewRequestIsRefused) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{.max_transfers = 1, .max_per_client = 1};
  a.start(l, t0);
  fake_transfer old{"f", true};
  a.admitted(&old, kA);
  auto d = a.decide(l, kA, "g", t0);
  EXPECT_EQ(d.verdict, verdict::refused_busy);  // the old one still counts until it finishes
  EXPECT_EQ(d.replaced, &old);
}

TEST(TftpAdmission, RateLimitRefillsOverTime) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{.requests_per_second = 10, .request_burst = 2};
  a.start(l, t0);
  EXPECT_EQ(a.decide(l, kA, "f", t0).verdict, verdict::admit);
  EXPECT_EQ(a.decide(l, kA, "f", t0).verdict, verdict::admit);
  EXPECT_EQ(a.decide(l, kA, "f", t0).verdict, verdict::refused_rate);
  EXPECT_EQ(a.decide(l, kA, "f", t0 + 50ms).verdict, verdict::refused_rate);  // half a token
  EXPECT_EQ(a.decide(l, kA, "f", t0 + 100ms).verdict, verdict::admit);
  // Never more than the burst, however long idle.
  auto later = t0 + 1h;
  EXPECT_EQ(a.decide(l, kA, "f", later).verdict, verdict::admit);
  EXPECT_EQ(a.decide(l, kA, "f", later).verdict, verdict::admit);
  EXPECT_EQ(a.decide(l, kA, "f", later).verdict, verdict::refused_rate);
}

TEST(TftpAdmission, RateLimitComesBeforeDuplicateDetection) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{.requests_per_second = 1, .request_burst = 1};
  a.start(l, t0);
  fake_transfer t{"f"};
  EXPECT_EQ(a.decide(l, kA, "f", t0).verdict, verdict::admit);
  a.admitted(&t, kA);
  auto d = a.decide(l, kA, "f", t0);
  EXPECT_EQ(d.verdict, verdict::refused_rate);
  EXPECT_EQ(d.live, nullptr);
}

TEST(TftpAdmission, NoRateLimitWhenZero) {
  tftp_admission<fake_transfer> a;
  tftp_admission_limits l{.requests_per_second = 0, .request_burst = 0};
  a.start(l, t0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.decide(l, kA, "f", t0).verdict, verdict::admit);
}

class TftpOpenRequest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pnb-tftp-admission-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "10.0.0.7");
    std::ofstream{dir_ / "shared.bin", std::ios::binary} << "shared";
    std::ofstream{dir_ / "10.0.0.7" / "own.bin", std::ios::binary} << "own!";
    auto r = tftp::open_root(dir_.c_str());
    ASSERT_TRUE(r);
    root_ = std::move(*r);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  tftp_opened open(tftp::opcode op, std::string_view name, core::ipv4_address client = {10, 0, 0, 1}) {
    tftp::request_view req{.op = op, .filename = name, .mode = "octet"};
    return open_request(req, client, opts_, root_.get(), root_.get(), cache_);
  }

  std::filesystem::path dir_;
  tftp::unique_fd root_;
  tftp::file_cache cache_;
  tftp_server_options opts_;
};

TEST_F(TftpOpenRequest, ReadOpensTheFileFromTheSharedRoot) {
  auto o = open(tftp::opcode::rrq, "shared.bin");
  auto* f = std::get_if<tftp_read_file>(&o);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->source.size(), 6U);
  EXPECT_EQ(f->root, "");
}

TEST_F(TftpOpenRequest, ReadUsesThePerClientRoot) {
  opts_.roots.mode = tftp::root_mode::ip;
  auto o = open(tftp::opcode::rrq, "own.bin", {10, 0, 0, 7});
  auto* f = std::get_if<tftp_read_file>(&o);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->source.size(), 4U);
  EXPECT_EQ(f->root, "10.0.0.7");
}

TEST_F(TftpOpenRequest, MissingFileIsAnError) {
  auto o = open(tftp::opcode::rrq, "absent.bin");
  auto* why = std::get_if<std::error_code>(&o);
  ASSERT_NE(why, nullptr);
  EXPECT_TRUE(*why == tftp::errc::file_not_found || *why == std::errc::no_such_file_or_directory)
      << why->message();
}

TEST_F(TftpOpenRequest, WriteIsRefusedUnlessAllowed) {
  auto o = open(tftp::opcode::wrq, "upload.bin");
  auto* why = std::get_if<std::error_code>(&o);
  ASSERT_NE(why, nullptr);
  EXPECT_EQ(*why, make_error_code(tftp::errc::access_violation));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "upload.bin"));
}

TEST_F(TftpOpenRequest, WriteCreatesASinkWhenAllowed) {
  opts_.allow_write = true;
  auto o = open(tftp::opcode::wrq, "upload.bin");
  auto* sink = std::get_if<tftp::file_sink>(&o);
  ASSERT_NE(sink, nullptr);
  sink->abort();
}

}  // namespace
}  // namespace pinetboot::net::detail
