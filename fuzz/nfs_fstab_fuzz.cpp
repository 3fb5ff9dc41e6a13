// Fuzzes the fstab parser/formatter and the netboot fstab rewrite.
// First byte even: the rest is fstab text. Whatever parses must format and parse back to the same
// entries; the netboot rewrite must be idempotent, parse, and keep the operator's comment lines.
// First byte odd: the rest picks entry fields; whatever formats must parse back equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/nfs/fstab.hpp"

namespace nfs = pinetboot::nfs;

namespace {

class provider {
 public:
  provider(std::uint8_t const* d, std::size_t n) : d_{d}, n_{n} {}
  std::uint8_t byte() { return pos_ < n_ ? d_[pos_++] : 0; }
  std::string str(std::size_t max) {
    std::size_t len = byte() % (max + 1);
    std::string s;
    for (std::size_t i = 0; i < len && pos_ < n_; ++i) s += static_cast<char>(d_[pos_++]);
    return s;
  }

 private:
  std::uint8_t const* d_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

std::vector<nfs::fstab_entry> entries(std::vector<nfs::fstab_line> const& lines) {
  std::vector<nfs::fstab_entry> v;
  for (auto const& l : lines)
    if (l.entry) v.push_back(*l.entry);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    std::string_view text{reinterpret_cast<char const*>(data + 1), size - 1};
    auto lines = nfs::parse_fstab(text);
    if (!lines) return 0;
    std::string formatted;
    for (auto const& l : *lines)
      if (l.entry && nfs::append_fstab_entry(formatted, *l.entry)) std::abort();
    auto back = nfs::parse_fstab(formatted);
    if (!back || entries(*back) != entries(*lines)) std::abort();

    nfs::netboot_fstab_options o;
    o.server = "192.168.1.3";
    o.boot_export = "/tftpboot/dc-a6-32-01-36-c2";
    o.tmpfs = {{"/tmp", "100m", std::nullopt}};
    auto net = nfs::make_netboot_fstab(text, o);
    if (!net) std::abort();  // parseable input must always be rewritable
    auto again = nfs::make_netboot_fstab(*net, o);
    if (!again || *again != *net) std::abort();
    auto out = nfs::parse_fstab(*net);
    if (!out) std::abort();
    std::size_t comments_in = 0, comments_out = 0;
    for (auto const& l : *lines) comments_in += l.entry ? 0 : 1;
    for (auto const& l : *out) comments_out += l.entry ? 0 : 1;
    if (comments_in != comments_out) std::abort();
    if (net->find("192.168.1.3:/tftpboot/dc-a6-32-01-36-c2 /boot/firmware nfs ") == std::string::npos)
      std::abort();
    return 0;
  }
  provider p{data + 1, size - 1};
  nfs::fstab_entry e;
  e.spec = p.str(24);
  e.file = p.str(24);
  e.vfstype = p.str(8);
  e.mntops = p.str(24);
  e.freq = static_cast<int>(p.byte()) - 1;
  e.passno = static_cast<int>(p.byte() % 4);
  auto line = nfs::format_fstab_entry(e);
  if (!line) return 0;
  if (line->find('\n') != line->size() - 1) std::abort();
  auto back = nfs::parse_fstab_entry(*line);
  if (!back || *back != e) std::abort();
  return 0;
}
