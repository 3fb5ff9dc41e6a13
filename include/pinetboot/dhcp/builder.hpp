/// @file
/// @brief Writes DHCPv4 messages into a caller buffer (RFC 2131 2, RFC 2132, RFC 3396).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/byte_writer.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/dhcp/error.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/option_codes.hpp"

namespace pinetboot::dhcp {

/// Builds one message into `out`. Header setters may be called in any order; options are
/// appended in call order directly after the magic cookie. Nothing allocates. When `out` is
/// too small, writing continues to count, `finish()` returns errc::buffer_too_small and
/// `needed()` tells the exact size that would have succeeded.
///
/// Values longer than 255 bytes are split into consecutive options of the same code
/// (RFC 3396 2). Options are never placed in `sname`/`file` (no overload).
class message_builder {
 public:
  explicit message_builder(std::span<std::byte> out) noexcept : out_{out}, w_{out} {
    w_.fill(layout::options);  // header + cookie, written by finish()
  }

  // ---- header ------------------------------------------------------------------------------
  message_builder& op(bootp_op v) noexcept { return set(op_, static_cast<std::uint8_t>(v)); }
  message_builder& htype(std::uint8_t v) noexcept { return set(htype_, v); }
  message_builder& hlen(std::uint8_t v) noexcept {
    if (v > layout::chaddr_size) error_ = errc::bad_hlen;
    return set(hlen_, v);
  }
  message_builder& hops(std::uint8_t v) noexcept { return set(hops_, v); }
  message_builder& xid(std::uint32_t v) noexcept { return set(xid_, v); }
  message_builder& secs(std::uint16_t v) noexcept { return set(secs_, v); }
  message_builder& flags(std::uint16_t v) noexcept { return set(flags_, v); }
  message_builder& broadcast(bool on) noexcept {
    return set(flags_,
               static_cast<std::uint16_t>(on ? (flags_ | broadcast_flag) : (flags_ & ~broadcast_flag)));
  }
  message_builder& ciaddr(core::ipv4_address a) noexcept { return set(ciaddr_, a); }
  message_builder& yiaddr(core::ipv4_address a) noexcept { return set(yiaddr_, a); }
  message_builder& siaddr(core::ipv4_address a) noexcept { return set(siaddr_, a); }
  message_builder& giaddr(core::ipv4_address a) noexcept { return set(giaddr_, a); }
  /// Copies up to 16 bytes into `chaddr` (the rest is zeroed); more is errc::bad_hlen.
  /// Does not change htype/hlen.
  message_builder& chaddr(std::span<const std::byte> hw) noexcept {
    if (hw.size() > layout::chaddr_size) {
      error_ = errc::bad_hlen;
      return *this;
    }
    chaddr_ = {};
    std::copy(hw.begin(), hw.end(), chaddr_.begin());
    return *this;
  }
  /// Ethernet client: htype 1, hlen 6, chaddr = mac.
  message_builder& mac(core::mac_address m) noexcept {
    chaddr_ = {};
    for (std::size_t i = 0; i < 6; ++i) chaddr_[i] = std::byte{m[i]};
    htype_ = 1;
    hlen_ = 6;
    return *this;
  }
  /// Server host name; at most 64 characters without NUL (the field is NUL-padded; a full
  /// 64-character name has no terminator, which parse() accepts), else bad_option_value.
  message_builder& sname(std::string_view s) noexcept { return text(sname_, s, layout::sname_size); }
  /// Boot file name; at most 128 characters without NUL, else bad_option_value.
  message_builder& file(std::string_view s) noexcept { return text(file_, s, layout::file_size); }
  /// Minimum total size; the message is zero-padded after End up to it (default 300, the
  /// BOOTP minimum of RFC 1542 2.1; 0 disables padding).
  message_builder& pad_to(std::size_t n) noexcept { return set(pad_to_, n); }

