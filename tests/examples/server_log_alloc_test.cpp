// The server logger's promise: once its buffer has grown, a record with typed fields (the
// per-transfer TFTP record's shape) allocates nothing, in JSON or text (counting operator new).
#include "support/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "log.hpp"

namespace {

using pinetboot::server::log_level;
using pinetboot::server::logger;

void tftp_record(logger& log, std::string const& file, std::uint64_t bytes, double secs) {
  log.line(log_level::info, "tftp",
           {{"board", std::string_view{"dc:a6:32:00:00:01"}},
            {"client", std::string_view{"10.77.0.131"}},
            {"file", file},
            {"write", false},
            {"outcome", std::string_view{"sent"}},
            {"bytes", bytes},
            {"seconds", secs},
            {"blksize", std::uint16_t{1468}},
            {"windowsize", std::uint16_t{16}},
            {"retransmits", std::uint64_t{3}},
            {"root", std::string_view{}}},
           "board dc:a6:32:00:00:01: tftp 10000000/kernel8.img sent");
}

TEST(ServerLogAlloc, ATransferRecordAllocatesNothingOnceWarm) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  std::string const file = "10000000/kernel8.img";
  for (bool json : {true, false}) {
    logger log{json, out};
    tftp_record(log, file, 1, 0.5);  // grows the buffer (and stdio's)
    pinetboot::test::allocation_scope scope;
    for (std::uint64_t i = 0; i < 1000; ++i) tftp_record(log, file, i * 1468, static_cast<double>(i) / 7.0);
    EXPECT_EQ(scope.count(), 0U) << (json ? "json" : "text");
  }
  std::fclose(out);
}

}  // namespace
