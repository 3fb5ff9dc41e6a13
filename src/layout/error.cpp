#include "pinetboot/layout/error.hpp"

#include <string>

namespace pinetboot::layout {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] char const* name() const noexcept override { return "pinetboot.layout"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_hostname:
        return "invalid host name (RFC 1123 label: 1-63 of a-z 0-9 '-', no leading/trailing '-')";
      case errc::invalid_scheme:
        return "unknown naming scheme (serial, mac-dash, mac-colon, hostname)";
      case errc::missing_identity:
        return "the naming scheme needs a field the client does not have";
      case errc::folder_collision:
        return "two clients map to the same folder";
      case errc::client_exists:
        return "client folder already exists (use --force to replace it)";
      case errc::client_broken:
        return "client is only partly on disk";
      case errc::truncated:
        return "partition table truncated";
      case errc::bad_signature:
        return "no MBR boot signature (55 aa)";
      case errc::bad_partition:
        return "inconsistent partition entry";
      case errc::no_such_partition:
        return "no such partition in the image";
      case errc::unsafe_path:
        return "unsafe path component";
      case errc::tool_failed:
        return "external tool failed";
      case errc::bad_registry:
        return "malformed client registry line";
      case errc::cancelled:
        return "cancelled";
      case errc::bad_manifest:
        return "malformed generation manifest line";
      case errc::no_such_image:
        return "no such image (see `pinetboot-provision image list`)";
      case errc::no_such_generation:
        return "no such generation of the image (see `pinetboot-provision image show NAME`)";
      case errc::bad_image_name:
        return "invalid image name (1-63 of a-z A-Z 0-9 '-' '_' '.', not starting with '.' or '-')";
      case errc::command_failed:
        return "the command failed";
      case errc::foreign_arch:
        return "the image is for another CPU architecture and no binfmt emulator is registered";
      case errc::duplicate_identity:
        return "another board already has that IP address or host name";
    }
    return "unknown layout error";
  }
};

}  // namespace

std::error_category const& layout_category() noexcept {
  static category const instance;
  return instance;
}

}  // namespace pinetboot::layout