  // ---- options -----------------------------------------------------------------------------
  /// Appends `code` with `value`, split into 255-byte pieces if longer (RFC 3396). Code 0
  /// (pad) and 255 (end) are rejected with bad_option_value at finish().
  message_builder& add_raw(option code, std::span<const std::byte> value) noexcept {
    if (code == option::pad || code == option::end) {
      error_ = errc::bad_option_value;
      return *this;
    }
    do {
      std::size_t n = std::min<std::size_t>(value.size(), 255);
      w_.u8(static_cast<std::uint8_t>(code));
      w_.u8(static_cast<std::uint8_t>(n));
      w_.bytes(value.first(n));
      value = value.subspan(n);
    } while (!value.empty());
    return *this;
  }
  message_builder& add(option_view o) noexcept { return add_raw(o.code, o.data); }
  message_builder& add_u8(option code, std::uint8_t v) noexcept {
    std::array<std::byte, 1> b{std::byte{v}};
    return add_raw(code, b);
  }
  message_builder& add_u16(option code, std::uint16_t v) noexcept {
    std::array<std::byte, 2> b{std::byte(v >> 8), std::byte(v & 0xffU)};
    return add_raw(code, b);
  }
  message_builder& add_u32(option code, std::uint32_t v) noexcept {
    std::array<std::byte, 4> b{std::byte(v >> 24), std::byte(v >> 16 & 0xffU), std::byte(v >> 8 & 0xffU),
                               std::byte(v & 0xffU)};
    return add_raw(code, b);
  }
  message_builder& add_ip(option code, core::ipv4_address a) noexcept { return add_u32(code, a.to_uint()); }
  /// Addresses are written straight into the output (a list longer than 63 addresses is split
  /// per RFC 3396 like any long value).
  message_builder& add_ip_list(option code, std::span<const core::ipv4_address> list) noexcept {
    if (code == option::pad || code == option::end || list.empty()) {
      error_ = errc::bad_option_value;
      return *this;
    }
    constexpr std::size_t per_option = 63;  // 252 bytes: whole addresses per piece
    while (!list.empty()) {
      std::size_t n = std::min(list.size(), per_option);
      w_.u8(static_cast<std::uint8_t>(code));
      w_.u8(static_cast<std::uint8_t>(n * 4));
      for (std::size_t i = 0; i < n; ++i) w_.u32(list[i].to_uint());
      list = list.subspan(n);
    }
    return *this;
  }
  message_builder& add_string(option code, std::string_view s) noexcept {
    return add_raw(code, core::as_bytes(s));
  }
  message_builder& add_message_type(message_type t) noexcept {
    return add_u8(option::message_type, static_cast<std::uint8_t>(t));
  }

  /// Writes the header, End and padding. Returns the message size.
  /// Errors: buffer_too_small (see needed()), bad_hlen, bad_option_value.
  [[nodiscard]] result<std::size_t> finish() noexcept {
    if (!finished_) {
      w_.u8(static_cast<std::uint8_t>(option::end));
      if (w_.needed() < pad_to_) w_.fill(pad_to_ - w_.needed());
      finished_ = true;
    }
    if (error_ != errc{}) return error_;
    if (w_.overflowed()) return errc::buffer_too_small;
    write_header();
    return w_.needed();
  }

  /// Bytes written (or that would have been) so far, including End/padding after finish().
  [[nodiscard]] std::size_t needed() const noexcept { return w_.needed(); }

 private:
  template <class T, class U>
  message_builder& set(T& field, U v) noexcept {
    field = static_cast<T>(v);
    return *this;
  }
  message_builder& text(std::string_view& field, std::string_view s, std::size_t size) noexcept {
    if (s.size() > size || s.find('\0') != std::string_view::npos)
      error_ = errc::bad_option_value;
    else
      field = s;
    return *this;
  }
  void write_header() noexcept {
    core::byte_writer h{out_.first(layout::options)};
    h.u8(op_);
    h.u8(htype_);
    h.u8(hlen_);
    h.u8(hops_);
    h.u32(xid_);
    h.u16(secs_);
    h.u16(flags_);
    h.u32(ciaddr_.to_uint());
    h.u32(yiaddr_.to_uint());
    h.u32(siaddr_.to_uint());
    h.u32(giaddr_.to_uint());
    h.bytes(chaddr_);
    h.chars(sname_);
    h.fill(layout::sname_size - sname_.size());
    h.chars(file_);
    h.fill(layout::file_size - file_.size());
    for (auto b : layout::magic_cookie) h.u8(b);
  }

  std::span<std::byte> out_;
  core::byte_writer w_;
  std::array<std::byte, 16> chaddr_{};
  std::string_view sname_, file_;
  std::size_t pad_to_ = layout::bootp_min_size;
  core::ipv4_address ciaddr_, yiaddr_, siaddr_, giaddr_;
  std::uint32_t xid_ = 0;
  std::uint16_t secs_ = 0, flags_ = 0;
  std::uint8_t op_ = static_cast<std::uint8_t>(bootp_op::reply), htype_ = 1, hlen_ = 6, hops_ = 0;
  errc error_{};
  bool finished_ = false;
};

/// Starts a reply to `request` (RFC 2131 4.3.1 table 3): op = BOOTREPLY, htype/hlen, xid,
/// flags, giaddr and chaddr copied, hops/secs zero, option 53 = `type` first.
[[nodiscard]] inline message_builder start_reply(std::span<std::byte> out, message_view const& request,
                                                 message_type type) noexcept {
  message_builder b{out};
  b.op(bootp_op::reply)
      .htype(request.htype())
      .hlen(request.hlen())
      .xid(request.xid())
      .flags(request.flags())
      .giaddr(request.giaddr())
      .chaddr(request.chaddr());
  b.add_message_type(type);
  return b;
}

}  // namespace pinetboot::dhcp
