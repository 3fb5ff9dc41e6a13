/// @file
/// @brief Master Boot Record partition table (the 4 primary entries), as found in sector 0 of a
/// Raspberry Pi OS disk image. Read without mounting anything.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pinetboot/core/byte_reader.hpp"
#include "pinetboot/core/byte_writer.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/error.hpp"

namespace pinetboot::layout {

inline constexpr std::size_t mbr_size = 512;
inline constexpr std::uint64_t mbr_sector_size = 512;

/// Partition type bytes seen in Raspberry Pi OS images.
namespace partition_type {
inline constexpr std::uint8_t empty = 0x00;
inline constexpr std::uint8_t fat32_lba = 0x0c;
inline constexpr std::uint8_t fat16_lba = 0x0e;
inline constexpr std::uint8_t linux_native = 0x83;
inline constexpr std::uint8_t gpt_protective = 0xee;
}  // namespace partition_type

/// One primary partition entry (16 bytes at offset 446 + 16*i). CHS fields are ignored: every
/// image since the Pi 1 uses LBA.
struct partition_entry {
  std::uint8_t status = 0;  ///< 0x80 bootable, 0x00 not
  std::uint8_t type = 0;    ///< partition_type::*
  std::uint32_t first_lba = 0;
  std::uint32_t sectors = 0;

  [[nodiscard]] constexpr bool is_empty() const noexcept { return type == partition_type::empty; }
  [[nodiscard]] constexpr std::uint64_t byte_offset() const noexcept { return first_lba * mbr_sector_size; }
  [[nodiscard]] constexpr std::uint64_t byte_size() const noexcept { return sectors * mbr_sector_size; }
  /// True if the partition ends at or before `image_size` bytes.
  [[nodiscard]] constexpr bool fits_in(std::uint64_t image_size) const noexcept {
    return byte_offset() <= image_size && byte_size() <= image_size - byte_offset();
  }
  friend constexpr bool operator==(partition_entry const&, partition_entry const&) noexcept = default;
};

/// The primary partition table.
struct mbr {
  std::uint32_t disk_id = 0;  ///< bytes 440..443 (Raspberry Pi OS PARTUUID prefix)
  std::array<partition_entry, 4> entries{};

  /// Partition `number` (1..4) if it exists and is not empty. Errors: errc::no_such_partition.
  [[nodiscard]] result<partition_entry> partition(std::size_t number) const noexcept {
    if (number < 1 || number > 4 || entries[number - 1].is_empty()) return errc::no_such_partition;
    return entries[number - 1];
  }
  friend constexpr bool operator==(mbr const&, mbr const&) noexcept = default;
};

namespace detail {
[[nodiscard]] constexpr std::uint32_t le32(std::span<const std::byte> b) noexcept {
  return std::to_integer<std::uint32_t>(b[0]) | std::to_integer<std::uint32_t>(b[1]) << 8 |
         std::to_integer<std::uint32_t>(b[2]) << 16 | std::to_integer<std::uint32_t>(b[3]) << 24;
}
constexpr void put_le32(core::byte_writer& w, std::uint32_t v) noexcept {
  for (unsigned i = 0; i < 4; ++i) w.u8(static_cast<std::uint8_t>(v >> (8 * i) & 0xffU));
}
}  // namespace detail

/// Parses the first 512 bytes of `sector0`. Reads bytes 440..511 only.
/// Errors: errc::truncated (fewer than 512 bytes), errc::bad_signature (no 55 aa at 510),
/// errc::bad_partition (status neither 0x00 nor 0x80; a used entry with 0 sectors or LBA 0).
[[nodiscard]] inline result<mbr> parse_mbr(std::span<const std::byte> sector0) noexcept {
  if (sector0.size() < mbr_size) return errc::truncated;
  if (sector0[510] != std::byte{0x55} || sector0[511] != std::byte{0xaa}) return errc::bad_signature;
  mbr m;
  m.disk_id = detail::le32(sector0.subspan(440, 4));
  for (std::size_t i = 0; i < 4; ++i) {
    auto e = sector0.subspan(446 + 16 * i, 16);
    partition_entry p;
    p.status = std::to_integer<std::uint8_t>(e[0]);
    p.type = std::to_integer<std::uint8_t>(e[4]);
    p.first_lba = detail::le32(e.subspan(8, 4));
    p.sectors = detail::le32(e.subspan(12, 4));
    if (p.status != 0x00 && p.status != 0x80) return errc::bad_partition;
    if (!p.is_empty() && (p.sectors == 0 || p.first_lba == 0)) return errc::bad_partition;
    m.entries[i] = p;
  }
  return m;
}

/// Writes a 512-byte sector 0 holding `m` (zero boot code, CHS fields 0xfe 0xff 0xff "use LBA")
/// into `out`. Errors: errc::truncated when `out` is shorter than 512 bytes (nothing written).
[[nodiscard]] inline result<std::size_t> write_mbr(mbr const& m, std::span<std::byte> out) noexcept {
  if (out.size() < mbr_size) return errc::truncated;
  core::byte_writer w{out.first(mbr_size)};
  w.fill(440);
  detail::put_le32(w, m.disk_id);
  w.fill(2);
  for (auto const& p : m.entries) {
    bool used = !p.is_empty();
    w.u8(p.status);
    for (int i = 0; i < 3; ++i) w.u8(used ? std::uint8_t{0xfe} : std::uint8_t{0});
    w.u8(p.type);
    for (std::uint8_t b : std::array<std::uint8_t, 3>{0xfe, 0xff, 0xff}) w.u8(used ? b : std::uint8_t{0});
    detail::put_le32(w, p.first_lba);
    detail::put_le32(w, p.sectors);
  }
  w.u8(0x55);
  w.u8(0xaa);
  return w.needed();
}

}  // namespace pinetboot::layout
