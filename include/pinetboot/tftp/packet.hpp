/// @file
/// @brief TFTP packet codec (RFC 1350, RFC 2347 OACK): parse datagrams into views that alias the
/// input, and write packets into caller buffers. No allocation, no exceptions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "pinetboot/core/byte_reader.hpp"
#include "pinetboot/core/byte_writer.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/error.hpp"

namespace pinetboot::tftp {

/// RFC 1350 section 5 opcodes plus OACK (RFC 2347).
enum class opcode : std::uint16_t { rrq = 1, wrq = 2, data = 3, ack = 4, error = 5, oack = 6 };

/// Transfer modes we accept (RFC 1350 "mail" is obsolete and refused).
enum class transfer_mode : std::uint8_t { octet, netascii };

/// Largest block size allowed by RFC 2348, and the resulting largest TFTP payload.
inline constexpr std::size_t max_packet_size = 4 + 65464;

namespace detail {
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace detail

/// ASCII case-insensitive equality (option names and modes, RFC 2347 section "Option Format").
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (detail::ascii_lower(a[i]) != detail::ascii_lower(b[i])) return false;
  return true;
}

/// One "name\0value\0" pair of an RRQ/WRQ/OACK; both views alias the datagram.
struct option_view {
  std::string_view name;
  std::string_view value;
};

/// Fixed-capacity list of options (no allocation). Names are unique case-insensitively once
/// produced by a parser.
class option_list {
 public:
  static constexpr std::size_t capacity = 16;

  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] constexpr option_view const* begin() const noexcept { return items_.data(); }
  [[nodiscard]] constexpr option_view const* end() const noexcept { return items_.data() + size_; }
  [[nodiscard]] constexpr option_view const& operator[](std::size_t i) const noexcept { return items_[i]; }
  [[nodiscard]] constexpr std::span<const option_view> span() const noexcept {
    return {items_.data(), size_};
  }

  /// Appends; false when full.
  constexpr bool push_back(option_view o) noexcept {
    if (size_ == capacity) return false;
    items_[size_++] = o;
    return true;
  }
  /// The option named `name` (case-insensitive), or nullptr.
  [[nodiscard]] constexpr option_view const* find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < size_; ++i)
      if (iequals(items_[i].name, name)) return &items_[i];
    return nullptr;
  }

 private:
  std::array<option_view, capacity> items_{};
  std::size_t size_ = 0;
};

/// RRQ or WRQ (RFC 1350 section 5, RFC 2347 section "Packet Formats").
struct request_view {
  opcode op = opcode::rrq;
  std::string_view filename;
  std::string_view mode;  ///< as sent (any case)
  transfer_mode mode_kind = transfer_mode::octet;
  option_list options;
};
/// DATA: block number and payload (aliases the datagram).
struct data_view {
  std::uint16_t block = 0;
  std::span<const std::byte> payload;
};
/// ACK: block number.
struct ack_view {
  std::uint16_t block = 0;
};
/// ERROR: wire code (any 16-bit value) and message.
struct error_view {
  error_code_wire code = error_code_wire::not_defined;
  std::string_view message;
};
/// OACK: the acknowledged options (RFC 2347).
struct oack_view {
  option_list options;
};

/// The opcode of a datagram. Errors: truncated (< 2 bytes), bad_opcode (not 1..6).
[[nodiscard]] inline result<opcode> parse_opcode(std::span<const std::byte> in) noexcept {
  core::byte_reader r{in};
  auto op = r.u16();
  if (!op) return errc::truncated;
  if (*op < 1 || *op > 6) return errc::bad_opcode;
  return static_cast<opcode>(*op);
}

