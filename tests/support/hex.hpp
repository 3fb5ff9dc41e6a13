// Test helpers: hex literals and hex fixture files (tests/data/**/*.hex).
// Fixture format: '#' starts a comment to end of line; otherwise hex digit pairs separated by
// any whitespace; an optional leading offset column ("0010 ") is NOT supported - store bytes only.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pinetboot::test {

/// Parses hex text ("63 82 53 63", "63825363", with '#' comments) into bytes; throws on junk.
inline std::vector<std::byte> from_hex(std::string_view text) {
  std::vector<std::byte> out;
  int hi = -1;
  bool comment = false;
  for (char c : text) {
    if (comment) {
      if (c == '\n') comment = false;
      continue;
    }
    if (c == '#') {
      comment = true;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ':') continue;
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) throw std::invalid_argument(std::string("bad hex character: ") + c);
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::byte>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

/// Path of a fixture under tests/data.
inline std::filesystem::path data_path(std::string_view relative) {
  return std::filesystem::path{PINETBOOT_TEST_DATA_DIR} / relative;
}

/// Reads a hex fixture file (relative to tests/data).
inline std::vector<std::byte> load_hex(std::string_view relative) {
  std::ifstream in{data_path(relative)};
  if (!in) throw std::runtime_error("cannot open fixture " + data_path(relative).string());
  std::stringstream ss;
  ss << in.rdbuf();
  return from_hex(ss.str());
}

/// Bytes of a string literal, without its terminating NUL.
inline std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

}  // namespace pinetboot::test
