/// @file
/// @brief Resolution of a requested TFTP file name (RFC 1350 section 2: "netascii" file name
/// text) to a normalized path relative to the served root. Pure, noexcept, no allocation.
///
/// Rules (the safe choice in every case; each is tested):
///   * Bytes 0x00-0x1f and 0x7f (NUL, control characters) -> errc::access_violation.
///   * Backslash: rejected by default (errc::access_violation). Windows-style clients (WDS,
///     `boot\x64\wdsnbp.com`) can be served with `backslash_policy::as_separator`, which turns
///     every '\\' into '/' BEFORE any other check, so `..\\..\\x` is still refused as `..`.
///   * A leading '/' (PXE ROMs send `/pxelinux.0`) is accepted and stripped: the name is always
///     relative to the served root, so `/etc/passwd` means `<root>/etc/passwd`, never the host's.
///   * Empty components (`a//b`) and `.` components collapse.
///   * Any `..` component -> errc::access_violation, even when it would stay inside
///     (`a/../b`): no lexical climbing at all.
///   * A trailing '/' or trailing `/.`, an empty name and `/` alone -> errc::access_violation
///     (directories are not served).
///   * A component longer than `max_component` (NAME_MAX = 255 at most), a request longer than
///     max_path_length (PATH_MAX - 1 = 4095), or a result longer than `max_length` ->
///     errc::name_too_long (sent on the wire as "Access violation", see tftp::to_wire).
///   * Optional `strip_prefix` (tftp-hpa without -s, clients configured with the server's
///     absolute path): for an absolute request whose leading components equal the prefix's
///     components, those are removed: root `/srv/tftp`, request `/srv/tftp/pxelinux.0` ->
///     `pxelinux.0`. Only whole components match (`/srv/tftpx` is not stripped); a request naming
///     the prefix itself is a directory -> errc::access_violation.
///
/// The result has no leading '/', no empty, `.` or `..` component, no control character or
/// backslash, and is at most `max_length` long; resolving a result again yields it unchanged.
/// Symlinks are not this layer's business: file_source opens the result with the kernel (or
/// its fallback walker) confined beneath the root directory.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/error.hpp"

namespace pinetboot::tftp {

/// Hard upper bound of a resolved path (PATH_MAX - 1 on Linux, room for the NUL).
inline constexpr std::size_t max_path_length = 4095;
/// Upper bound of one path component (NAME_MAX on Linux).
inline constexpr std::size_t max_component_length = 255;

/// What a backslash in a requested name means.
enum class backslash_policy : std::uint8_t {
  reject,        ///< errc::access_violation (default)
  as_separator,  ///< same as '/', then the usual checks apply
};

/// Configuration of resolve_path(). Defaults are the strict, safe choice.
struct path_options {
  std::size_t max_length = max_path_length;          ///< clamped to max_path_length
  std::size_t max_component = max_component_length;  ///< clamped to max_component_length
  backslash_policy backslash = backslash_policy::reject;
  /// Absolute prefix some clients send (e.g. "/srv/tftp"); empty = none. Must outlive the call.
  std::string_view strip_prefix{};
};

namespace detail {

/// Splits text into components on '/' (and '\\' when `bs`). Empty components are returned too.
class component_iterator {
 public:
  constexpr component_iterator(std::string_view s, bool bs) noexcept : s_{s}, bs_{bs} {}
  [[nodiscard]] constexpr bool done() const noexcept { return pos_ > s_.size(); }
  /// The next component; precondition: !done().
  constexpr std::string_view next() noexcept {
    std::size_t end = pos_;
    while (end < s_.size() && !is_sep(s_[end])) ++end;
    std::string_view c = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return c;
  }
  [[nodiscard]] constexpr bool is_sep(char c) const noexcept { return c == '/' || (bs_ && c == '\\'); }