namespace detail {
[[nodiscard]] inline result<std::string_view> read_cstr(core::byte_reader& r) noexcept {
  if (r.empty()) return errc::truncated;
  auto s = r.cstr();
  if (!s) return errc::missing_nul;
  return *s;
}

/// Parses "name\0value\0"... to the end of `r`. Trailing NUL padding (some PXE ROMs pad the RRQ)
/// is tolerated. RFC 2347 leaves duplicates open; we reject the whole request (duplicate_option)
/// rather than guess which copy the client meant.
[[nodiscard]] inline std::error_code read_options(core::byte_reader& r, option_list& out) noexcept {
  while (!r.empty()) {
    auto name = read_cstr(r);
    if (!name) return name.error();
    if (name->empty()) {
      for (std::byte b : r.rest())
        if (b != std::byte{0}) return errc::bad_option_value;
      return {};
    }
    auto value = read_cstr(r);
    if (!value) return value.error();
    if (out.find(*name) != nullptr) return errc::duplicate_option;
    if (!out.push_back({*name, *value})) return errc::too_many_options;
  }
  return {};
}

[[nodiscard]] constexpr bool has_nul(std::string_view s) noexcept {
  return s.find('\0') != std::string_view::npos;
}
}  // namespace detail

/// Parses a mode string case-insensitively. Errors: bad_mode ("mail" and anything else).
[[nodiscard]] inline result<transfer_mode> parse_mode(std::string_view mode) noexcept {
  if (iequals(mode, "octet")) return transfer_mode::octet;
  if (iequals(mode, "netascii")) return transfer_mode::netascii;
  return errc::bad_mode;
}
[[nodiscard]] constexpr std::string_view mode_name(transfer_mode m) noexcept {
  return m == transfer_mode::octet ? "octet" : "netascii";
}

/// Parses an RRQ/WRQ. The views alias `in`. Errors: truncated, bad_opcode (not RRQ/WRQ),
/// missing_nul, bad_mode, bad_option_value (empty option name followed by non-NUL bytes),
/// duplicate_option, too_many_options (> option_list::capacity).
[[nodiscard]] inline result<request_view> parse_request(std::span<const std::byte> in) noexcept {
  core::byte_reader r{in};
  auto op = r.u16();
  if (!op) return errc::truncated;
  if (*op != 1 && *op != 2) return errc::bad_opcode;
  request_view v;
  v.op = static_cast<opcode>(*op);
  auto filename = detail::read_cstr(r);
  if (!filename) return filename.error();
  v.filename = *filename;
  auto mode = detail::read_cstr(r);
  if (!mode) return mode.error();
  v.mode = *mode;
  auto kind = parse_mode(*mode);
  if (!kind) return kind.error();
  v.mode_kind = *kind;
  if (auto ec = detail::read_options(r, v.options)) return ec;
  return v;
}

/// Parses an OACK. Errors as parse_request (bad_opcode: not OACK).
[[nodiscard]] inline result<oack_view> parse_oack(std::span<const std::byte> in) noexcept {
  core::byte_reader r{in};
  auto op = r.u16();
  if (!op) return errc::truncated;
  if (*op != 6) return errc::bad_opcode;
  oack_view v;
  if (auto ec = detail::read_options(r, v.options)) return ec;
  return v;
}

/// Parses a DATA packet; the payload is everything after the 4-byte header (any length: the
/// session checks it against the negotiated blksize). Errors: truncated, bad_opcode.
[[nodiscard]] inline result<data_view> parse_data(std::span<const std::byte> in) noexcept {
  core::byte_reader r{in};
  auto op = r.u16();
  if (!op) return errc::truncated;
  if (*op != 3) return errc::bad_opcode;
  auto block = r.u16();
  if (!block) return errc::truncated;
  return data_view{*block, r.rest()};
}

/// Parses an ACK (trailing bytes are ignored). Errors: truncated, bad_opcode.
[[nodiscard]] inline result<ack_view> parse_ack(std::span<const std::byte> in) noexcept {
  core::byte_reader r{in};
  auto op = r.u16();
  if (!op) return errc::truncated;
  if (*op != 4) return errc::bad_opcode;
  auto block = r.u16();
  if (!block) return errc::truncated;
  return ack_view{*block};
}

