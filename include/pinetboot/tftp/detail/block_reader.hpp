/// @file
/// @brief Reads DATA block payloads from a block_source: octet blocks by offset, netascii
/// blocks through a ring of checkpoints so that any block in the window can be read again.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "pinetboot/core/result.hpp"
#include "pinetboot/tftp/detail/netascii.hpp"
#include "pinetboot/tftp/error.hpp"
#include "pinetboot/tftp/options.hpp"
#include "pinetboot/tftp/packet.hpp"
#include "pinetboot/tftp/source.hpp"

namespace pinetboot::tftp::detail {

/// Block `seq` (1, 2, ...) holds `blksize` bytes of the (encoded) file from (seq - 1) * blksize;
/// a shorter one is the last. Netascii expands CR and LF, so where an encoded block starts in
/// the file is only known once the block before it was encoded: a ring of window + 1
/// checkpoints keeps those starts for the blocks that may be resent, and a go-back never
/// reaches further than the window. Blocks must be read in order the first time.
template <block_source Source>
class block_reader {
 public:
  block_reader() noexcept = default;
  /// Allocates the netascii ring and staging buffer (only for netascii); on allocation
  /// failure ok() is false.
  block_reader(Source& src, std::uint16_t blksize, transfer_mode mode, std::uint16_t window) noexcept
      : src_{&src}, blksize_{blksize}, mode_{mode} {
    if (mode_ == transfer_mode::netascii) {
      ring_size_ = std::size_t{window} + 1;
      ring_.reset(detail::try_new<netascii_checkpoint>(ring_size_));
      staging_.reset(detail::try_new<std::byte>(blksize_));
      if (ring_ && staging_) ring_[1 % ring_size_] = {};
    }
  }

  /// False when the netascii buffers could not be allocated.
  [[nodiscard]] bool ok() const noexcept { return mode_ == transfer_mode::octet || (ring_ && staging_); }

  /// Reads block `seq` into `payload` (at least blksize bytes); returns its length, less than
  /// blksize for the last block. Errors: the source's, io_error when the file shrank.
  [[nodiscard]] result<std::size_t> read(std::uint64_t seq, std::span<std::byte> payload) noexcept {
    std::uint64_t size = src_->size();
    if (mode_ == transfer_mode::octet) {
      std::uint64_t off = (seq - 1) * blksize_;
      if (off > size) return errc::io_error;
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(blksize_, size - off));
      if (want != 0) {
        auto r = src_->read_at(off, payload.first(want));
        if (!r) return r.error();
        if (*r != want) return errc::io_error;  // the file shrank under us
      }
      return want;
    }
    auto cp = ring_[seq % ring_size_];
    if (cp.in_off > size) return errc::io_error;
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(blksize_, size - cp.in_off));
    std::span<std::byte> staged{staging_.get(), want};
    if (want != 0) {
      auto r = src_->read_at(cp.in_off, staged);
      if (!r) return r.error();
      if (*r != want) return errc::io_error;
    }
    auto step = netascii_encode(cp.pending, staged, payload.first(blksize_));
    ring_[(seq + 1) % ring_size_] = {cp.in_off + step.consumed, step.pending};
    return step.written;
  }

 private:
  Source* src_ = nullptr;
  std::uint16_t blksize_ = default_blksize;
  transfer_mode mode_ = transfer_mode::octet;
  std::unique_ptr<netascii_checkpoint[]> ring_;
  std::size_t ring_size_ = 0;
  std::unique_ptr<std::byte[]> staging_;
};

}  // namespace pinetboot::tftp::detail
