#include "pinetboot/tftp/error.hpp"

#include <string>

namespace pinetboot::tftp {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] char const* name() const noexcept override { return "pinetboot.tftp"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::truncated:
        return "packet truncated";
      case errc::bad_opcode:
        return "bad or unexpected opcode";
      case errc::missing_nul:
        return "string field not NUL-terminated";
      case errc::bad_mode:
        return "unsupported transfer mode";
      case errc::bad_option_value:
        return "malformed option value";
      case errc::duplicate_option:
        return "duplicate option";
      case errc::buffer_too_small:
        return "output buffer too small";
      case errc::file_not_found:
        return "file not found";
      case errc::access_violation:
        return "access violation";
      case errc::disk_full:
        return "disk full or allocation exceeded";
      case errc::illegal_operation:
        return "illegal TFTP operation";
      case errc::unknown_tid:
        return "unknown transfer ID";
      case errc::file_exists:
        return "file already exists";
      case errc::no_such_user:
        return "no such user";
      case errc::option_refused:
        return "option negotiation refused";
      case errc::peer_error:
        return "peer sent an error";
      case errc::timed_out:
        return "retransmissions exhausted";
      case errc::name_too_long:
        return "file name too long";
      case errc::io_error:
        return "I/O error";
      case errc::client_aborted:
        return "client aborted the transfer (normal)";
      case errc::too_many_options:
        return "too many options";
      case errc::peer_silent:
        return "peer silent for the idle timeout";
    }
    return "unknown tftp error";
  }
};

}  // namespace

std::error_category const& tftp_category() noexcept {
  static category const instance;
  return instance;
}

wire_error to_wire(std::error_code ec) noexcept {
  using w = error_code_wire;
  if (ec.category() == tftp_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::file_not_found:
        return {w::file_not_found, "File not found"};
      case errc::access_violation:
        return {w::access_violation, "Access violation"};
      case errc::name_too_long:
        return {w::access_violation, "File name too long"};
      case errc::disk_full:
        return {w::disk_full, "Disk full or allocation exceeded"};
      case errc::illegal_operation:
        return {w::illegal_operation, "Illegal TFTP operation"};
      case errc::bad_opcode:
        return {w::illegal_operation, "Illegal TFTP operation"};
      case errc::truncated:
      case errc::missing_nul:
        return {w::illegal_operation, "Malformed packet"};
      case errc::bad_mode:
        return {w::illegal_operation, "Unsupported mode"};
      case errc::unknown_tid:
        return {w::unknown_tid, "Unknown transfer ID"};
      case errc::file_exists:
        return {w::file_exists, "File already exists"};
      case errc::no_such_user:
        return {w::no_such_user, "No such user"};
      case errc::bad_option_value:
      case errc::duplicate_option:
      case errc::too_many_options:
      case errc::option_refused:
        return {w::option_negotiation, "Option negotiation failed"};
      case errc::timed_out:
      case errc::peer_silent:
        return {w::not_defined, "Timeout"};
      case errc::io_error:
        return {w::not_defined, "I/O error"};
      case errc::buffer_too_small:
      case errc::peer_error:
      case errc::client_aborted:
        break;
    }
    return {w::not_defined, "Transfer aborted"};
  }
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)
    return {w::file_not_found, "File not found"};
  if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted ||
      ec == std::errc::is_a_directory)
    return {w::access_violation, "Access violation"};
  if (ec == std::errc::no_space_on_device || ec == std::errc::file_too_large)
    return {w::disk_full, "Disk full or allocation exceeded"};
  if (ec == std::errc::file_exists) return {w::file_exists, "File already exists"};
  if (ec == std::errc::filename_too_long) return {w::access_violation, "File name too long"};
  return {w::not_defined, "Transfer aborted"};
}

}  // namespace pinetboot::tftp
