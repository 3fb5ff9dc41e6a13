// Fuzzes the parsers of the image store: generation manifests, generation info, image.conf
// and the board marker. Whatever parses must format and parse back to the same value, and a
// parsed manifest names only safe relative paths.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pinetboot/layout/board.hpp"
#include "pinetboot/layout/generation.hpp"
#include "pinetboot/layout/manifest.hpp"
#include "pinetboot/layout/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  namespace layout = pinetboot::layout;
  std::string_view text{reinterpret_cast<char const*>(data), size};
  if (auto m = layout::parse_manifest(text)) {
    for (auto const& e : *m) {
      std::string_view p = e.path;
      if (p.empty() || p.front() == '/' || p.back() == '/' || p.find("//") != std::string_view::npos ||
          p == ".." || p.starts_with("../") || p.ends_with("/..") || p.find("/../") != std::string_view::npos ||
          p.find('\0') != std::string_view::npos || e.mode > 07777 || (e.type == 'f') != !e.sha256.empty() ||
          (e.type == 'l') != !e.target.empty())
        std::abort();
    }
    auto again = layout::parse_manifest(layout::format_manifest(*m));
    if (!again || *again != *m) std::abort();
  }
  if (auto g = layout::parse_generation_info(text)) {
    if (g->number == 0) std::abort();
    auto again = layout::parse_generation_info(layout::format_generation_info(*g));
    if (!again || *again != *g) std::abort();
  }
  if (auto s = layout::parse_image_settings(text)) {
    for (auto const* list : {&s->persist, &s->volatile_paths})
      for (auto const& p : *list)
        if (layout::check_state_path(p)) std::abort();
    auto again = layout::parse_image_settings(layout::format_image_settings(*s));
    if (!again || *again != *s) std::abort();
  }
  if (auto b = layout::parse_board_marker(text)) {
    if (layout::check_image_name(b->image) || layout::check_folder(b->tree) || b->generation == 0) std::abort();
    auto again = layout::parse_board_marker(layout::format_board_marker(*b));
    if (!again || *again != *b) std::abort();
  }
  return 0;
}
