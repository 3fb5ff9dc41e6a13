/// @file
/// @brief Typed decoding of DHCP option values (RFC 2132, 3004, 3046, 4578, iPXE).
///
/// Two layers: `decode_*` functions turn a value span into a typed view (use them on the
/// result of message_view::concat() for split long options), and `opt::<name>(msg)` finds the
/// first occurrence of the option in a message and decodes it. All return
/// `result<T>`: errc::option_absent when the option is missing, errc::bad_option_value when
/// its length or content is not what its definition allows. Views alias the message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/byte_reader.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/dhcp/error.hpp"
#include "pinetboot/dhcp/message.hpp"
#include "pinetboot/dhcp/option_codes.hpp"

namespace pinetboot::dhcp {

/// A fixed-stride sequence of values decoded on the fly from validated bytes.
template <class T, std::size_t Stride, T (*Decode)(std::span<const std::byte>) noexcept>
class packed_list_view {
 public:
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::input_iterator_tag;
    constexpr iterator() noexcept = default;
    constexpr explicit iterator(std::span<const std::byte> rest) noexcept : rest_{rest} {}
    T operator*() const noexcept { return Decode(rest_.first(Stride)); }
    iterator& operator++() noexcept {
      rest_ = rest_.subspan(Stride);
      return *this;
    }
    void operator++(int) noexcept { ++*this; }
    friend bool operator==(iterator const& a, std::default_sentinel_t) noexcept {
      return a.rest_.size() < Stride;
    }

   private:
    std::span<const std::byte> rest_;
  };

  constexpr packed_list_view() noexcept = default;
  /// Precondition: `raw.size()` is a multiple of Stride.
  constexpr explicit packed_list_view(std::span<const std::byte> raw) noexcept : raw_{raw} {}
  [[nodiscard]] iterator begin() const noexcept { return iterator{raw_}; }
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return raw_.size() / Stride; }
  [[nodiscard]] constexpr bool empty() const noexcept { return raw_.empty(); }
  /// Precondition: i < size().
  [[nodiscard]] T operator[](std::size_t i) const noexcept {
    return Decode(raw_.subspan(i * Stride, Stride));
  }
  [[nodiscard]] constexpr std::span<const std::byte> bytes() const noexcept { return raw_; }

 private:
  std::span<const std::byte> raw_;
};

namespace detail {
inline core::ipv4_address ip_at(std::span<const std::byte> b) noexcept {
  return core::ipv4_address::from_bytes_unchecked(b);
}
inline std::uint16_t u16_at(std::span<const std::byte> b) noexcept {
  return core::byte_reader::u16_unchecked(b);
}
inline option code_at(std::span<const std::byte> b) noexcept { return static_cast<option>(b[0]); }
}  // namespace detail

/// Options 3, 6, 42, ...: one or more IPv4 addresses.
using ipv4_list_view = packed_list_view<core::ipv4_address, 4, &detail::ip_at>;
/// Option 93: one or more 16-bit architecture types (RFC 4578 2.1).
using arch_list_view = packed_list_view<std::uint16_t, 2, &detail::u16_at>;
/// Option 55: requested option codes, in the client's order.
using parameter_list_view = packed_list_view<option, 1, &detail::code_at>;

/// A sub-option inside an encapsulating option (43, 82, 175).
struct sub_option_view {
  std::uint8_t code = 0;
  std::span<const std::byte> data;
};

/// A validated list of code/length/value sub-options. With `pad_end` (options 43 and 175,
/// which reuse the RFC 2132 framing) code 0 is padding and 255 ends the list; without it
/// (option 82, RFC 3046) every byte pair is a sub-option header.
class sub_option_list {
 public:
  class iterator {
   public:
    using value_type = sub_option_view;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::input_iterator_tag;
    constexpr iterator() noexcept = default;
    constexpr iterator(std::span<const std::byte> raw, bool pad_end) noexcept : raw_{raw}, pad_end_{pad_end} {
      advance();
    }
    constexpr sub_option_view const& operator*() const noexcept { return cur_; }
    constexpr sub_option_view const* operator->() const noexcept { return &cur_; }
    constexpr iterator& operator++() noexcept {
      advance();
      return *this;
    }
    constexpr void operator++(int) noexcept { advance(); }
    friend constexpr bool operator==(iterator const& a, std::default_sentinel_t) noexcept { return a.done_; }

