// In-memory block sources and sinks for TFTP tests, fuzzers and benchmarks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::test {

/// A block_source over caller-owned bytes.
class memory_source {
 public:
  explicit memory_source(std::span<const std::byte> data) noexcept : data_{data} {}
  [[nodiscard]] result<std::size_t> read_at(std::uint64_t off, std::span<std::byte> out) noexcept {
    ++reads;
    if (fail_reads) return tftp::errc::io_error;
    if (off >= data_.size()) return std::size_t{0};
    auto n = std::min<std::size_t>(out.size(), data_.size() - static_cast<std::size_t>(off));
    if (n != 0) std::memcpy(out.data(), data_.data() + off, n);
    return n;
  }
  [[nodiscard]] std::uint64_t size() const noexcept { return data_.size(); }

  bool fail_reads = false;
  std::uint64_t reads = 0;

 private:
  std::span<const std::byte> data_;
};

/// Byte at `off` of a generated_source (a cheap, non-periodic-looking function of the offset).
[[nodiscard]] constexpr std::byte generated_byte(std::uint64_t off) noexcept {
  std::uint64_t x = off * 0x9E3779B97F4A7C15ULL;
  x ^= x >> 29;
  return static_cast<std::byte>((x ^ (off >> 16)) & 0xffU);
}

/// A block_source of any size whose bytes are computed from the offset: big transfers (block
/// rollover) without big buffers.
class generated_source {
 public:
  explicit generated_source(std::uint64_t size) noexcept : size_{size} {}
  [[nodiscard]] result<std::size_t> read_at(std::uint64_t off, std::span<std::byte> out) noexcept {
    if (off >= size_) return std::size_t{0};
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - off));
    for (std::size_t i = 0; i < n; ++i) out[i] = generated_byte(off + i);
    return n;
  }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

 private:
  std::uint64_t size_;
};
static_assert(tftp::block_source<memory_source>);
static_assert(tftp::block_source<generated_source>);

/// A block_sink into a std::vector (reserve() it first for allocation-free tests). Records
/// commit/abort. `fail_writes` makes write_at fail with io_error.
class memory_sink {
 public:
  [[nodiscard]] result<std::size_t> write_at(std::uint64_t off, std::span<const std::byte> in) noexcept {
    if (fail_writes) return tftp::errc::io_error;
    auto end = static_cast<std::size_t>(off) + in.size();
    if (end > data.capacity()) {
      try {
        data.reserve(std::max(end, data.capacity() * 2));
      } catch (...) {
        return tftp::errc::disk_full;
      }
    }
    if (data.size() < end) data.resize(end);
    if (!in.empty()) std::memcpy(data.data() + off, in.data(), in.size());
    return in.size();
  }
  [[nodiscard]] std::error_code commit() noexcept {
    ++commits;
    return commit_error;
  }
  void abort() noexcept {
    ++aborts;
    data.clear();
  }

  std::vector<std::byte> data;
  int commits = 0;
  int aborts = 0;
  bool fail_writes = false;
  std::error_code commit_error{};
};

/// A block_sink that only checks bytes against generated_byte() and counts them (for huge
/// transfers).
class checking_sink {
 public:
  [[nodiscard]] result<std::size_t> write_at(std::uint64_t off, std::span<const std::byte> in) noexcept {
    if (off != written) mismatches++;
    for (std::size_t i = 0; i < in.size(); ++i)
      if (in[i] != generated_byte(off + i)) ++mismatches;
    written = off + in.size();
    return in.size();
  }
  [[nodiscard]] std::error_code commit() noexcept {
    ++commits;
    return {};
  }
  void abort() noexcept { ++aborts; }

  std::uint64_t written = 0;
  std::uint64_t mismatches = 0;
  int commits = 0;
  int aborts = 0;
};
static_assert(tftp::block_sink<memory_sink>);
static_assert(tftp::block_sink<checking_sink>);

}  // namespace pinetboot::test
