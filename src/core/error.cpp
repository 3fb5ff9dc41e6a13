#include "pinetboot/core/error.hpp"

#include <string>

namespace pinetboot::core {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] char const* name() const noexcept override { return "pinetboot.core"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::truncated: return "input truncated";
      case errc::buffer_too_small: return "output buffer too small";
      case errc::invalid_syntax: return "invalid syntax";
      case errc::out_of_range: return "value out of range";
      case errc::invalid_serial:
        return "invalid Raspberry Pi serial (want 8 hex digits, e.g. abcd1234)";
    }
    return "unknown core error";
  }
};

}  // namespace

std::error_category const& core_category() noexcept {
  static category const instance;
  return instance;
}

}  // namespace pinetboot::core
