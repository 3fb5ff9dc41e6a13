/// @file
/// @brief The block source/sink concepts that TFTP sessions read from and write to.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include "pinetboot/core/result.hpp"

namespace pinetboot::tftp {

/// Random-access readable content of known size (a file, an in-memory buffer, a generator).
/// `read_at(off, out)` fills `out` from offset `off` and returns the number of bytes read; a
/// short read happens only at end of file (off + n == size()). Errors are values (e.g.
/// errc::io_error); read_at is called on the packet path and must not allocate.
template <class S>
concept block_source = requires(S& s, std::uint64_t off, std::span<std::byte> out) {
  { s.read_at(off, out) }
  noexcept->std::same_as<result<std::size_t>>;
  { s.size() }
  noexcept->std::same_as<std::uint64_t>;
};

/// Random-access writable destination. `write_at(off, in)` writes all of `in` at `off` (returns
/// in.size() on success); `commit()` makes the complete content visible (e.g. renames a temp file
/// into place) and returns an error code on failure; `abort()` discards everything written so
/// that no partial file remains. Sessions call exactly one of commit()/abort() at the end.
template <class S>
concept block_sink = requires(S& s, std::uint64_t off, std::span<const std::byte> in) {
  { s.write_at(off, in) }
  noexcept->std::same_as<result<std::size_t>>;
  { s.commit() }
  noexcept->std::same_as<std::error_code>;
  { s.abort() }
  noexcept;
};

}  // namespace pinetboot::tftp