   private:
    constexpr void advance() noexcept {
      while (pos_ < raw_.size()) {
        auto code = std::to_integer<std::uint8_t>(raw_[pos_]);
        if (pad_end_ && code == 0) {
          ++pos_;
          continue;
        }
        if ((pad_end_ && code == 255) || raw_.size() - pos_ < 2) break;
        std::size_t len = std::to_integer<std::size_t>(raw_[pos_ + 1]);
        if (raw_.size() - pos_ - 2 < len) break;
        cur_ = {code, raw_.subspan(pos_ + 2, len)};
        pos_ += 2 + len;
        return;
      }
      done_ = true;
    }
    std::span<const std::byte> raw_;
    std::size_t pos_ = 0;
    sub_option_view cur_{};
    bool pad_end_ = false;
    bool done_ = false;
  };

  constexpr sub_option_list() noexcept = default;

  /// Validates `raw`. Errors: bad_option_value (a sub-option runs past the end).
  [[nodiscard]] static result<sub_option_list> parse(std::span<const std::byte> raw, bool pad_end) noexcept {
    std::size_t pos = 0;
    while (pos < raw.size()) {
      auto code = std::to_integer<std::uint8_t>(raw[pos]);
      if (pad_end && code == 0) {
        ++pos;
        continue;
      }
      if (pad_end && code == 255) break;
      if (raw.size() - pos < 2) return errc::bad_option_value;
      std::size_t len = std::to_integer<std::size_t>(raw[pos + 1]);
      if (raw.size() - pos - 2 < len) return errc::bad_option_value;
      pos += 2 + len;
    }
    return sub_option_list{raw, pad_end};
  }

  [[nodiscard]] constexpr iterator begin() const noexcept { return {raw_, pad_end_}; }
  [[nodiscard]] constexpr std::default_sentinel_t end() const noexcept { return {}; }
  [[nodiscard]] constexpr std::span<const std::byte> bytes() const noexcept { return raw_; }
  /// First sub-option with `code`.
  [[nodiscard]] constexpr std::optional<sub_option_view> find(std::uint8_t code) const noexcept {
    for (auto s : *this)
      if (s.code == code) return s;
    return std::nullopt;
  }

 private:
  constexpr sub_option_list(std::span<const std::byte> raw, bool pad_end) noexcept
      : raw_{raw}, pad_end_{pad_end} {}
  std::span<const std::byte> raw_;
  bool pad_end_ = false;
};

/// Relay agent sub-option codes (RFC 3046 2.0, RFC 3527, RFC 3993 ...).
namespace relay_sub {
inline constexpr std::uint8_t circuit_id = 1, remote_id = 2, link_selection = 5, subscriber_id = 6,
                              server_id_override = 11;
}

/// Option 61 (RFC 2132 9.14): a type byte and at least one byte of identifier.
struct client_id_view {
  std::uint8_t type = 0;
  std::span<const std::byte> id;
};

/// Option 94 (RFC 4578 2.2): network interface type (1 = UNDI) and version.
struct ndi_info {
  std::uint8_t type = 0;
  std::uint8_t major = 0;
  std::uint8_t minor = 0;
  friend constexpr bool operator==(ndi_info const&, ndi_info const&) noexcept = default;
};

/// Option 97 (RFC 4578 2.3): a type byte (0 = GUID/UUID) and 16 bytes.
struct guid_view {
  std::uint8_t type = 0;
  std::span<const std::byte, 16> id;
};

// ---- value decoders -------------------------------------------------------------------------

