#include "pinetboot/dhcp/error.hpp"

#include <string>

namespace pinetboot::dhcp {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] char const* name() const noexcept override { return "pinetboot.dhcp"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::truncated:
        return "message shorter than the BOOTP header and magic cookie";
      case errc::bad_op:
        return "op is neither BOOTREQUEST nor BOOTREPLY";
      case errc::bad_hlen:
        return "hardware address length exceeds chaddr";
      case errc::bad_magic_cookie:
        return "bad DHCP magic cookie";
      case errc::bad_option_length:
        return "option length runs past the end of its field";
      case errc::missing_end:
        return "option field without End option";
      case errc::bad_overload:
        return "malformed or misplaced option overload (52)";
      case errc::option_absent:
        return "option not present";
      case errc::bad_option_value:
        return "option value has a forbidden length or content";
      case errc::buffer_too_small:
        return "output buffer too small";
      case errc::not_pxe:
        return "not a PXEClient/HTTPClient vendor class";
      case errc::not_raspberry_pi:
        return "client GUID carries no Raspberry Pi signature";
    }
    return "unknown dhcp error";
  }
};

}  // namespace

std::error_category const& dhcp_category() noexcept {
  static category const instance;
  return instance;
}

}  // namespace pinetboot::dhcp
