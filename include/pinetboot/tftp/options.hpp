/// @file
/// @brief TFTP option negotiation: blksize (RFC 2348), timeout and tsize (RFC 2349), windowsize
/// (RFC 7440). Server side: negotiate() decides what to grant and write_oack() writes ONLY the
/// granted options that the client asked for. Client side: write_request() with numeric options,
/// validate_oack() checks the server's answer.
#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/packet.hpp"

namespace pinetboot::tftp {

inline constexpr std::uint16_t default_blksize = 512;   ///< RFC 1350
inline constexpr std::uint16_t min_blksize = 8;         ///< RFC 2348
inline constexpr std::uint16_t max_blksize = 65464;     ///< RFC 2348
inline constexpr std::uint16_t max_windowsize = 65535;  ///< RFC 7440
/// Internal cap so that a window never spans more than half the block-number space, which
/// keeps ACK numbers unambiguous across rollover.
inline constexpr std::uint16_t max_effective_windowsize = 32768;

/// Bit flags naming the options we understand.
enum class option_flag : std::uint8_t { blksize = 1, timeout = 2, tsize = 4, windowsize = 8 };

/// Server policy for negotiation.
struct negotiation_limits {
  std::uint16_t max_blksize = 1468;   ///< a requested blksize above this is clamped (1500-byte MTU)
  std::uint16_t max_windowsize = 64;  ///< a requested windowsize above this is clamped
  bool enable_options = true;         ///< false: plain RFC 1350 server, never sends OACK
  bool allow_blksize = true;
  bool allow_timeout = true;
  bool allow_tsize = true;
  bool allow_windowsize = true;
  /// curl 7.88 fails on "tsize 0" for an empty file although RFC 2349 allows it, so by default
  /// an RRQ for an empty file gets no tsize in the OACK.
  bool ack_zero_tsize = false;
  /// false (default): a malformed or out-of-range value of a known option is ignored (the option
  /// is not acknowledged, the transfer uses the default); atftp's man page even suggests
  /// "tsize enable". true: such a request fails with bad_option_value (ERROR 8).
  bool strict = false;
  /// WRQ: a tsize announcing more than this fails with disk_full.
  std::uint64_t max_write_size = std::numeric_limits<std::uint64_t>::max();
};

/// The outcome of negotiation (or of validating an OACK on the client side).
struct negotiated_options {
  std::uint16_t blksize = default_blksize;
  std::uint16_t windowsize = 1;
  std::uint8_t timeout_s = 0;  ///< 0 = not negotiated
  std::uint64_t tsize = 0;     ///< meaningful when has(option_flag::tsize)
  std::uint8_t acked = 0;      ///< option_flag bits present in the OACK

  [[nodiscard]] constexpr bool has(option_flag f) const noexcept {
    return (acked & static_cast<std::uint8_t>(f)) != 0;
  }
  constexpr void set(option_flag f) noexcept {
    acked = static_cast<std::uint8_t>(acked | static_cast<std::uint8_t>(f));
  }
  /// True when an OACK must be sent (at least one option accepted).
  [[nodiscard]] constexpr bool any() const noexcept { return acked != 0; }
};

/// Parses a non-empty string of decimal digits (no sign, no spaces). Errors: bad_option_value
/// (empty, non-digit, overflow of uint64).
[[nodiscard]] inline result<std::uint64_t> parse_decimal(std::string_view s) noexcept {
  if (s.empty() || s.size() > 20) return errc::bad_option_value;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return errc::bad_option_value;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return errc::bad_option_value;
    v = v * 10 + d;
  }
  return v;
}

