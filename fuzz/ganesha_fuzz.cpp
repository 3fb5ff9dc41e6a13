// Fuzzes the NFS-Ganesha exports generator.
// The input picks up to 6 entries (paths: "/srv/nfs/" + bytes or raw bytes; hosts from a list or
// raw bytes; options from bits). Whatever validate_ganesha() accepts must format; the output is
// read back with a small lexer that follows Ganesha's config syntax (# comments, "quoted"
// values, { } ; =) and must hold exactly one EXPORT per distinct path with Path == Pseudo == the
// path, the ids ganesha_export_ids() gives (unique, 1..65000), one CLIENT per client with its
// Clients value, balanced blocks, and no comment outside the header. Reversing entries with
// distinct paths must give the same bytes. A rejected entry must have a path byte the syntax
// cannot carry, fail validate(), or have a client Ganesha's lexer would not read unquoted.
// Ids kept from "a previous file" (random pairs) may never give duplicates; the file's own ids
// read back (read_ganesha_export_ids) must match its exports and reproduce it byte for byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pinetboot/nfs/ganesha.hpp"

namespace nfs = pinetboot::nfs;

namespace {

class provider {
 public:
  provider(std::uint8_t const* d, std::size_t n) : d_{d}, n_{n} {}
  std::uint8_t byte() { return pos_ < n_ ? d_[pos_++] : 0; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | byte();
    return v;
  }
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

std::string pick_host(provider& p) {
  static char const* const hosts[] = {"10.77.0.50", "10.0.0.0/8", "10.1.0.0/255.255.0.0",
                                      "pi4.lab",    "@pis",       "pi-?[0-9].lab",
                                      "*",          "0.0.0.0/0"};
  auto i = p.byte();
  if (i < 200) return hosts[i % (sizeof hosts / sizeof hosts[0])];
  return p.str(24);
}

nfs::export_options pick_options(provider& p) {
  nfs::export_options o;
  auto bits = p.u32();
  if (bits & 1) o.access = (bits & 2) ? nfs::access_mode::rw : nfs::access_mode::ro;
  if (bits & 4) o.squash = static_cast<nfs::squash_mode>((bits >> 3) % 3);
  if (bits & 32) o.port = (bits & 64) ? nfs::port_mode::secure : nfs::port_mode::insecure;
  if (bits & 128) o.anonuid = p.u32();
  if (bits & 256) o.anongid = p.u32();
  if (bits & 512) o.sync = nfs::sync_mode::async;
  for (int n = p.byte() % 3; n > 0; --n) o.sec.push_back(static_cast<nfs::sec_flavor>(p.byte() % 4));
  return o;
}

bool forbidden(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c < 0x20 || c >= 0x7f || std::string_view{"\"\\{};#%"}.find(ch) != std::string_view::npos;
}

// Ganesha's config syntax, as far as our output uses it.
struct token {
  enum kind_t { word, quoted, open, close, semi, equals, comma } kind;
  std::string text;
};

std::vector<token> lex(std::string_view s, std::size_t header_end) {
  std::vector<token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\n' || c == '\t') {
      ++i;
    } else if (c == '#') {
      if (i >= header_end) std::abort();  // comments only in the header
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '"') {
      auto end = s.find('"', i + 1);
      if (end == std::string_view::npos) std::abort();
      auto v = s.substr(i + 1, end - i - 1);
      if (std::any_of(v.begin(), v.end(), forbidden)) std::abort();
      out.push_back({token::quoted, std::string{v}});
      i = end + 1;
    } else if (c == '{' || c == '}' || c == ';' || c == '=' || c == ',') {
      out.push_back({c == '{'   ? token::open
                     : c == '}' ? token::close
                     : c == ';' ? token::semi
                     : c == '=' ? token::equals
                                : token::comma,
                     {}});
      ++i;
    } else {
      std::size_t b = i;
      while (i < s.size() && std::string_view{" \n\t{};=,\"#"}.find(s[i]) == std::string_view::npos) ++i;
      out.push_back({token::word, std::string{s.substr(b, i - b)}});
    }
  }
  return out;
}

struct parsed_export {
  std::string id, path, pseudo;
  std::vector<std::string> clients;
};

