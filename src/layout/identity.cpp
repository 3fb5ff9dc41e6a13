#include "pinetboot/layout/identity.hpp"

#include <algorithm>
#include <map>

namespace pinetboot::layout {

result<std::string> folder_name(client_identity const& c, core::folder_naming scheme) {
  std::array<char, max_folder_name> buf{};
  auto n = format_folder(c, scheme, buf);
  if (!n) return n.error();
  return std::string{buf.data(), *n};
}

std::vector<collision> detect_collisions(std::span<const client_identity> clients,
                                         core::folder_naming scheme) {
  std::multimap<std::string, std::size_t> by_folder;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (auto f = folder_name(clients[i], scheme)) by_folder.emplace(std::move(*f), i);
  }
  std::vector<collision> out;
  for (auto it = by_folder.begin(); it != by_folder.end();) {
    auto end = by_folder.upper_bound(it->first);
    for (auto a = it; a != end; ++a)
      for (auto b = std::next(a); b != end; ++b)
        out.push_back({a->first, std::min(a->second, b->second), std::max(a->second, b->second)});
    it = end;
  }
  std::sort(out.begin(), out.end(), [](collision const& x, collision const& y) {
    return std::tie(x.first, x.second) < std::tie(y.first, y.second);
  });
  return out;
}

}  // namespace pinetboot::layout