/// Server-side negotiation for one RRQ/WRQ. `file_size` is the size of the file for an RRQ
/// (nullopt if unknown); ignored for a WRQ. Unknown options are ignored. Rules:
/// - blksize: 8..65464, clamped to limits.max_blksize; below 8 or malformed: ignored (strict: error)
/// - timeout: 1..255 seconds, acknowledged unchanged; otherwise ignored (strict: error)
/// - tsize: RRQ octet: acknowledged with the real size (never for netascii, whose size on the wire
///   differs); WRQ: the announced size is acknowledged, more than limits.max_write_size -> disk_full
/// - windowsize: 1..65535, clamped to limits.max_windowsize (and 32768); otherwise ignored
/// Errors: bad_option_value (strict only), disk_full (WRQ tsize over the limit).
[[nodiscard]] inline result<negotiated_options> negotiate(request_view const& req,
                                                          negotiation_limits const& lim,
                                                          std::optional<std::uint64_t> file_size) noexcept {
  negotiated_options n;
  if (!lim.enable_options) return n;
  auto bad = [&]() noexcept -> bool { return lim.strict; };
  if (auto const* o = req.options.find("blksize"); o != nullptr && lim.allow_blksize) {
    auto v = parse_decimal(o->value);
    if (v && *v >= min_blksize) {
      std::uint64_t cap = lim.max_blksize < min_blksize ? min_blksize : lim.max_blksize;
      if (cap > max_blksize) cap = max_blksize;
      n.blksize = static_cast<std::uint16_t>(*v < cap ? *v : cap);
      n.set(option_flag::blksize);
    } else if (bad()) {
      return errc::bad_option_value;
    }
  }
  if (auto const* o = req.options.find("timeout"); o != nullptr && lim.allow_timeout) {
    auto v = parse_decimal(o->value);
    if (v && *v >= 1 && *v <= 255) {
      n.timeout_s = static_cast<std::uint8_t>(*v);
      n.set(option_flag::timeout);
    } else if (bad()) {
      return errc::bad_option_value;
    }
  }
  if (auto const* o = req.options.find("tsize"); o != nullptr && lim.allow_tsize) {
    auto v = parse_decimal(o->value);
    if (!v) {
      if (bad()) return errc::bad_option_value;
    } else if (req.op == opcode::wrq) {
      if (*v > lim.max_write_size) return errc::disk_full;
      n.tsize = *v;
      n.set(option_flag::tsize);
    } else if (req.mode_kind == transfer_mode::octet && file_size &&
               (*file_size != 0 || lim.ack_zero_tsize)) {
      n.tsize = *file_size;
      n.set(option_flag::tsize);
    }
  }
  if (auto const* o = req.options.find("windowsize"); o != nullptr && lim.allow_windowsize) {
    auto v = parse_decimal(o->value);
    if (v && *v >= 1 && *v <= max_windowsize) {
      std::uint64_t cap = lim.max_windowsize < 1 ? 1 : lim.max_windowsize;
      if (cap > max_effective_windowsize) cap = max_effective_windowsize;
      n.windowsize = static_cast<std::uint16_t>(*v < cap ? *v : cap);
      n.set(option_flag::windowsize);
    } else if (bad()) {
      return errc::bad_option_value;
    }
  }
  return n;
}

namespace detail {
/// Decimal text of a number in a small fixed buffer.
struct decimal {
  std::array<char, 24> buf{};
  std::size_t len = 0;
  constexpr explicit decimal(std::uint64_t v) noexcept {
    std::array<char, 24> tmp{};
    std::size_t n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    for (std::size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
    len = n;
  }
  [[nodiscard]] constexpr std::string_view view() const noexcept { return {buf.data(), len}; }
};

/// Option name/value texts for the set bits of `n`, in the order blksize, timeout, tsize,
/// windowsize. `values` provides the number storage.
inline std::size_t collect(negotiated_options const& n, std::array<decimal, 4>& values,
                           std::array<option_view, 4>& out) noexcept {
  std::size_t k = 0;
  if (n.has(option_flag::blksize)) {
    values[k] = decimal{n.blksize};
    out[k] = {"blksize", values[k].view()};
    ++k;
  }
  if (n.has(option_flag::timeout)) {
    values[k] = decimal{n.timeout_s};
    out[k] = {"timeout", values[k].view()};
    ++k;
  }
  if (n.has(option_flag::tsize)) {
    values[k] = decimal{n.tsize};
    out[k] = {"tsize", values[k].view()};
    ++k;
  }
  if (n.has(option_flag::windowsize)) {
    values[k] = decimal{n.windowsize};
    out[k] = {"windowsize", values[k].view()};
    ++k;
  }
  return k;
}
}  // namespace detail

/// Writes the OACK for `n`: exactly the acknowledged options. Call only when n.any().
/// Errors: buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_oack(std::span<std::byte> out,
                                                    negotiated_options const& n) noexcept {
  std::array<detail::decimal, 4> values{detail::decimal{0}, detail::decimal{0}, detail::decimal{0},
                                        detail::decimal{0}};
  std::array<option_view, 4> opts{};
  auto k = detail::collect(n, values, opts);
  return write_oack(out, std::span<const option_view>{opts.data(), k});
}