// Reads `KEY = v[, v]* ;` pairs and blocks; returns the EXPORTs.
std::vector<parsed_export> read_exports(std::vector<token> const& t) {
  std::vector<parsed_export> out;
  std::size_t i = 0;
  auto expect = [&](token::kind_t k) {
    if (i >= t.size() || t[i].kind != k) std::abort();
    return t[i++];
  };
  int depth = 0;
  std::string block;
  while (i < t.size()) {
    if (t[i].kind == token::close) {
      if (depth == 0) std::abort();
      --depth;
      ++i;
      continue;
    }
    auto key = expect(token::word).text;
    if (i < t.size() && t[i].kind == token::open) {
      ++i;
      if (depth == 0 && key != "EXPORT") std::abort();
      if (depth == 0) out.emplace_back();
      if (depth == 1 && key != "CLIENT" && key != "FSAL") std::abort();
      if (depth >= 2) std::abort();
      ++depth;
      continue;
    }
    if (depth == 0) std::abort();
    expect(token::equals);
    std::vector<std::string> values;
    while (true) {
      if (i >= t.size() || (t[i].kind != token::word && t[i].kind != token::quoted)) std::abort();
      values.push_back(t[i++].text);
      if (i < t.size() && t[i].kind == token::comma) {
        ++i;
        continue;
      }
      break;
    }
    expect(token::semi);
    auto& e = out.back();
    if (depth == 1 && key == "Export_Id") e.id = values.at(0);
    if (depth == 1 && key == "Path") e.path = values.at(0);
    if (depth == 1 && key == "Pseudo") e.pseudo = values.at(0);
    if (depth == 1 && key == "Access_Type" && values.at(0) != "None") std::abort();
    if (depth == 2 && key == "Clients") e.clients.push_back(values.at(0));
  }
  if (depth != 0) std::abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  provider p{data, size};
  std::vector<nfs::export_entry> entries;
  for (int n = p.byte() % 7; n > 0; --n) {
    nfs::export_entry e;
    auto mode = p.byte();
    e.path = (mode & 1) ? "/srv/nfs/" + p.str(24) : p.str(40);
    if ((mode & 6) == 0 && !entries.empty()) e.path = entries.back().path;  // same path twice
    for (int c = 1 + p.byte() % 3; c > 0; --c) e.clients.push_back({pick_host(p), pick_options(p)});
    entries.push_back(std::move(e));
  }
  nfs::export_policy policy{.allow_world = (p.byte() & 1) != 0};
  // Ids "from a previous file": paths of these entries or others, any id (also out of range).
  std::vector<nfs::ganesha_id> keep;
  for (int n = p.byte() % 5; n > 0; --n) {
    auto which = p.byte();
    std::string path = which < 128 && !entries.empty() ? entries[which % entries.size()].path : p.str(16);
    keep.push_back({path, static_cast<std::uint16_t>(p.u32() % 65536)});
  }

  bool all_valid = true;
  for (auto const& e : entries) {
    auto ec = nfs::validate_ganesha(e, policy);
    if (!ec) continue;
    all_valid = false;
    // Rejected although exports(5) takes it: the path holds a byte Ganesha cannot carry, or a
    // client would not lex as a bare client token.
    if (!nfs::validate(e, policy) && std::none_of(e.path.begin(), e.path.end(), forbidden) &&
        ec != nfs::errc::invalid_host)
      std::abort();
  }
  auto text = nfs::format_ganesha_exports(entries, policy, nullptr, keep);
  if (!text) {
    if (all_valid && text.error() != nfs::errc::duplicate_export) std::abort();
    return 0;
  }
  if (!all_valid) std::abort();

  // Entry order matters only for clients merged into one export (Ganesha takes the first
  // CLIENT block that matches); with distinct paths reversing must give the same bytes.
  std::set<std::string> distinct;
  for (auto const& e : entries) distinct.insert(e.path);
  if (distinct.size() == entries.size()) {
    auto reversed = entries;
    std::reverse(reversed.begin(), reversed.end());
    auto again = nfs::format_ganesha_exports(reversed, policy, nullptr, keep);
    if (!again || *again != *text) std::abort();
  }

  auto header_end = text->find("\nEXPORT {");
  auto exports = read_exports(lex(*text, header_end == std::string::npos ? text->size() : header_end));
  std::map<std::string, std::vector<std::string>> want;
  for (auto const& e : entries)
    for (auto const& c : e.clients) want[e.path].push_back(c.host);
  if (exports.size() != want.size()) std::abort();
  std::vector<std::string> paths;
  for (auto const& [path, _] : want) paths.push_back(path);
  auto ids = nfs::ganesha_export_ids(paths, keep);
  if (!ids) std::abort();
  std::set<std::string> seen_ids;
  std::size_t i = 0;
  for (auto const& [path, hosts] : want) {
    auto const& x = exports[i];
    if (x.path != path || x.pseudo != path) std::abort();
    if (x.id != std::to_string((*ids)[i]) || !seen_ids.insert(x.id).second) std::abort();
    if ((*ids)[i] < nfs::ganesha_min_export_id || (*ids)[i] > nfs::ganesha_max_export_id) std::abort();
    if (x.clients.size() != hosts.size()) std::abort();
    for (std::size_t c = 0; c < hosts.size(); ++c) {
      // a.b.c.d/m.m.m.m is written as a prefix length; everything else verbatim.
      auto slash = hosts[c].find('/');
      bool netmask = slash != std::string::npos && hosts[c].find('.', slash) != std::string::npos;
      if (netmask ? x.clients[c].substr(0, slash + 1) != hosts[c].substr(0, slash + 1)
                  : x.clients[c] != hosts[c])
        std::abort();
    }
    ++i;
  }
  // The file's ids read back, one per export; rewriting with them changes nothing.
  auto back = nfs::read_ganesha_export_ids(*text);
  if (back.size() != exports.size()) std::abort();
  for (std::size_t k = 0; k < back.size(); ++k)
    if (back[k].path != exports[k].path || std::to_string(back[k].export_id) != exports[k].id) std::abort();
  auto rewritten = nfs::format_ganesha_exports(entries, policy, nullptr, back);
  if (!rewritten || *rewritten != *text) std::abort();
  // Any text is safe to read ids from.
  (void)nfs::read_ganesha_export_ids(std::string_view{reinterpret_cast<char const*>(data), size});
  return 0;
}
