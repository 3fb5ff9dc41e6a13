#include "pinetboot/net/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pinetboot::net {

std::error_code drop_privileges(std::string const& user) {
  if (::geteuid() != 0 || user.empty()) return {};
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return std::make_error_code(std::errc::invalid_argument);
  if (::initgroups(pw.pw_name, pw.pw_gid) != 0) return {errno, std::generic_category()};
  if (::setgid(pw.pw_gid) != 0) return {errno, std::generic_category()};
  if (::setuid(pw.pw_uid) != 0) return {errno, std::generic_category()};
  if (pw.pw_uid != 0 && ::setuid(0) == 0) return std::make_error_code(std::errc::operation_not_permitted);
  return {};
}

std::string unreadable_root_warning(std::filesystem::path const& dir, std::string const& user) {
  if (dir.empty() || ::access(dir.c_str(), R_OK | X_OK) == 0) return {};
  int err = errno;
  std::string who = user.empty() ? std::string{"this user"} : "user " + user;
  return "TFTP root " + dir.string() + " is not readable by " + who + " (" + std::strerror(err) +
         "): every request will be answered \"Access violation\"; make it and its parent folders readable " +
         "(chmod a+rX) or run as a user who can read it";
}

}  // namespace pinetboot::net