/// What a client asks for. nullopt/false = not requested.
struct client_options {
  std::optional<std::uint16_t> blksize;
  std::optional<std::uint8_t> timeout_s;
  bool tsize = false;  ///< RRQ: sends "tsize 0"; WRQ: sends the size passed to write_request
  std::optional<std::uint16_t> windowsize;
};

/// Writes an RRQ/WRQ with the requested options (`tsize_value` is the WRQ's file size; an RRQ
/// sends 0). Errors: as write_request(), plus bad_option_value for out-of-range requests.
[[nodiscard]] inline result<std::size_t> write_request(std::span<std::byte> out, opcode op,
                                                       std::string_view filename, transfer_mode mode,
                                                       client_options const& req,
                                                       std::uint64_t tsize_value = 0) noexcept {
  negotiated_options n;
  if (req.blksize) {
    if (*req.blksize < min_blksize || *req.blksize > max_blksize) return errc::bad_option_value;
    n.blksize = *req.blksize;
    n.set(option_flag::blksize);
  }
  if (req.timeout_s) {
    if (*req.timeout_s < 1) return errc::bad_option_value;
    n.timeout_s = *req.timeout_s;
    n.set(option_flag::timeout);
  }
  if (req.tsize) {
    n.tsize = op == opcode::wrq ? tsize_value : 0;
    n.set(option_flag::tsize);
  }
  if (req.windowsize) {
    if (*req.windowsize < 1) return errc::bad_option_value;
    n.windowsize = *req.windowsize;
    n.set(option_flag::windowsize);
  }
  std::array<detail::decimal, 4> values{detail::decimal{0}, detail::decimal{0}, detail::decimal{0},
                                        detail::decimal{0}};
  std::array<option_view, 4> opts{};
  auto k = detail::collect(n, values, opts);
  return write_request(out, op, filename, mode, std::span<const option_view>{opts.data(), k});
}

/// Client side: checks a server's OACK against what was requested (RFC 2347: the server may only
/// acknowledge requested options; RFC 2348/7440: it may lower blksize/windowsize, never raise
/// them; RFC 2349: timeout must be echoed unchanged). Options the server left out get their
/// defaults. Errors: option_refused (unrequested/unknown option, out-of-range or malformed value).
[[nodiscard]] inline result<negotiated_options> validate_oack(oack_view const& oack,
                                                              client_options const& req) noexcept {
  negotiated_options n;
  for (auto const& o : oack.options) {
    auto v = parse_decimal(o.value);
    if (!v) return errc::option_refused;
    if (iequals(o.name, "blksize")) {
      if (!req.blksize || *v < min_blksize || *v > *req.blksize) return errc::option_refused;
      n.blksize = static_cast<std::uint16_t>(*v);
      n.set(option_flag::blksize);
    } else if (iequals(o.name, "timeout")) {
      if (!req.timeout_s || *v != *req.timeout_s) return errc::option_refused;
      n.timeout_s = *req.timeout_s;
      n.set(option_flag::timeout);
    } else if (iequals(o.name, "tsize")) {
      if (!req.tsize) return errc::option_refused;
      n.tsize = *v;
      n.set(option_flag::tsize);
    } else if (iequals(o.name, "windowsize")) {
      if (!req.windowsize || *v < 1 || *v > *req.windowsize || *v > max_effective_windowsize)
        return errc::option_refused;
      n.windowsize = static_cast<std::uint16_t>(*v);
      n.set(option_flag::windowsize);
    } else {
      return errc::option_refused;
    }
  }
  return n;
}

}  // namespace pinetboot::tftp
