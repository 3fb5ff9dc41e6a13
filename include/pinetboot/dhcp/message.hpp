/// @file
/// @brief Zero-copy view of a DHCPv4 message (RFC 2131 2, RFC 2132, RFC 3396).
///
/// `message_view::parse()` validates the framing once: the 236-byte BOOTP header, the magic
/// cookie, every option's length, the End option of each option field and the overload
/// option 52. After that, iterating the options cannot fail. Views alias the datagram and
/// are valid only as long as it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/byte_reader.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/dhcp/error.hpp"
#include "pinetboot/dhcp/option_codes.hpp"

namespace pinetboot::dhcp {

/// Fixed BOOTP layout (RFC 2131 figure 1).
namespace layout {
inline constexpr std::size_t op = 0, htype = 1, hlen = 2, hops = 3, xid = 4, secs = 8, flags = 10;
inline constexpr std::size_t ciaddr = 12, yiaddr = 16, siaddr = 20, giaddr = 24, chaddr = 28;
inline constexpr std::size_t sname = 44, file = 108, cookie = 236, options = 240;
inline constexpr std::size_t chaddr_size = 16, sname_size = 64, file_size = 128;
inline constexpr std::size_t header_size = 236;
/// Smallest BOOTP message a relay/client must accept (RFC 1542 2.1); builders pad to it.
inline constexpr std::size_t bootp_min_size = 300;
inline constexpr std::uint8_t magic_cookie[4] = {0x63, 0x82, 0x53, 0x63};
}  // namespace layout

/// The broadcast bit of `flags` (RFC 2131 2, figure 2).
inline constexpr std::uint16_t broadcast_flag = 0x8000;

/// One option occurrence: its code and value bytes (without code and length).
struct option_view {
  option code{};
  std::span<const std::byte> data;
};

/// Bit values of option 52 (RFC 2132 9.3).
namespace overload_bits {
inline constexpr std::uint8_t file = 1, sname = 2;
}

namespace detail {
/// Walks one option field. Returns false at End or at the end of the field.
/// Precondition: the field was validated by message_view::parse().
[[nodiscard]] constexpr bool next_option_unchecked(std::span<const std::byte> field, std::size_t& pos,
                                                   option_view& out) noexcept {
  while (pos < field.size()) {
    auto code = std::to_integer<std::uint8_t>(field[pos]);
    if (code == 0) {
      ++pos;
      continue;
    }
    if (code == 255 || field.size() - pos < 2) return false;
    std::size_t len = std::to_integer<std::size_t>(field[pos + 1]);
    if (field.size() - pos - 2 < len) return false;  // unreachable after parse(); keeps it safe
    out = option_view{static_cast<option>(code), field.subspan(pos + 2, len)};
    pos += 2 + len;
    return true;
  }
  return false;
}
}  // namespace detail

/// Input iterator over the options of a parsed message, in RFC 3396 order: the options field,
/// then `file`, then `sname` (each only when option 52 says so). Pad and End are skipped.
class option_iterator {
 public:
  using value_type = option_view;
  using difference_type = std::ptrdiff_t;
  using iterator_category = std::input_iterator_tag;

  constexpr option_iterator() noexcept = default;
  constexpr option_iterator(std::span<const std::byte> msg, std::uint8_t overload) noexcept
      : msg_{msg}, overload_{overload} {
    field_ = msg_.subspan(layout::options);
    advance();
  }

  constexpr option_view const& operator*() const noexcept { return cur_; }
  constexpr option_view const* operator->() const noexcept { return &cur_; }
  constexpr option_iterator& operator++() noexcept {
    advance();
    return *this;
  }
  constexpr void operator++(int) noexcept { advance(); }
  friend constexpr bool operator==(option_iterator const& it, std::default_sentinel_t) noexcept {
    return it.done_;
  }

 private:
  constexpr void advance() noexcept {
    for (;;) {
      if (detail::next_option_unchecked(field_, pos_, cur_)) return;
      // Field exhausted: move on per RFC 3396 order (options -> file -> sname).
      if (area_ == 0 && (overload_ & overload_bits::file) != 0) {
        area_ = 1;
        field_ = msg_.subspan(layout::file, layout::file_size);
      } else if (area_ <= 1 && (overload_ & overload_bits::sname) != 0) {
        area_ = 2;
        field_ = msg_.subspan(layout::sname, layout::sname_size);
      } else {
        done_ = true;
        return;
      }
      pos_ = 0;
    }
  }

