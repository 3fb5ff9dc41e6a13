// Fuzzes the client registry and publish-journal parsers: whatever parses must format and
// parse back to the same records, and every folder must be a safe path component.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pinetboot/layout/plan.hpp"
#include "pinetboot/layout/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  namespace layout = pinetboot::layout;
  std::string_view text{reinterpret_cast<char const*>(data), size};
  if (auto records = layout::parse_registry(text)) {
    for (auto const& r : *records)
      if (layout::check_folder(r.folder)) std::abort();
    auto again = layout::parse_registry(layout::format_registry(*records));
    if (!again || *again != *records) std::abort();
  }
  if (auto j = layout::parse_journal(text)) {
    if (layout::check_folder(j->folder) || !j->boot_staging.is_absolute() || !j->root_staging.is_absolute())
      std::abort();
    auto again = layout::parse_journal(layout::format_journal(*j));
    if (!again || !(*again == *j)) std::abort();
  }
  return 0;
}
