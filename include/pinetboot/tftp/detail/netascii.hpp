/// @file
/// @brief netascii translation (RFC 764 as used by RFC 1350): LF -> CR LF, CR -> CR NUL on send,
/// the reverse on receive, resumable across block boundaries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

namespace pinetboot::tftp::detail {

/// `new T[n]` that reports failure as nullptr (the sessions' constructors are noexcept). Plain
/// array new rather than the nothrow form, so that a replaced global operator new/delete pair
/// (allocation-counting tests) sees matching calls.
template <class T>
[[nodiscard]] T* try_new(std::size_t n) noexcept {
  try {
    return new T[n]{};
  } catch (...) {
    return nullptr;
  }
}

/// Where an encoded block starts: input offset plus a byte still owed from a CR/LF expansion
/// that straddled the previous block boundary (-1 = none).
struct netascii_checkpoint {
  std::uint64_t in_off = 0;
  int pending = -1;
};

struct netascii_step {
  std::size_t written = 0;   ///< bytes put into out
  std::size_t consumed = 0;  ///< input bytes used
  int pending = -1;          ///< byte owed to the next block
};

/// Encodes `in` into `out` starting with `pending`; stops when `out` is full or `in` is used up.
[[nodiscard]] constexpr netascii_step netascii_encode(int pending, std::span<const std::byte> in,
                                                      std::span<std::byte> out) noexcept {
  netascii_step s;
  if (pending >= 0 && !out.empty()) {
    out[s.written++] = static_cast<std::byte>(pending);
    pending = -1;
  }
  while (s.written < out.size() && s.consumed < in.size()) {
    auto b = in[s.consumed++];
    int second = -1;
    if (b == std::byte{'\n'}) {
      out[s.written++] = std::byte{'\r'};
      second = '\n';
    } else if (b == std::byte{'\r'}) {
      out[s.written++] = std::byte{'\r'};
      second = 0;
    } else {
      out[s.written++] = b;
    }
    if (second >= 0) {
      if (s.written < out.size())
        out[s.written++] = static_cast<std::byte>(second);
      else
        pending = second;
    }
  }
  s.pending = pending;
  return s;
}

/// Decodes netascii: CR LF -> LF, CR NUL -> CR, a lone CR followed by anything else is kept.
/// `pending_cr` carries a CR that ended the previous block. `out` must hold in.size() + 1 bytes.
/// Returns bytes written.
[[nodiscard]] constexpr std::size_t netascii_decode(bool& pending_cr, std::span<const std::byte> in,
                                                    std::span<std::byte> out) noexcept {
  std::size_t w = 0;
  for (auto b : in) {
    if (pending_cr) {
      pending_cr = false;
      if (b == std::byte{'\n'}) {
        out[w++] = std::byte{'\n'};
        continue;
      }
      out[w++] = std::byte{'\r'};
      if (b == std::byte{0}) continue;
    }
    if (b == std::byte{'\r'})
      pending_cr = true;
    else
      out[w++] = b;
  }
  return w;
}

}  // namespace pinetboot::tftp::detail