/// Parses an ERROR packet (the code may be any value, RFC 1350 only defines 0..7, RFC 2347 adds
/// 8). Bytes after the message's NUL are ignored. Errors: truncated, bad_opcode, missing_nul.
[[nodiscard]] inline result<error_view> parse_error(std::span<const std::byte> in) noexcept {
  core::byte_reader r{in};
  auto op = r.u16();
  if (!op) return errc::truncated;
  if (*op != 5) return errc::bad_opcode;
  auto code = r.u16();
  if (!code) return errc::truncated;
  auto msg = detail::read_cstr(r);
  if (!msg) return msg.error();
  return error_view{static_cast<error_code_wire>(*code), *msg};
}

/// Writes an RRQ/WRQ with `options` in order. Returns bytes written. Errors: bad_opcode (op not
/// RRQ/WRQ), bad_option_value (a string contains NUL or an option name is empty),
/// buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_request(std::span<std::byte> out, opcode op,
                                                       std::string_view filename, transfer_mode mode,
                                                       std::span<const option_view> options = {}) noexcept {
  if (op != opcode::rrq && op != opcode::wrq) return errc::bad_opcode;
  if (detail::has_nul(filename)) return errc::bad_option_value;
  core::byte_writer w{out};
  w.u16(static_cast<std::uint16_t>(op));
  w.cstr(filename);
  w.cstr(mode_name(mode));
  for (auto const& o : options) {
    if (o.name.empty() || detail::has_nul(o.name) || detail::has_nul(o.value)) return errc::bad_option_value;
    w.cstr(o.name);
    w.cstr(o.value);
  }
  if (w.overflowed()) return errc::buffer_too_small;
  return w.needed();
}

/// Writes an OACK carrying `options`. Errors: bad_option_value, buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_oack(std::span<std::byte> out,
                                                    std::span<const option_view> options) noexcept {
  core::byte_writer w{out};
  w.u16(static_cast<std::uint16_t>(opcode::oack));
  for (auto const& o : options) {
    if (o.name.empty() || detail::has_nul(o.name) || detail::has_nul(o.value)) return errc::bad_option_value;
    w.cstr(o.name);
    w.cstr(o.value);
  }
  if (w.overflowed()) return errc::buffer_too_small;
  return w.needed();
}

/// Writes the 4-byte DATA header; the caller puts the payload at out[4..]. Errors: buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_data_header(std::span<std::byte> out,
                                                           std::uint16_t block) noexcept {
  core::byte_writer w{out};
  w.u16(static_cast<std::uint16_t>(opcode::data));
  w.u16(block);
  if (w.overflowed()) return errc::buffer_too_small;
  return w.needed();
}

/// Writes a DATA packet (header + copy of `payload`). Errors: buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_data(std::span<std::byte> out, std::uint16_t block,
                                                    std::span<const std::byte> payload) noexcept {
  core::byte_writer w{out};
  w.u16(static_cast<std::uint16_t>(opcode::data));
  w.u16(block);
  w.bytes(payload);
  if (w.overflowed()) return errc::buffer_too_small;
  return w.needed();
}

/// Writes an ACK. Errors: buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_ack(std::span<std::byte> out, std::uint16_t block) noexcept {
  core::byte_writer w{out};
  w.u16(static_cast<std::uint16_t>(opcode::ack));
  w.u16(block);
  if (w.overflowed()) return errc::buffer_too_small;
  return w.needed();
}

/// Writes an ERROR packet. A message containing NUL is cut at the first NUL.
/// Errors: buffer_too_small.
[[nodiscard]] inline result<std::size_t> write_error(std::span<std::byte> out, error_code_wire code,
                                                     std::string_view message) noexcept {
  message = message.substr(0, message.find('\0'));
  core::byte_writer w{out};
  w.u16(static_cast<std::uint16_t>(opcode::error));
  w.u16(static_cast<std::uint16_t>(code));
  w.cstr(message);
  if (w.overflowed()) return errc::buffer_too_small;
  return w.needed();
}

/// Writes the ERROR packet for a local error (see to_wire()).
[[nodiscard]] inline result<std::size_t> write_error(std::span<std::byte> out, std::error_code ec) noexcept {
  auto w = to_wire(ec);
  return write_error(out, w.code, w.message);
}

}  // namespace pinetboot::tftp
