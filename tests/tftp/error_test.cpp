#include "pinetboot/tftp/error.hpp"

#include <gtest/gtest.h>

#include <system_error>

namespace pinetboot::tftp {
namespace {

TEST(TftpError, CategoryAndMessages) {
  std::error_code ec = errc::timed_out;
  EXPECT_EQ(std::string{ec.category().name()}, "pinetboot.tftp");
  EXPECT_EQ(ec.message(), "retransmissions exhausted");
  for (int i = 1; i <= static_cast<int>(errc::peer_silent); ++i)
    EXPECT_NE(make_error_code(static_cast<errc>(i)).message(), "unknown tftp error") << i;
}

TEST(TftpError, MapsToWireCodes) {
  EXPECT_EQ(to_wire(errc::file_not_found).code, error_code_wire::file_not_found);
  EXPECT_EQ(to_wire(errc::access_violation).code, error_code_wire::access_violation);
  EXPECT_EQ(to_wire(errc::disk_full).code, error_code_wire::disk_full);
  EXPECT_EQ(to_wire(errc::bad_opcode).code, error_code_wire::illegal_operation);
  EXPECT_EQ(to_wire(errc::unknown_tid).code, error_code_wire::unknown_tid);
  EXPECT_EQ(to_wire(errc::file_exists).code, error_code_wire::file_exists);
  EXPECT_EQ(to_wire(errc::no_such_user).code, error_code_wire::no_such_user);
  EXPECT_EQ(to_wire(errc::option_refused).code, error_code_wire::option_negotiation);
  EXPECT_EQ(to_wire(errc::timed_out).code, error_code_wire::not_defined);
  EXPECT_EQ(to_wire(errc::peer_silent).code, error_code_wire::not_defined);
  EXPECT_EQ(to_wire(errc::peer_silent).message, "Timeout");
  EXPECT_FALSE(to_wire(errc::file_not_found).message.empty());
}

TEST(TftpError, MapsForeignErrors) {
  EXPECT_EQ(to_wire(std::make_error_code(std::errc::no_such_file_or_directory)).code,
            error_code_wire::file_not_found);
  EXPECT_EQ(to_wire(std::make_error_code(std::errc::permission_denied)).code,
            error_code_wire::access_violation);
  EXPECT_EQ(to_wire(std::make_error_code(std::errc::no_space_on_device)).code, error_code_wire::disk_full);
  EXPECT_EQ(to_wire(std::make_error_code(std::errc::bad_address)).code, error_code_wire::not_defined);
}

TEST(TftpError, FromWire) {
  EXPECT_EQ(from_wire(error_code_wire::not_defined), errc::peer_error);
  EXPECT_EQ(from_wire(error_code_wire::file_not_found), errc::file_not_found);
  EXPECT_EQ(from_wire(error_code_wire::option_negotiation), errc::option_refused);
  EXPECT_EQ(from_wire(static_cast<error_code_wire>(99)), errc::peer_error);
}

}  // namespace
}  // namespace pinetboot::tftp