/// Exactly one byte. Errors: bad_option_value.
[[nodiscard]] inline result<std::uint8_t> decode_u8(std::span<const std::byte> v) noexcept {
  if (v.size() != 1) return errc::bad_option_value;
  return std::to_integer<std::uint8_t>(v[0]);
}
/// Exactly two bytes, network order. Errors: bad_option_value.
[[nodiscard]] inline result<std::uint16_t> decode_u16(std::span<const std::byte> v) noexcept {
  if (v.size() != 2) return errc::bad_option_value;
  return core::byte_reader::u16_unchecked(v);
}
/// Exactly four bytes, network order. Errors: bad_option_value.
[[nodiscard]] inline result<std::uint32_t> decode_u32(std::span<const std::byte> v) noexcept {
  if (v.size() != 4) return errc::bad_option_value;
  return core::byte_reader::u32_unchecked(v);
}
/// Exactly one IPv4 address. Errors: bad_option_value.
[[nodiscard]] inline result<core::ipv4_address> decode_ipv4(std::span<const std::byte> v) noexcept {
  if (v.size() != 4) return errc::bad_option_value;
  return core::ipv4_address::from_bytes_unchecked(v);
}
/// One or more IPv4 addresses. Errors: bad_option_value.
[[nodiscard]] inline result<ipv4_list_view> decode_ipv4_list(std::span<const std::byte> v) noexcept {
  if (v.empty() || v.size() % 4 != 0) return errc::bad_option_value;
  return ipv4_list_view{v};
}
/// NVT ASCII text of at least one byte (RFC 2132 minimum length 1). A trailing NUL some
/// clients add is stripped. Errors: bad_option_value.
[[nodiscard]] inline result<std::string_view> decode_text(std::span<const std::byte> v) noexcept {
  if (v.empty()) return errc::bad_option_value;
  auto s = core::as_chars(v);
  if (s.back() == '\0') s.remove_suffix(1);
  return s;
}
/// Option 55. Errors: bad_option_value (empty).
[[nodiscard]] inline result<parameter_list_view> decode_parameter_list(
    std::span<const std::byte> v) noexcept {
  if (v.empty()) return errc::bad_option_value;
  return parameter_list_view{v};
}
/// Option 53: 1..8. Errors: bad_option_value.
[[nodiscard]] inline result<message_type> decode_message_type(std::span<const std::byte> v) noexcept {
  if (v.size() != 1) return errc::bad_option_value;
  auto t = std::to_integer<std::uint8_t>(v[0]);
  if (t < 1 || t > 8) return errc::bad_option_value;
  return static_cast<message_type>(t);
}
/// Option 57: two bytes, at least 576 (RFC 2132 9.10). Errors: bad_option_value.
[[nodiscard]] inline result<std::uint16_t> decode_max_message_size(std::span<const std::byte> v) noexcept {
  auto r = decode_u16(v);
  if (r && *r < 576) return errc::bad_option_value;
  return r;
}
/// Option 61. Errors: bad_option_value (shorter than 2).
[[nodiscard]] inline result<client_id_view> decode_client_id(std::span<const std::byte> v) noexcept {
  if (v.size() < 2) return errc::bad_option_value;
  return client_id_view{std::to_integer<std::uint8_t>(v[0]), v.subspan(1)};
}
/// Option 93. Errors: bad_option_value (empty or odd length).
[[nodiscard]] inline result<arch_list_view> decode_client_arch(std::span<const std::byte> v) noexcept {
  if (v.empty() || v.size() % 2 != 0) return errc::bad_option_value;
  return arch_list_view{v};
}
/// Option 94. Errors: bad_option_value (length not 3).
[[nodiscard]] inline result<ndi_info> decode_client_ndi(std::span<const std::byte> v) noexcept {
  if (v.size() != 3) return errc::bad_option_value;
  return ndi_info{std::to_integer<std::uint8_t>(v[0]), std::to_integer<std::uint8_t>(v[1]),
                  std::to_integer<std::uint8_t>(v[2])};
}
/// Option 97. Errors: bad_option_value (length not 17).
[[nodiscard]] inline result<guid_view> decode_client_guid(std::span<const std::byte> v) noexcept {
  if (v.size() != 17) return errc::bad_option_value;
  return guid_view{std::to_integer<std::uint8_t>(v[0]), v.subspan<1, 16>()};
}
/// Option 82 (RFC 3046): sub-options without pad/end. Errors: bad_option_value.
[[nodiscard]] inline result<sub_option_list> decode_relay_agent(std::span<const std::byte> v) noexcept {
  if (v.empty()) return errc::bad_option_value;
  return sub_option_list::parse(v, false);
}
/// Options 43 and 175: sub-options with RFC 2132 pad/end framing. Errors: bad_option_value.
[[nodiscard]] inline result<sub_option_list> decode_encapsulated(std::span<const std::byte> v) noexcept {
  return sub_option_list::parse(v, true);
}

// ---- accessors on a message (first occurrence) -----------------------------------------------