 private:
  std::string_view s_;
  bool bs_;
  std::size_t pos_ = 0;
};

[[nodiscard]] constexpr bool is_forbidden_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

/// Skips empty and "." components; returns the next meaningful one or an empty view at the end.
[[nodiscard]] constexpr std::string_view next_meaningful(component_iterator& it) noexcept {
  while (!it.done()) {
    std::string_view c = it.next();
    if (!c.empty() && c != ".") return c;
  }
  return {};
}

}  // namespace detail

/// Resolves `requested` into `out` and returns a view of the result (inside `out`, followed by
/// a NUL so `data()` can be passed to openat). `out` must hold the result plus its NUL; a buffer
/// of `requested.size() + 1` (or max_path_length + 1) always suffices.
/// Errors: errc::access_violation (control character, NUL, backslash, `..`, trailing slash,
/// empty name, request names the stripped prefix), errc::name_too_long (component or length
/// limit), errc::buffer_too_small (`out` too small).
[[nodiscard]] inline result<std::string_view> resolve_path(std::string_view requested, std::span<char> out,
                                                           path_options const& opts = {}) noexcept {
  std::size_t const max_len = std::min(opts.max_length, max_path_length);
  std::size_t const max_comp = std::min(opts.max_component, max_component_length);
  bool const bs_sep = opts.backslash == backslash_policy::as_separator;
  if (requested.size() > max_path_length) return errc::name_too_long;
  for (char c : requested) {
    if (detail::is_forbidden_char(c)) return errc::access_violation;
    if (c == '\\' && !bs_sep) return errc::access_violation;
  }
  bool const absolute = !requested.empty() && (requested[0] == '/' || (bs_sep && requested[0] == '\\'));

  std::size_t len = 0;
  std::string_view last{};
  detail::component_iterator it{requested, bs_sep};
  while (!it.done()) {
    std::string_view c = it.next();
    last = c;
    if (c.empty() || c == ".") continue;
    if (c == "..") return errc::access_violation;
    if (c.size() > max_comp) return errc::name_too_long;
    std::size_t const need = len + (len > 0 ? 1 : 0) + c.size();
    if (need + 1 > out.size()) return errc::buffer_too_small;
    if (len > 0) out[len++] = '/';
    std::copy(c.begin(), c.end(), out.begin() + static_cast<std::ptrdiff_t>(len));
    len += c.size();
  }
  // A last component that is empty or "." names a directory (trailing '/', "/.", "" or "/").
  if (last.empty() || last == ".") return errc::access_violation;

  if (absolute && !opts.strip_prefix.empty()) {
    detail::component_iterator pre{opts.strip_prefix, false};
    detail::component_iterator got{std::string_view{out.data(), len}, false};
    std::size_t matched = 0;  // characters of the result covered by matched components
    bool any = false;
    bool match = true;
    for (std::string_view p = detail::next_meaningful(pre); !p.empty(); p = detail::next_meaningful(pre)) {
      std::string_view g = detail::next_meaningful(got);
      if (g != p) {
        match = false;
        break;
      }
      matched = static_cast<std::size_t>(g.data() - out.data()) + g.size();
      any = true;
    }
    if (match && any) {
      if (matched >= len) return errc::access_violation;  // the prefix itself: a directory
      std::size_t const from = matched + 1;               // skip the '/'
      std::copy(out.begin() + static_cast<std::ptrdiff_t>(from),
                out.begin() + static_cast<std::ptrdiff_t>(len), out.begin());
      len -= from;
    }
  }
  if (len > max_len) return errc::name_too_long;
  out[len] = '\0';
  return std::string_view{out.data(), len};
}

/// A fixed-capacity, NUL-terminated resolved path (4 KiB, no allocation).
class resolved_path {
 public:
  constexpr resolved_path() noexcept = default;

  /// Resolves `requested` into this object (see the free resolve_path for rules and errors).
  /// On error the object is left empty.
  [[nodiscard]] std::error_code assign(std::string_view requested, path_options const& opts = {}) noexcept {
    auto r = resolve_path(requested, std::span<char>{buf_}, opts);
    if (!r) {
      len_ = 0;
      buf_[0] = '\0';
      return r.error();
    }
    len_ = r->size();
    return {};
  }

  [[nodiscard]] constexpr std::string_view view() const noexcept { return {buf_.data(), len_}; }
  [[nodiscard]] constexpr char const* c_str() const noexcept { return buf_.data(); }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return len_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return len_ == 0; }

 private:
  std::array<char, max_path_length + 1> buf_{};
  std::size_t len_ = 0;
};

}  // namespace pinetboot::tftp
