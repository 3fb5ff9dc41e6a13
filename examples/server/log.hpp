// pinetboot-server's log records: one line per event, as text or as a JSON object.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace pinetboot::server {

enum class log_level : std::uint8_t { info, warning, error };

[[nodiscard]] constexpr std::string_view to_string(log_level l) noexcept {
  return l == log_level::error ? "error" : l == log_level::warning ? "warning" : "info";
}

template <class T>
concept unsigned_number = std::unsigned_integral<T> && !std::same_as<T, bool>;

/// A field's value: text, or a number or boolean that JSON writes unquoted. Holds a view of
/// text, never a copy: a value lives as long as the log call it is an argument of.
class log_value {
 public:
  enum class kind : std::uint8_t { text, signed_integer, unsigned_integer, real, boolean };

  log_value(std::string_view s) noexcept : kind_{kind::text}, text_{s} {}
  log_value(char const* s) noexcept : log_value{std::string_view{s}} {}
  log_value(std::string const& s) noexcept : log_value{std::string_view{s}} {}
  log_value(bool b) noexcept : kind_{kind::boolean}, u_{b ? 1U : 0U} {}
  template <std::signed_integral T>
  log_value(T v) noexcept : kind_{kind::signed_integer}, i_{v} {}
  template <unsigned_number T>
  log_value(T v) noexcept : kind_{kind::unsigned_integer}, u_{v} {}
  template <std::floating_point T>
  log_value(T v) noexcept : kind_{kind::real}, d_{static_cast<double>(v)} {}

  [[nodiscard]] kind type() const noexcept { return kind_; }
  /// Appends the value as JSON: a string, an integer, a number (null if not finite), true/false.
  void append_json(std::string& out) const;

 private:
  kind kind_;
  std::string_view text_;
  union {
    std::int64_t i_;
    std::uint64_t u_ = 0;
    double d_;
  };
};

struct log_field {
  std::string_view key;  ///< a JSON name: letters, digits and '_' (not escaped)
  log_value value;
};

/// Appends `s` as the inside of a JSON string (quotes, backslashes and control characters escaped).
void append_json_escaped(std::string& out, std::string_view s);

/// Writes `t` in local time as RFC 3339 with milliseconds and the UTC offset
/// (2026-12-07T14:45:01.123+00:00) into `out`; returns the characters written (29).
std::size_t format_rfc3339(std::span<char, 32> out, std::chrono::system_clock::time_point t) noexcept;

/// The server's log: each record is one line on `out`, either "TIME TEXT" or one JSON object
/// {"time": RFC 3339, "level", "event", fields...}. The JSON line is built in a buffer kept
/// across calls, so a record costs no allocation once the buffer has grown to fit.
class logger {
 public:
  explicit logger(bool json, std::FILE* out = stdout) noexcept : json_{json}, out_{out} {}
  void set_json(bool j) noexcept { json_ = j; }
  [[nodiscard]] bool json() const noexcept { return json_; }

  /// One record: `text` for people (text format), `fields` for machines (JSON format).
  void line(log_level level, std::string_view event, std::initializer_list<log_field> fields,
            std::string_view text);
  void line(std::string_view event, std::initializer_list<log_field> fields, std::string_view text) {
    line(log_level::info, event, fields, text);
  }

 private:
  bool json_;
  std::FILE* out_;
  std::string buf_;
};

}  // namespace pinetboot::server