  std::span<const std::byte> msg_;
  std::span<const std::byte> field_;
  std::size_t pos_ = 0;
  option_view cur_{};
  std::uint8_t overload_ = 0;
  std::uint8_t area_ = 0;
  bool done_ = false;
};

/// The options of a parsed message, for range-for.
class option_range {
 public:
  constexpr option_range(std::span<const std::byte> msg, std::uint8_t overload) noexcept
      : msg_{msg}, overload_{overload} {}
  [[nodiscard]] constexpr option_iterator begin() const noexcept { return {msg_, overload_}; }
  [[nodiscard]] constexpr std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::span<const std::byte> msg_;
  std::uint8_t overload_;
};

/// A validated DHCPv4 message. Cheap to copy (a span and a byte); aliases the datagram.
class message_view {
 public:
  /// Validates `in` as a DHCP message (BOOTP header, cookie, options with overload).
  /// Trailing bytes after the options field's End are ignored (padding).
  /// Errors: truncated, bad_op, bad_hlen, bad_magic_cookie, bad_option_length, missing_end,
  /// bad_overload.
  [[nodiscard]] static result<message_view> parse(std::span<const std::byte> in) noexcept {
    if (in.size() < layout::options) return errc::truncated;
    auto op = std::to_integer<std::uint8_t>(in[layout::op]);
    if (op != 1 && op != 2) return errc::bad_op;
    if (std::to_integer<std::size_t>(in[layout::hlen]) > layout::chaddr_size) return errc::bad_hlen;
    for (std::size_t i = 0; i < 4; ++i)
      if (std::to_integer<std::uint8_t>(in[layout::cookie + i]) != layout::magic_cookie[i])
        return errc::bad_magic_cookie;
    int overload = -1;
    if (auto e = check_field(in.subspan(layout::options), true, overload); e != errc{}) return e;
    auto ov = static_cast<std::uint8_t>(overload < 0 ? 0 : overload);
    if ((ov & overload_bits::file) != 0) {
      if (auto e = check_field(in.subspan(layout::file, layout::file_size), false, overload); e != errc{})
        return e;
    }
    if ((ov & overload_bits::sname) != 0) {
      if (auto e = check_field(in.subspan(layout::sname, layout::sname_size), false, overload); e != errc{})
        return e;
    }
    return message_view{in, ov};
  }

  /// The whole datagram as given to parse().
  [[nodiscard]] constexpr std::span<const std::byte> bytes() const noexcept { return data_; }

  [[nodiscard]] constexpr bootp_op op() const noexcept { return static_cast<bootp_op>(u8(layout::op)); }
  [[nodiscard]] constexpr std::uint8_t htype() const noexcept { return u8(layout::htype); }
  [[nodiscard]] constexpr std::uint8_t hlen() const noexcept { return u8(layout::hlen); }
  [[nodiscard]] constexpr std::uint8_t hops() const noexcept { return u8(layout::hops); }
  [[nodiscard]] constexpr std::uint32_t xid() const noexcept {
    return core::byte_reader::u32_unchecked(data_.subspan(layout::xid));
  }
  [[nodiscard]] constexpr std::uint16_t secs() const noexcept {
    return core::byte_reader::u16_unchecked(data_.subspan(layout::secs));
  }
  [[nodiscard]] constexpr std::uint16_t flags() const noexcept {
    return core::byte_reader::u16_unchecked(data_.subspan(layout::flags));
  }
  [[nodiscard]] constexpr bool broadcast() const noexcept { return (flags() & broadcast_flag) != 0; }
  [[nodiscard]] constexpr core::ipv4_address ciaddr() const noexcept { return ip(layout::ciaddr); }
  [[nodiscard]] constexpr core::ipv4_address yiaddr() const noexcept { return ip(layout::yiaddr); }
  [[nodiscard]] constexpr core::ipv4_address siaddr() const noexcept { return ip(layout::siaddr); }
  [[nodiscard]] constexpr core::ipv4_address giaddr() const noexcept { return ip(layout::giaddr); }
  /// All 16 bytes of `chaddr`.
  [[nodiscard]] constexpr std::span<const std::byte, 16> chaddr() const noexcept {
    return data_.subspan<layout::chaddr, layout::chaddr_size>();
  }
  /// The first `hlen` bytes of `chaddr` (hlen <= 16 is checked by parse()).
  [[nodiscard]] constexpr std::span<const std::byte> hardware_address() const noexcept {
    return chaddr().first(hlen());
  }
  /// The client MAC when `htype == 1` (Ethernet) and `hlen == 6`.
  [[nodiscard]] constexpr std::optional<core::mac_address> mac() const noexcept {
    if (htype() != 1 || hlen() != 6) return std::nullopt;
    return core::mac_address::from_bytes_unchecked(chaddr());
  }
  /// Raw 64-byte `sname` / 128-byte `file` fields.
  [[nodiscard]] constexpr std::span<const std::byte> sname_field() const noexcept {
    return data_.subspan(layout::sname, layout::sname_size);
  }
  [[nodiscard]] constexpr std::span<const std::byte> file_field() const noexcept {
    return data_.subspan(layout::file, layout::file_size);
  }
  /// `sname` up to its first NUL; empty when the field carries options (overload).
  [[nodiscard]] std::string_view sname() const noexcept {
    return (overload_ & overload_bits::sname) != 0 ? std::string_view{} : text(sname_field());
  }
  /// `file` up to its first NUL; empty when the field carries options (overload).
  [[nodiscard]] std::string_view file() const noexcept {
    return (overload_ & overload_bits::file) != 0 ? std::string_view{} : text(file_field());
  }
  /// Value of option 52 (0 if absent): bit 1 = `file` holds options, bit 2 = `sname` does.
  [[nodiscard]] constexpr std::uint8_t overload() const noexcept { return overload_; }

