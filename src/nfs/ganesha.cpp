#include "pinetboot/nfs/ganesha.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <utility>

#include "text.hpp"

namespace pinetboot::nfs {
namespace {

constexpr std::size_t id_slots = ganesha_max_export_id - ganesha_min_export_id + 1;

// Bytes Ganesha's config lexer would read as syntax (or that have no place in a file name we
// write) even inside a quoted value: the quote itself, its escape character, block and statement
// delimiters, comments and %include, control characters. Non-ASCII is refused to keep the file
// ASCII (exports(5) escapes it; Ganesha has no escape for it).
bool is_forbidden_in_value(char ch) noexcept {
  auto c = static_cast<unsigned char>(ch);
  return c < 0x20 || c >= 0x7f || ch == '"' || ch == '\\' || ch == '{' || ch == '}' || ch == ';' ||
         ch == '#' || ch == '%';
}

// "a.b.c.d/m.m.m.m" -> "a.b.c.d/len" (Ganesha takes CIDR); anything else unchanged.
// Only called on hosts that classify_host() accepted.
std::string ganesha_client(std::string const& host) {
  auto slash = host.find('/');
  if (slash == std::string::npos) return host;
  auto mask = core::ipv4_address::parse(std::string_view{host}.substr(slash + 1));
  if (!mask) return host;  // already a prefix length
  std::uint32_t v = mask->to_uint();
  unsigned bits = 0;
  while (bits < 32 && (v & (0x80000000U >> bits)) != 0) ++bits;
  return host.substr(0, slash + 1) + std::to_string(bits);
}

bool is_word_char(char c) noexcept {
  return detail::is_alpha(c) || detail::is_digit(c) || c == '.' || c == '_' || c == '-';
}

// Ganesha takes a client only unquoted, and its lexer (src/config_parsing/conf_lex.l) must read
// the spec as the right token: an IPv4 address or CIDR, "*", "@" + [A-Za-z_][A-Za-z0-9_.-]*,
// a name [A-Za-z_][A-Za-z0-9._-]* that is not a boolean word (yes/no/on/off/true/false), or a
// glob of name characters with '*', '?' and "[!...]" classes (not starting with '?', which makes
// it a plain name token, and without '^'). The address forms were checked by classify_host().
bool is_ganesha_client(std::string_view host) noexcept {
  auto kind = classify_host(host);
  if (!kind) return false;
  switch (*kind) {
    case host_kind::ipv4_address:
    case host_kind::ipv4_subnet:
    case host_kind::anyone:
      return true;
    case host_kind::netgroup:
      return host.size() > 1 && (detail::is_alpha(host[1]) || host[1] == '_');
    case host_kind::hostname: {
      if (!detail::is_alpha(host.front()) && host.front() != '_') return false;
      std::string lower;
      for (char c : host) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      return lower != "yes" && lower != "no" && lower != "on" && lower != "off" && lower != "true" &&
             lower != "false";
    }
    case host_kind::wildcard: {
      if (host.front() == '?') return false;
      bool in_class = false;
      std::size_t class_len = 0;
      for (std::size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        if (c == '[') {
          in_class = true;
          class_len = 0;
          if (i + 1 < host.size() && host[i + 1] == '!') ++i;
        } else if (c == ']') {
          if (class_len == 0) return false;
          in_class = false;
        } else if (in_class) {
          if (!is_word_char(c)) return false;
          ++class_len;
        } else if (!is_word_char(c) && c != '*' && c != '?') {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  out += s;
  out += '"';
}

void append_client(std::string& out, export_client const& c) {
  constexpr std::array<std::string_view, 3> squash{"Root_Squash", "No_Root_Squash", "All_Squash"};
  constexpr std::array<std::string_view, 4> sec{"sys", "krb5", "krb5i", "krb5p"};
  auto const& o = c.opts;
  out += "    CLIENT {\n        Clients = ";
  out += ganesha_client(c.host);  // Ganesha refuses a quoted client ("Expected a client")
  out += ";\n        Access_Type = ";
  out += o.access == access_mode::rw ? "RW" : "RO";
  out += ";\n        Squash = ";
  out += squash[static_cast<std::size_t>(o.squash.value_or(squash_mode::root_squash))];
  out += ";\n";
  if (o.anonuid) out += "        Anonymous_Uid = " + std::to_string(*o.anonuid) + ";\n";
  if (o.anongid) out += "        Anonymous_Gid = " + std::to_string(*o.anongid) + ";\n";
  if (!o.sec.empty()) {
    out += "        SecType = ";
    for (std::size_t i = 0; i < o.sec.size(); ++i) {
      if (i > 0) out += ", ";
      out += sec[static_cast<std::size_t>(o.sec[i])];
    }
    out += ";\n";
  }
  if (o.port)
    out += o.port == port_mode::secure ? "        PrivilegedPort = true;\n"
                                       : "        PrivilegedPort = false;\n";
  out += "    }\n";
}

// FNV-1a, 64 bits: fixed by definition, so ids are the same on every machine and build.
std::uint64_t fnv1a64(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

std::uint16_t ganesha_home_export_id(std::string_view path) noexcept {
  return static_cast<std::uint16_t>(ganesha_min_export_id + fnv1a64(path) % id_slots);
}

result<std::vector<std::uint16_t>> ganesha_export_ids(std::span<std::string const> paths,
                                                      std::span<ganesha_id const> keep) {
  std::vector<std::string_view> sorted(paths.begin(), paths.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  if (sorted.size() > id_slots) return errc::too_long;
  std::vector<bool> taken(id_slots + ganesha_min_export_id, false);
  std::map<std::string_view, std::uint16_t> id_of;
  // Ids from the previous file first, in path order, so that the result does not depend on the
  // order of `keep`; a path or id seen twice keeps its first (smallest path) claim.
  std::vector<ganesha_id const*> kept;
  for (auto const& k : keep) kept.push_back(&k);
  std::sort(kept.begin(), kept.end(), [](auto const* a, auto const* b) {
    return a->path != b->path ? a->path < b->path : a->export_id < b->export_id;
  });
  for (auto const* k : kept) {
    if (k->export_id < ganesha_min_export_id || k->export_id > ganesha_max_export_id || taken[k->export_id])
      continue;
    if (!std::binary_search(sorted.begin(), sorted.end(), std::string_view{k->path})) continue;
    if (!id_of.emplace(k->path, k->export_id).second) continue;  // the path's first claim wins
    taken[k->export_id] = true;
  }
  for (auto p : sorted) {
    if (id_of.contains(p)) continue;
    std::uint16_t id = ganesha_home_export_id(p);
    while (taken[id])
      id = id == ganesha_max_export_id ? ganesha_min_export_id : static_cast<std::uint16_t>(id + 1);
    taken[id] = true;
    id_of.emplace(p, id);
  }
  std::vector<std::uint16_t> out;
  out.reserve(paths.size());
  for (auto const& p : paths) out.push_back(id_of.at(p));
  return out;
}

std::error_code validate_ganesha(export_entry const& e, export_policy const& policy) {
  if (auto ec = validate(e, policy)) return ec;
  if (std::any_of(e.path.begin(), e.path.end(), is_forbidden_in_value)) return errc::forbidden_character;
  for (auto const& c : e.clients)
    if (!is_ganesha_client(c.host)) return errc::invalid_host;
  return {};
}

std::vector<ganesha_id> read_ganesha_export_ids(std::string_view file) {
  std::vector<ganesha_id> out;
  std::optional<std::uint16_t> id;
  std::size_t pos = 0;
  while (pos < file.size()) {
    auto nl = file.find('\n', pos);
    auto line = file.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? file.size() : nl + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.starts_with("EXPORT {")) {
      id.reset();
    } else if (line.starts_with("Export_Id = ") && line.ends_with(";")) {
      auto v = detail::parse_decimal(line.substr(12, line.size() - 13), ganesha_max_export_id);
      if (v && *v >= ganesha_min_export_id) id = static_cast<std::uint16_t>(*v);
    } else if (id && line.starts_with("Path = \"") && line.ends_with("\";") && line.size() >= 10) {
      out.push_back({std::string{line.substr(8, line.size() - 10)}, *id});
      id.reset();
    }
  }
  return out;
}

result<std::string> format_ganesha_exports(std::span<export_entry const> entries, export_policy const& policy,
                                           std::vector<std::string>* warnings,
                                           std::span<ganesha_id const> keep) {
  // Merge by path (std::map: sorted by bytes, the order the ids are assigned in).
  std::map<std::string, std::vector<export_client const*>> by_path;
  std::vector<std::string> w;
  for (auto const& e : entries) {
    if (auto ec = validate_ganesha(e, policy)) return ec;
    auto& clients = by_path[e.path];
    for (auto const& c : e.clients) {
      for (auto const* prev : clients)
        if (prev->host == c.host) return errc::duplicate_export;
      clients.push_back(&c);
    }
    auto ew = export_warnings(e);
    w.insert(w.end(), ew.begin(), ew.end());
  }
  std::vector<std::string> paths;
  paths.reserve(by_path.size());
  for (auto const& [p, _] : by_path) paths.push_back(p);
  auto ids = ganesha_export_ids(paths, keep);
  if (!ids) return ids.error();

  std::string out;
  out += ganesha_header;
  out +=
      "\n# pinetboot-provision exports --format ganesha --apply writes this file; NFS-Ganesha reads it\n"
      "# through one line in ganesha.conf:\n"
      "#   %include \"";
  out += ganesha_default_file;
  out +=
      "\"\n# An export keeps the Export_Id it has here; a new one gets 1 + FNV-1a-64(Path) % 65000,\n"
      "# or the next free id. Hosts not listed in an export's CLIENT blocks get Access_Type = None.\n";
  out += "# " + std::to_string(paths.size()) + (paths.size() == 1 ? " export\n" : " exports\n");
  std::size_t i = 0;
  for (auto const& [path, clients] : by_path) {
    out += "\nEXPORT {\n    Export_Id = " + std::to_string((*ids)[i++]) + ";\n    Path = ";
    append_quoted(out, path);
    out += ";\n    Pseudo = ";
    append_quoted(out, path);
    out +=
        ";\n    Protocols = 3, 4;\n    Transports = TCP;\n    Access_Type = None;\n    Squash = "
        "Root_Squash;\n"
        "    Attr_Expiration_Time = 0;\n";
    for (auto const* c : clients) append_client(out, *c);
    out += "    FSAL {\n        Name = VFS;\n    }\n}\n";
  }
  if (warnings != nullptr) warnings->insert(warnings->end(), w.begin(), w.end());
  return out;
}

}  // namespace pinetboot::nfs
