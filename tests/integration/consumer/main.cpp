// A program outside the pinetboot tree that uses the installed library.
#include <cstdio>

#include <pinetboot/core.hpp>

int main() {
  auto mac = pinetboot::core::mac_address::parse("B8:27:EB:9D:C1:5A");
  if (!mac) return 1;
  std::printf("mac %s\n", mac->to_string('-').c_str());
  auto bad = pinetboot::core::ipv4_address::parse("300.1.1.1");
  std::printf("error %s\n", bad.error().message().c_str());
  return 0;
}
