#include "log.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

namespace pinetboot::server {

void append_json_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      auto u = static_cast<unsigned char>(c);
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
}

void log_value::append_json(std::string& out) const {
  char b[32];
  std::to_chars_result r{b, {}};
  switch (kind_) {
    case kind::text:
      out += '"';
      append_json_escaped(out, text_);
      out += '"';
      return;
    case kind::boolean:
      out += u_ != 0 ? "true" : "false";
      return;
    case kind::signed_integer:
      r = std::to_chars(b, b + sizeof b, i_);
      break;
    case kind::unsigned_integer:
      r = std::to_chars(b, b + sizeof b, u_);
      break;
    case kind::real:
      if (!std::isfinite(d_)) {
        out += "null";  // JSON has no NaN or infinity
        return;
      }
      r = std::to_chars(b, b + sizeof b, d_);  // shortest form that reads back the same
      break;
  }
  out.append(b, r.ptr);
}

std::size_t format_rfc3339(std::span<char, 32> out, std::chrono::system_clock::time_point t) noexcept {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  auto frac = static_cast<int>(ms - static_cast<long long>(secs) * 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  long off = tm.tm_gmtoff / 60;  // minutes east of UTC
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  std::size_t n = std::strftime(out.data(), out.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  int m = std::snprintf(out.data() + n, out.size() - n, ".%03d%c%02ld:%02ld", frac, sign, off / 60, off % 60);
  return m > 0 ? n + static_cast<std::size_t>(m) : n;
}

void logger::line(log_level level, std::string_view event, std::initializer_list<log_field> fields,
                  std::string_view text) {
  char ts[32];
  auto tn = format_rfc3339(ts, std::chrono::system_clock::now());
  if (json_) {
    buf_.clear();
    buf_ += "{\"time\":\"";
    buf_.append(ts, tn);
    buf_ += "\",\"level\":\"";
    buf_ += to_string(level);
    buf_ += "\",\"event\":\"";
    append_json_escaped(buf_, event);
    buf_ += '"';
    for (auto const& f : fields) {
      buf_ += ",\"";
      buf_ += f.key;
      buf_ += "\":";
      f.value.append_json(buf_);
    }
    buf_ += "}\n";
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
  } else {
    std::fprintf(out_, "%.*s %.*s\n", static_cast<int>(tn), ts, static_cast<int>(text.size()), text.data());
  }
  std::fflush(out_);
}

}  // namespace pinetboot::server
