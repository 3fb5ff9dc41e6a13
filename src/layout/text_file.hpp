// Private to the layout module: the small text files it reads and writes (publish journals,
// generation info, image settings, board markers, manifests).
#pragma once

#include <string_view>
#include <system_error>

namespace pinetboot::layout::detail {

/// Calls f(key, value) for each `key=value` line of `text` (empty lines and '#' lines
/// skipped) and stops at its first error; a line without '=' is `bad`.
template <class F>
std::error_code for_each_pair(std::string_view text, std::error_code bad, F f) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return bad;
    if (auto ec = f(line.substr(0, eq), line.substr(eq + 1))) return ec;
  }
  return {};
}

}  // namespace pinetboot::layout::detail
