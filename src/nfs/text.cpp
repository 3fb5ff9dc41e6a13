#include "text.hpp"

#include "pinetboot/nfs/error.hpp"

namespace pinetboot::nfs::detail {

void append_octal(std::string& out, unsigned char c) {
  out += '\\';
  out += static_cast<char>('0' + ((c >> 6) & 7));
  out += static_cast<char>('0' + ((c >> 3) & 7));
  out += static_cast<char>('0' + (c & 7));
}

std::error_code check_absolute_path(std::string_view p, std::size_t max_len) noexcept {
  if (p.empty()) return errc::empty_path;
  if (p.find('\0') != std::string_view::npos || p.find('\n') != std::string_view::npos)
    return errc::forbidden_character;
  if (p.front() != '/') return errc::relative_path;
  if (p.size() > max_len) return errc::path_too_long;
  std::size_t pos = 0;
  while (pos < p.size()) {
    std::size_t end = p.find('/', pos);
    if (end == std::string_view::npos) end = p.size();
    if (p.substr(pos, end - pos) == "..") return errc::path_traversal;
    pos = end + 1;
  }
  return {};
}

bool is_hostname(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253) return false;
  bool all_numeric = true;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = s.find('.', pos);
    if (end == std::string_view::npos) end = s.size();
    auto label = s.substr(pos, end - pos);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
      if (!is_digit(c)) all_numeric = false;
    }
    if (end == s.size()) break;
    pos = end + 1;
  }
  return !all_numeric;
}

std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) noexcept {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace pinetboot::nfs::detail
