#include "pinetboot/nfs/error.hpp"

#include <string>

namespace pinetboot::nfs {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] char const* name() const noexcept override { return "pinetboot.nfs"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::empty_path:
        return "path is empty";
      case errc::relative_path:
        return "path must be absolute (start with '/')";
      case errc::path_traversal:
        return "path must not contain '..' components";
      case errc::path_too_long:
        return "path is too long";
      case errc::forbidden_character:
        return "text contains NUL, a newline or another forbidden character";
      case errc::invalid_host:
        return "not an IPv4 address, IPv4 subnet, host name, netgroup or '*'";
      case errc::world_export_not_allowed:
        return "export to every host ('*', wildcard or /0) needs export_policy::allow_world";
      case errc::missing_client:
        return "export entry has no client";
      case errc::unknown_option:
        return "unknown export option";
      case errc::invalid_option_value:
        return "invalid export option value";
      case errc::conflicting_options:
        return "conflicting options in one option list";
      case errc::invalid_syntax:
        return "syntax error";
      case errc::duplicate_export:
        return "the same path and client are exported twice";
      case errc::broken_managed_block:
        return "pinetboot managed block markers are duplicated, unpaired or out of order";
      case errc::empty_field:
        return "field must not be empty";
      case errc::value_out_of_range:
        return "value out of the allowed range";
      case errc::invalid_boot_order:
        return "BOOT_ORDER has an unknown mode nibble or no network boot (2)";
      case errc::missing_dependency:
        return "setting requires another setting that is missing";
      case errc::nfs_version_needs_no_initramfs:
        return "the initramfs (klibc nfsmount) supports only vers=2|3 and no proto=";
      case errc::too_long:
        return "generated text exceeds the length limit";
      case errc::client_outside_network:
        return "export client is not an address or subnet inside the allowed network";
    }
    return "unknown nfs error";
  }
};

}  // namespace

std::error_category const& nfs_category() noexcept {
  static category const instance;
  return instance;
}

}  // namespace pinetboot::nfs
