// Fuzzes the layout identity parsers (core::pi_serial, host name, naming scheme, MAC -> folder):
// whatever parses must format and parse back to the same value, and every folder name a valid
// identity produces must be a safe single path component.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pinetboot/layout/identity.hpp"
#include "pinetboot/layout/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  namespace layout = pinetboot::layout;
  namespace core = pinetboot::core;
  std::string_view text{reinterpret_cast<char const*>(data), size};
  layout::client_identity id;
  if (auto s = core::pi_serial::parse(text)) {
    auto again = core::pi_serial::parse(s->to_string());
    if (!again || *again != *s) std::abort();
    if (text.size() == 8 && s->to_string().size() != 8) std::abort();
    id.serial = *s;
  }
  if (auto m = pinetboot::core::mac_address::parse(text)) id.mac = *m;
  if (!layout::check_hostname(text)) {
    if (text.empty() || text.size() > 63 || text.find('.') != std::string_view::npos) std::abort();
    id.hostname = std::string{text};
  }
  if (auto sch = layout::parse_scheme(text)) {
    if (core::to_string(*sch) != text) std::abort();
  }
  for (auto scheme : {core::folder_naming::serial, core::folder_naming::mac_dash,
                      core::folder_naming::mac_colon, core::folder_naming::hostname}) {
    std::array<char, layout::max_folder_name> buf{};
    auto n = layout::format_folder(id, scheme, buf);
    if (!n) continue;
    if (*n == 0 || *n > buf.size()) std::abort();
    std::string_view folder{buf.data(), *n};
    if (layout::check_folder(folder)) std::abort();
    // The folder parses back to the identity it came from.
    if (scheme == core::folder_naming::serial && *core::pi_serial::parse(folder) != *id.serial) std::abort();
    if ((scheme == core::folder_naming::mac_dash || scheme == core::folder_naming::mac_colon) &&
        *pinetboot::core::mac_address::parse(folder) != *id.mac)
      std::abort();
  }
  return 0;
}
