// Fuzzes the cmdline.txt rewrite: any accepted original yields one line with the NFS root
// parameters (no proto= with an initramfs), and rewriting the result again returns it unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pinetboot/nfs/cmdline.hpp"

namespace nfs = pinetboot::nfs;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  nfs::cmdline_options o;
  o.server = pinetboot::core::ipv4_address{192, 168, 1, 3};
  o.root_path = "/nfs/dc-a6-32-01-36-c2";
  o.initramfs = (data[0] & 1) == 0;
  o.version = (data[0] & 6) == 2 && !o.initramfs ? nfs::nfs_version::v4_1 : nfs::nfs_version::v3;
  std::string_view text{reinterpret_cast<char const*>(data + 1), size - 1};
  auto r = nfs::make_netboot_cmdline(text, o);
  if (!r) return 0;
  if (r->empty() || r->find('\n') != r->size() - 1) std::abort();
  std::string want = "root=/dev/nfs nfsroot=192.168.1.3:/nfs/dc-a6-32-01-36-c2,vers=";
  want += o.version == nfs::nfs_version::v3 ? "3" : "4.1";
  want += o.initramfs ? "" : ",proto=tcp";
  want += " rw ip=dhcp rootwait";
  if (r->find(want) == std::string::npos) std::abort();
  auto again = nfs::make_netboot_cmdline(*r, o);
  if (!again || *again != *r) std::abort();
  return 0;
}