  /// Every option occurrence in RFC 3396 order (options field, `file`, `sname`).
  [[nodiscard]] constexpr option_range options() const noexcept { return {data_, overload_}; }

  /// The first occurrence of `code`, if any.
  [[nodiscard]] constexpr std::optional<option_view> find(option code) const noexcept {
    for (option_view o : options())
      if (o.code == code) return o;
    return std::nullopt;
  }
  /// Number of occurrences of `code`.
  [[nodiscard]] constexpr std::size_t count(option code) const noexcept {
    std::size_t n = 0;
    for (option_view o : options()) n += o.code == code ? 1 : 0;
    return n;
  }

  /// The value of `code` with all its occurrences concatenated (RFC 3396 "long options").
  /// A single occurrence is returned as a view into the message (no copy, `scratch` unused);
  /// several are copied into `scratch` in order and the returned span aliases it.
  /// Errors: option_absent, buffer_too_small (scratch shorter than the total length).
  [[nodiscard]] result<std::span<const std::byte>> concat(option code,
                                                          std::span<std::byte> scratch) const noexcept {
    std::size_t n = 0, total = 0;
    std::span<const std::byte> first;
    for (option_view o : options()) {
      if (o.code != code) continue;
      if (n++ == 0) first = o.data;
      total += o.data.size();
    }
    if (n == 0) return errc::option_absent;
    if (n == 1) return first;
    if (scratch.size() < total) return errc::buffer_too_small;
    std::size_t pos = 0;
    for (option_view o : options()) {
      if (o.code != code) continue;
      for (std::byte b : o.data) scratch[pos++] = b;
    }
    return std::span<const std::byte>{scratch.first(total)};
  }
  /// Total value length of `code` over all occurrences (the scratch size concat() needs).
  [[nodiscard]] constexpr std::size_t concat_size(option code) const noexcept {
    std::size_t total = 0;
    for (option_view o : options()) total += o.code == code ? o.data.size() : 0;
    return total;
  }

 private:
  constexpr message_view(std::span<const std::byte> d, std::uint8_t ov) noexcept : data_{d}, overload_{ov} {}

  [[nodiscard]] constexpr std::uint8_t u8(std::size_t at) const noexcept {
    return std::to_integer<std::uint8_t>(data_[at]);
  }
  [[nodiscard]] constexpr core::ipv4_address ip(std::size_t at) const noexcept {
    return core::ipv4_address::from_bytes_unchecked(data_.subspan(at, 4));
  }
  [[nodiscard]] static std::string_view text(std::span<const std::byte> field) noexcept {
    auto s = core::as_chars(field);
    return s.substr(0, s.find('\0'));
  }

  // Validates one option field: every length fits and an End is present. `overload` is set
  // from option 52 in the options field (main == true) and must not appear elsewhere.
  [[nodiscard]] static constexpr errc check_field(std::span<const std::byte> field, bool main,
                                                  int& overload) noexcept {
    std::size_t pos = 0;
    while (pos < field.size()) {
      auto code = std::to_integer<std::uint8_t>(field[pos]);
      if (code == 0) {
        ++pos;
        continue;
      }
      if (code == 255) return errc{};
      if (field.size() - pos < 2) return errc::bad_option_length;
      std::size_t len = std::to_integer<std::size_t>(field[pos + 1]);
      if (field.size() - pos - 2 < len) return errc::bad_option_length;
      if (code == static_cast<std::uint8_t>(option::overload)) {
        if (!main || overload >= 0 || len != 1) return errc::bad_overload;
        auto v = std::to_integer<std::uint8_t>(field[pos + 2]);
        if (v < 1 || v > 3) return errc::bad_overload;
        overload = v;
      }
      pos += 2 + len;
    }
    return errc::missing_end;
  }

  std::span<const std::byte> data_;
  std::uint8_t overload_ = 0;
};

}  // namespace pinetboot::dhcp
