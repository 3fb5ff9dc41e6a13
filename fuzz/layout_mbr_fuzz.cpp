// Fuzzes the MBR partition-table parser: any accepted sector must write back to a sector that
// parses to the same table, and every reported partition must be internally consistent.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "pinetboot/layout/mbr.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  namespace layout = pinetboot::layout;
  std::span<const std::byte> in{reinterpret_cast<std::byte const*>(data), size};
  auto m = layout::parse_mbr(in);
  if (!m) {
    if (size >= layout::mbr_size && m.error() == layout::errc::truncated) std::abort();
    return 0;
  }
  if (size < layout::mbr_size) std::abort();
  for (std::size_t n = 1; n <= 4; ++n) {
    auto p = m->partition(n);
    if (!p) continue;
    if (p->sectors == 0 || p->first_lba == 0 || p->is_empty()) std::abort();
    if (p->byte_offset() != std::uint64_t{p->first_lba} * 512) std::abort();
    if (p->fits_in(p->byte_offset() + p->byte_size()) != true) std::abort();
  }
  std::array<std::byte, layout::mbr_size> out{};
  auto w = layout::write_mbr(*m, out);
  if (!w || *w != layout::mbr_size) std::abort();
  auto again = layout::parse_mbr(out);
  if (!again || !(*again == *m)) std::abort();
  return 0;
}