namespace opt {
namespace detail {
template <class F>
[[nodiscard]] auto first(message_view const& m, option code, F decode) noexcept
    -> decltype(decode(std::span<const std::byte>{})) {
  auto o = m.find(code);
  if (!o) return errc::option_absent;
  return decode(o->data);
}
}  // namespace detail

// clang-format off
/// Option 1.
[[nodiscard]] inline result<core::ipv4_address> subnet_mask(message_view const& m) noexcept { return detail::first(m, option::subnet_mask, decode_ipv4); }
/// Option 3.
[[nodiscard]] inline result<ipv4_list_view> routers(message_view const& m) noexcept { return detail::first(m, option::router, decode_ipv4_list); }
/// Option 6.
[[nodiscard]] inline result<ipv4_list_view> domain_servers(message_view const& m) noexcept { return detail::first(m, option::domain_server, decode_ipv4_list); }
/// Option 12.
[[nodiscard]] inline result<std::string_view> hostname(message_view const& m) noexcept { return detail::first(m, option::hostname, decode_text); }
/// Option 15.
[[nodiscard]] inline result<std::string_view> domain_name(message_view const& m) noexcept { return detail::first(m, option::domain_name, decode_text); }
/// Option 28.
[[nodiscard]] inline result<core::ipv4_address> broadcast_address(message_view const& m) noexcept { return detail::first(m, option::broadcast_address, decode_ipv4); }
/// Option 43, raw (see pxe.hpp for the PXE sub-options).
[[nodiscard]] inline result<std::span<const std::byte>> vendor_specific(message_view const& m) noexcept {
  return detail::first(m, option::vendor_specific, [](std::span<const std::byte> v) noexcept -> result<std::span<const std::byte>> { return v; });
}
/// Option 50.
[[nodiscard]] inline result<core::ipv4_address> requested_address(message_view const& m) noexcept { return detail::first(m, option::requested_address, decode_ipv4); }
/// Option 51, seconds.
[[nodiscard]] inline result<std::uint32_t> lease_time(message_view const& m) noexcept { return detail::first(m, option::lease_time, decode_u32); }
/// Option 53.
[[nodiscard]] inline result<dhcp::message_type> message_type(message_view const& m) noexcept { return detail::first(m, option::message_type, decode_message_type); }
/// Option 54.
[[nodiscard]] inline result<core::ipv4_address> server_id(message_view const& m) noexcept { return detail::first(m, option::server_id, decode_ipv4); }
/// Option 55.
[[nodiscard]] inline result<parameter_list_view> parameter_list(message_view const& m) noexcept { return detail::first(m, option::parameter_list, decode_parameter_list); }
/// Option 57.
[[nodiscard]] inline result<std::uint16_t> max_message_size(message_view const& m) noexcept { return detail::first(m, option::max_message_size, decode_max_message_size); }
/// Option 58, seconds.
[[nodiscard]] inline result<std::uint32_t> renewal_time(message_view const& m) noexcept { return detail::first(m, option::renewal_time, decode_u32); }
/// Option 59, seconds.
[[nodiscard]] inline result<std::uint32_t> rebinding_time(message_view const& m) noexcept { return detail::first(m, option::rebinding_time, decode_u32); }
/// Option 60.
[[nodiscard]] inline result<std::string_view> vendor_class(message_view const& m) noexcept { return detail::first(m, option::vendor_class, decode_text); }
/// Option 61.
[[nodiscard]] inline result<client_id_view> client_id(message_view const& m) noexcept { return detail::first(m, option::client_id, decode_client_id); }
/// Option 66.
[[nodiscard]] inline result<std::string_view> tftp_server(message_view const& m) noexcept { return detail::first(m, option::tftp_server, decode_text); }
/// Option 67.
[[nodiscard]] inline result<std::string_view> bootfile(message_view const& m) noexcept { return detail::first(m, option::bootfile, decode_text); }
/// Option 77, raw: RFC 3004 length-prefixed instances, or a bare string as iPXE sends ("iPXE").
[[nodiscard]] inline result<std::span<const std::byte>> user_class(message_view const& m) noexcept {
  return detail::first(m, option::user_class, [](std::span<const std::byte> v) noexcept -> result<std::span<const std::byte>> {
    if (v.empty()) return errc::bad_option_value;
    return v;
  });
}
/// Option 82.
[[nodiscard]] inline result<sub_option_list> relay_agent(message_view const& m) noexcept { return detail::first(m, option::relay_agent, decode_relay_agent); }
/// Option 93.
[[nodiscard]] inline result<arch_list_view> client_arch(message_view const& m) noexcept { return detail::first(m, option::client_arch, decode_client_arch); }
/// Option 94.
[[nodiscard]] inline result<ndi_info> client_ndi(message_view const& m) noexcept { return detail::first(m, option::client_ndi, decode_client_ndi); }
/// Option 97.
[[nodiscard]] inline result<guid_view> client_guid(message_view const& m) noexcept { return detail::first(m, option::client_guid, decode_client_guid); }
/// Option 118 (RFC 3527).
[[nodiscard]] inline result<core::ipv4_address> link_selection(message_view const& m) noexcept { return detail::first(m, option::link_selection, decode_ipv4); }
/// Option 175.
[[nodiscard]] inline result<sub_option_list> ipxe_encap(message_view const& m) noexcept { return detail::first(m, option::ipxe_encap, decode_encapsulated); }
// clang-format on

}  // namespace opt
}  // namespace pinetboot::dhcp
