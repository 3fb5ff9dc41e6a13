// Replays arbitrary bytes as a lease journal: recovery must never read out of bounds, must
// report a valid prefix no longer than the input, and re-encoding the recovered leases must
// replay to the same leases.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>

#include "pinetboot/core/byte_reader.hpp"
#include "pinetboot/dhcp/lease_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  using pinetboot::dhcp::lease;
  using pinetboot::dhcp::lease_store;
  std::map<std::uint32_t, lease> leases;
  std::size_t records = 0;
  std::size_t good = lease_store::replay({reinterpret_cast<std::byte const*>(data), size}, leases, records);
  if (good > size) std::abort();
  std::string image;
  for (auto const& [ip, l] : leases) lease_store::encode_record(image, l, false);
  std::map<std::uint32_t, lease> again;
  std::size_t records2 = 0;
  if (lease_store::replay(pinetboot::core::as_bytes(image), again, records2) != image.size()) std::abort();
  if (again != leases || records2 != leases.size()) std::abort();
  return 0;
}
