// pinetboot-server's log records (examples/server/log.hpp).
#include "log.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using pinetboot::server::format_rfc3339;
using pinetboot::server::log_level;
using pinetboot::server::logger;

/// The lines a logger wrote to a temporary file.
class captured {
 public:
  captured() : f_{std::tmpfile()} {}
  ~captured() { std::fclose(f_); }
  captured(captured const&) = delete;
  captured& operator=(captured const&) = delete;
  [[nodiscard]] std::FILE* file() const { return f_; }
  [[nodiscard]] std::vector<std::string> lines() const {
    std::rewind(f_);
    std::vector<std::string> out;
    std::string cur;
    for (int c = std::fgetc(f_); c != EOF; c = std::fgetc(f_)) {
      if (c == '\n') {
        out.push_back(cur);
        cur.clear();
      } else {
        cur += static_cast<char>(c);
      }
    }
    EXPECT_TRUE(cur.empty()) << "unterminated line: " << cur;
    return out;
  }

 private:
  std::FILE* f_;
};

/// Sets TZ for one test (POSIX rules, so no tz database is needed).
class scoped_tz {
 public:
  explicit scoped_tz(char const* tz) {
    if (char const* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~scoped_tz() {
    if (old_.empty())
      ::unsetenv("TZ");
    else
      ::setenv("TZ", old_.c_str(), 1);
    ::tzset();
  }
  scoped_tz(scoped_tz const&) = delete;
  scoped_tz& operator=(scoped_tz const&) = delete;

 private:
  std::string old_;
};

std::chrono::system_clock::time_point at_ms(long long ms) {
  return std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  char b[32];
  auto n = format_rfc3339(b, t);
  return {b, n};
}

TEST(ServerLog, TimestampIsRfc3339WithMillisecondsAndOffset) {
  // 2026-12-07T14:45:01.123Z
  constexpr long long t = 1796654701123;
  {
    scoped_tz tz{"UTC0"};
    EXPECT_EQ(rfc3339(at_ms(t)), "2026-12-07T14:45:01.123+00:00");
    EXPECT_EQ(rfc3339(at_ms(t - 123)), "2026-12-07T14:45:01.000+00:00");
    EXPECT_EQ(rfc3339(at_ms(t + 876)), "2026-12-07T14:45:01.999+00:00");
  }
  {
    scoped_tz tz{"IST-05:30"};  // POSIX: west of UTC is positive, so this is UTC+05:30
    EXPECT_EQ(rfc3339(at_ms(t)), "2026-12-07T20:15:01.123+05:30");
  }
  {
    scoped_tz tz{"NST03:30"};
    EXPECT_EQ(rfc3339(at_ms(t)), "2026-12-07T11:15:01.123-03:30");
  }
}

TEST(ServerLog, JsonFieldsKeepTheirTypes) {
  captured out;
  logger log{true, out.file()};
  std::string const file = "10000000/kernel8.img";
  std::uint64_t const bytes = 0;
  log.line(log_level::warning, "tftp",
           {{"file", file},
            {"bytes", bytes},
            {"blksize", std::uint16_t{1468}},
            {"signal", -15},
            {"seconds", 0.25},
            {"write", false},
            {"sent", true},
            {"outcome", std::string_view{"failed: \"timed out\"\n"}},
            {"literal", "text"}},
           "ignored in JSON");
  auto lines = out.lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find("\"bytes\":0,"), std::string::npos) << lines[0];
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j.size(), 12U) << lines[0];
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["event"], "tftp");
  EXPECT_TRUE(j["time"].is_string());
  EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                               std::regex{R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2})"}))
      << j["time"];
  EXPECT_EQ(j["file"], file);
  ASSERT_TRUE(j["bytes"].is_number_unsigned());
  EXPECT_EQ(j["bytes"].get<std::uint64_t>(), 0U);
  ASSERT_TRUE(j["blksize"].is_number_integer());
  EXPECT_EQ(j["blksize"].get<int>(), 1468);
  ASSERT_TRUE(j["signal"].is_number_integer());
  EXPECT_EQ(j["signal"].get<int>(), -15);
  ASSERT_TRUE(j["seconds"].is_number_float());
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 0.25);
  ASSERT_TRUE(j["write"].is_boolean());
  EXPECT_FALSE(j["write"].get<bool>());
  EXPECT_TRUE(j["sent"].get<bool>());
  EXPECT_EQ(j["outcome"], "failed: \"timed out\"\n");
  EXPECT_EQ(j["literal"], "text");  // a string literal is text, not a pointer turned bool
}

TEST(ServerLog, JsonNumbersAtTheirLimits) {
  captured out;
  logger log{true, out.file()};
  log.line("x",
           {{"max", std::numeric_limits<std::uint64_t>::max()},
            {"min", std::numeric_limits<std::int64_t>::min()},
            {"nan", std::numeric_limits<double>::quiet_NaN()},
            {"tiny", 1e-7}},
           "");
  auto lines = out.lines();
  ASSERT_EQ(lines.size(), 1U);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["max"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(j["min"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_TRUE(j["nan"].is_null());  // JSON has no NaN
  EXPECT_DOUBLE_EQ(j["tiny"].get<double>(), 1e-7);
}

TEST(ServerLog, JsonEscapesControlCharactersAndSwitchesToText) {
  captured out;
  logger log{true, out.file()};
  log.line(log_level::error, "reload", {{"error", std::string_view{"a\x01\tb\\", 5}}}, "reload FAILED");
  log.set_json(false);
  log.line(log_level::error, "reload", {{"error", "x"}}, "reload FAILED, keeping the running configuration");
  auto lines = out.lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_NE(lines[0].find(R"("error":"a\u0001\u0009b\\")"), std::string::npos) << lines[0];
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["error"], std::string("a\x01\tb\\"));
  EXPECT_TRUE(
      std::regex_match(lines[1], std::regex{R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2} )"
                                            R"(reload FAILED, keeping the running configuration)"}))
      << lines[1];
}

}  // namespace
