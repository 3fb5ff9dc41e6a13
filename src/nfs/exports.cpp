#include "pinetboot/nfs/exports.hpp"

#include <array>
#include <cstdio>
#include <utility>

#include "text.hpp"

namespace pinetboot::nfs {
namespace {

using detail::is_alpha;
using detail::is_digit;
using detail::is_octal;
using detail::is_space;

// nfs-utils reads paths into NFS_MAXPATHLEN-sized buffers.
constexpr std::size_t max_export_path = 1024;
constexpr std::uint64_t u32_max = 0xffffffffU;

std::optional<unsigned> mask_prefix(std::string_view s) noexcept {
  if (auto len = detail::parse_decimal(s, 32)) return static_cast<unsigned>(*len);
  auto m = core::ipv4_address::parse(s);
  if (!m) return std::nullopt;
  std::uint32_t v = m->to_uint();
  // A netmask is contiguous ones followed by zeros: ~v + 1 is then a power of two (or 0).
  std::uint32_t inv = ~v;
  if ((inv & (inv + 1)) != 0) return std::nullopt;
  unsigned bits = 0;
  while (bits < 32 && (v & (0x80000000U >> bits)) != 0) ++bits;
  return bits;
}

bool is_wildcard_pattern(std::string_view s) noexcept {
  bool has_wild = false;
  bool in_class = false;
  for (char c : s) {
    if (c == '*' || c == '?') {
      has_wild = true;
    } else if (c == '[') {
      if (in_class) return false;
      in_class = true;
      has_wild = true;
    } else if (c == ']') {
      if (!in_class) return false;
      in_class = false;
    } else if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-' && c != '_' && c != '!' && c != '^') {
      return false;
    }
  }
  return has_wild && !in_class;
}

bool is_valid_fsid(std::string_view v) noexcept {
  if (v == "root") return true;
  if (detail::parse_decimal(v, u32_max)) return true;
  std::size_t hex = 0;
  for (char c : v) {
    if (detail::is_hex(c))
      ++hex;
    else if (c != '-' && c != ':')
      return false;
  }
  return hex == 32;
}

constexpr std::array<std::string_view, 4> sec_names{"sys", "krb5", "krb5i", "krb5p"};

std::optional<sec_flavor> parse_flavor(std::string_view s) noexcept {
  for (std::size_t i = 0; i < sec_names.size(); ++i)
    if (s == sec_names[i]) return static_cast<sec_flavor>(i);
  return std::nullopt;
}

std::error_code check_sec(std::vector<sec_flavor> const& sec) noexcept {
  for (std::size_t i = 0; i < sec.size(); ++i) {
    if (static_cast<std::size_t>(sec[i]) >= sec_names.size()) return errc::invalid_option_value;
    for (std::size_t j = 0; j < i; ++j)
      if (sec[i] == sec[j]) return errc::invalid_option_value;
  }
  return {};
}

std::error_code check_options(export_options const& o) noexcept {
  if (o.fsid && !is_valid_fsid(*o.fsid)) return errc::invalid_option_value;
  return check_sec(o.sec);
}

// Sets `slot` from one list; a different value already set by the same list is a conflict.
template <class T>
std::error_code set_once(std::optional<T>& slot, bool& seen, T v) {
  if (seen && slot && *slot != v) return errc::conflicting_options;
  slot = std::move(v);
  seen = true;
  return {};
}

// Parses a comma-separated option list on top of `base` (the line's `-opts` defaults).
result<export_options> parse_option_list(std::string_view list, export_options base) {
  struct seen_t {
    bool access = false, sync = false, subtree = false, squash = false, port = false, fsid = false,
         anonuid = false, anongid = false, sec = false;
  } seen;
  export_options o = std::move(base);
  if (list.empty()) return o;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = list.find(',', pos);
    if (end == std::string_view::npos) end = list.size();
    std::string_view opt = list.substr(pos, end - pos);
    std::error_code ec;
    if (opt.empty()) return errc::invalid_syntax;
    if (opt == "rw")
      ec = set_once(o.access, seen.access, access_mode::rw);
    else if (opt == "ro")
      ec = set_once(o.access, seen.access, access_mode::ro);
    else if (opt == "sync")
      ec = set_once(o.sync, seen.sync, sync_mode::sync);
    else if (opt == "async")
      ec = set_once(o.sync, seen.sync, sync_mode::async);
    else if (opt == "no_subtree_check")
      ec = set_once(o.subtree, seen.subtree, subtree_mode::no_subtree_check);
    else if (opt == "subtree_check")
      ec = set_once(o.subtree, seen.subtree, subtree_mode::subtree_check);
    else if (opt == "root_squash")
      ec = set_once(o.squash, seen.squash, squash_mode::root_squash);
    else if (opt == "no_root_squash")
      ec = set_once(o.squash, seen.squash, squash_mode::no_root_squash);
    else if (opt == "all_squash")
      ec = set_once(o.squash, seen.squash, squash_mode::all_squash);
    else if (opt == "secure")
      ec = set_once(o.port, seen.port, port_mode::secure);
    else if (opt == "insecure")
      ec = set_once(o.port, seen.port, port_mode::insecure);
    else if (opt == "crossmnt")
      o.crossmnt = true;
    else if (opt == "nohide")
      o.nohide = true;
    else if (opt.starts_with("fsid=")) {
      auto v = opt.substr(5);
      if (!is_valid_fsid(v)) return errc::invalid_option_value;
      ec = set_once(o.fsid, seen.fsid, std::string{v});
    } else if (opt.starts_with("anonuid=") || opt.starts_with("anongid=")) {
      auto v = detail::parse_decimal(opt.substr(8), u32_max);
      if (!v) return errc::invalid_option_value;
      bool uid = opt[4] == 'u';
      ec = set_once(uid ? o.anonuid : o.anongid, uid ? seen.anonuid : seen.anongid,
                    static_cast<std::uint32_t>(*v));
    } else if (opt.starts_with("sec=")) {
      // nfs-utils allows several sec= with per-flavor options after each; we support one list.
      if (seen.sec) return errc::conflicting_options;
      seen.sec = true;
      o.sec.clear();
      auto v = opt.substr(4);
      std::size_t p = 0;
      while (true) {
        std::size_t e = v.find(':', p);
        if (e == std::string_view::npos) e = v.size();
        auto f = parse_flavor(v.substr(p, e - p));
        if (!f) return errc::invalid_option_value;
        o.sec.push_back(*f);
        if (e == v.size()) break;
        p = e + 1;
      }
      ec = check_sec(o.sec);
    } else {
      return errc::unknown_option;
    }
    if (ec) return ec;
    if (end == list.size()) break;
    pos = end + 1;
  }
  return o;
}

void append_options(std::string& out, export_options const& o) {
  bool first = true;
  auto add = [&](std::string_view s) {
    if (!first) out += ',';
    out += s;
    first = false;
  };
  if (o.access) add(*o.access == access_mode::rw ? "rw" : "ro");
  if (o.sync) add(*o.sync == sync_mode::sync ? "sync" : "async");
  if (o.subtree) add(*o.subtree == subtree_mode::no_subtree_check ? "no_subtree_check" : "subtree_check");
  if (o.squash) {
    constexpr std::array<std::string_view, 3> names{"root_squash", "no_root_squash", "all_squash"};
    add(names[static_cast<std::size_t>(*o.squash)]);
  }
  if (o.port) add(*o.port == port_mode::secure ? "secure" : "insecure");
  if (o.crossmnt) add("crossmnt");
  if (o.nohide) add("nohide");
  if (o.fsid) add("fsid=" + *o.fsid);
  if (o.anonuid) add("anonuid=" + std::to_string(*o.anonuid));
  if (o.anongid) add("anongid=" + std::to_string(*o.anongid));
  if (!o.sec.empty()) {
    std::string s = "sec=";
    for (std::size_t i = 0; i < o.sec.size(); ++i) {
      if (i > 0) s += ':';
      s += sec_names[static_cast<std::size_t>(o.sec[i])];
    }
    add(s);
  }
}

bool has_options(export_options const& o) { return o != export_options{}; }

// Escapes a path so that nfs-utils' xgettok() decodes it back byte for byte. xgettok decodes
// `\ooo` (value < 256) whenever the last four bytes of its *decoded* buffer form one, so a raw
// octal digit after a decoded "\oo" would be swallowed: such digits are escaped too.
void append_escaped_path(std::string& out, std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    bool escape = c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '#';
    if (!escape && is_octal(p[i]) && i >= 3 && p[i - 3] == '\\' && is_octal(p[i - 2]) && is_octal(p[i - 1]))
      escape = true;
    if (escape)
      detail::append_octal(out, c);
    else
      out += p[i];
  }
}

// Character source with nfs-utils' xio.c semantics (xgetc/xskip/xgettok).
class lexer {
 public:
  static constexpr int eof = -1;
  explicit lexer(std::string_view s) noexcept : s_{s} {}

  int getc() noexcept {
    if (pos_ >= s_.size()) return eof;
    char c = s_[pos_++];
    if (c == '\\' && pos_ < s_.size() && s_[pos_] == '\n') {  // continuation: "\\\n[ \t]*" -> ' '
      ++pos_;
      ++line_;
      while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
      return ' ';
    }
    if (c == '\n') ++line_;
    return static_cast<unsigned char>(c);
  }
  // Only called with a single-byte character just returned by getc().
  void ungetc(int c) noexcept {
    if (c == eof) return;
    --pos_;
    if (c == '\n') --line_;
  }
  // Skips characters in `set` and '#' comments (to the end of the line).
  void skip(std::string_view set) noexcept {
    int c;
    while ((c = getc()) != eof) {
      if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
        c = getc();
        if (c == eof) break;
      }
      if (set.find(static_cast<char>(c)) == std::string_view::npos) break;
    }
    ungetc(c);
  }
  // One whitespace-delimited token with '"' quoting and `\ooo` escapes, as xgettok().
  // Returns false on an unterminated quote.
  bool token(std::string& tok) {
    tok.clear();
    bool quoted = false;
    int c;
    while ((c = getc()) != eof && (quoted || !is_space(static_cast<char>(c)))) {
      if (c == '"') {
        quoted = !quoted;
        continue;
      }
      tok += static_cast<char>(c);
      std::size_t n = tok.size();
      if (n >= 4 && tok[n - 4] == '\\' && is_octal(tok[n - 3]) && is_octal(tok[n - 2]) &&
          is_octal(tok[n - 1])) {
        int v = (tok[n - 3] - '0') * 64 + (tok[n - 2] - '0') * 8 + (tok[n - 1] - '0');
        if (v < 256) {
          tok.resize(n - 4);
          tok += static_cast<char>(v);
        }
      }
    }
    if (c == '\n') ungetc(c);
    return !quoted;
  }
  [[nodiscard]] std::size_t line() const noexcept { return line_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

std::error_code check_entry(export_entry const& e, export_policy const& policy) {
  if (auto ec = detail::check_absolute_path(e.path, max_export_path)) return ec;
  if (e.clients.empty()) return errc::missing_client;
  for (auto const& c : e.clients) {
    auto kind = classify_host(c.host);
    if (!kind) return kind.error();
    if (!policy.allow_world && is_world_host(c.host)) return errc::world_export_not_allowed;
    if (policy.within) {
      if (policy.within->prefix_len > 32) return errc::invalid_option_value;
      if (*kind != host_kind::ipv4_address && *kind != host_kind::ipv4_subnet)
        return errc::client_outside_network;
      auto slash = c.host.find('/');
      auto addr = core::ipv4_address::parse(std::string_view{c.host}.substr(0, slash));
      unsigned len =
          slash == std::string::npos ? 32U : *mask_prefix(std::string_view{c.host}.substr(slash + 1));
      auto mask = [](unsigned n) { return n == 0 ? 0U : ~std::uint32_t{0} << (32 - n); };
      std::uint32_t net_mask = mask(policy.within->prefix_len);
      if (len < policy.within->prefix_len ||
          (addr->to_uint() & net_mask) != (policy.within->network.to_uint() & net_mask))
        return errc::client_outside_network;
    }
    if (auto ec = check_options(c.opts)) return ec;
  }
  return {};
}

}  // namespace

export_options export_options::netboot_rw() {
  export_options o;
  o.access = access_mode::rw;
  o.sync = sync_mode::sync;
  o.subtree = subtree_mode::no_subtree_check;
  o.squash = squash_mode::no_root_squash;
  return o;
}

export_options export_options::netboot_ro() {
  export_options o = netboot_rw();
  o.access = access_mode::ro;
  return o;
}

result<host_kind> classify_host(std::string_view host) noexcept {
  if (host == "*") return host_kind::anyone;
  if (host.empty()) return errc::invalid_host;
  if (host.front() == '@') {
    auto name = host.substr(1);
    if (name.empty() || name.size() > 255) return errc::invalid_host;
    for (char c : name)
      if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-' && c != '_') return errc::invalid_host;
    return host_kind::netgroup;
  }
  if (auto slash = host.find('/'); slash != std::string_view::npos) {
    if (!core::ipv4_address::parse(host.substr(0, slash)) || !mask_prefix(host.substr(slash + 1)))
      return errc::invalid_host;
    return host_kind::ipv4_subnet;
  }
  if (core::ipv4_address::parse(host)) return host_kind::ipv4_address;
  if (is_wildcard_pattern(host))
    return host.size() <= 253 ? result<host_kind>{host_kind::wildcard} : errc::invalid_host;
  if (detail::is_hostname(host)) return host_kind::hostname;
  return errc::invalid_host;
}

bool is_world_host(std::string_view host) noexcept {
  auto kind = classify_host(host);
  if (!kind) return false;
  if (*kind == host_kind::anyone || *kind == host_kind::wildcard) return true;
  if (*kind == host_kind::ipv4_subnet) return mask_prefix(host.substr(host.find('/') + 1)) == 0U;
  return false;
}

export_client board_client(core::ipv4_address board, export_options opts) {
  return {board.to_string(), std::move(opts)};
}

result<export_client> subnet_client(core::ipv4_address addr, unsigned prefix_len, export_options opts) {
  if (prefix_len > 32) return errc::invalid_host;
  std::uint32_t mask = prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len);
  core::ipv4_address net{addr.to_uint() & mask};
  return export_client{net.to_string() + "/" + std::to_string(prefix_len), std::move(opts)};
}

export_client world_client(export_options opts) { return {"*", std::move(opts)}; }

std::vector<std::string> export_warnings(export_entry const& e) {
  std::vector<std::string> w;
  for (auto const& c : e.clients) {
    auto kind = classify_host(c.host);
    if (!kind) continue;
    bool single = *kind == host_kind::ipv4_address || *kind == host_kind::hostname;
    if (is_world_host(c.host))
      w.push_back("export of " + e.path + " to '" + c.host + "' matches every host on the network");
    if (!single && c.opts.access == access_mode::rw && c.opts.squash == squash_mode::no_root_squash)
      w.push_back("any host matching '" + c.host + "' can write " + e.path + " as root (rw,no_root_squash)");
    if (c.opts.port == port_mode::insecure)
      w.push_back("'insecure' on " + e.path + " accepts requests from unprivileged ports of '" + c.host +
                  "'");
  }
  return w;
}

std::error_code validate(export_entry const& e, export_policy const& policy) {
  return check_entry(e, policy);
}

std::error_code append_exports_line(std::string& out, export_entry const& e, export_policy const& policy,
                                    std::vector<std::string>* warnings) {
  if (auto ec = check_entry(e, policy)) return ec;
  append_escaped_path(out, e.path);
  for (auto const& c : e.clients) {
    out += ' ';
    out += c.host;
    if (has_options(c.opts)) {
      out += '(';
      append_options(out, c.opts);
      out += ')';
    }
  }
  out += '\n';
  if (warnings != nullptr) {
    auto w = export_warnings(e);
    warnings->insert(warnings->end(), w.begin(), w.end());
  }
  return {};
}

result<std::string> format_exports_line(export_entry const& e, export_policy const& policy,
                                        std::vector<std::string>* warnings) {
  std::string s;
  if (auto ec = append_exports_line(s, e, policy, warnings)) return ec;
  return s;
}

result<std::vector<export_entry>> parse_exports(std::string_view text, std::size_t* error_line) {
  lexer lx{text};
  std::vector<export_entry> entries;
  std::string tok;
  auto fail = [&](std::error_code ec) -> result<std::vector<export_entry>> {
    if (error_line != nullptr) *error_line = lx.line();
    return ec;
  };
  while (true) {
    lx.skip(" \t\n");
    int c = lx.getc();
    if (c == lexer::eof) break;
    lx.ungetc(c);
    export_entry e;
    if (!lx.token(tok)) return fail(errc::invalid_syntax);
    if (tok.empty()) return fail(errc::invalid_syntax);
    if (auto ec = detail::check_absolute_path(tok, max_export_path)) return fail(ec);
    e.path = tok;
    export_options defaults;
    while (true) {
      lx.skip(" \t");
      c = lx.getc();
      if (c == '\n' || c == lexer::eof) break;
      lx.ungetc(c);
      if (!lx.token(tok) || tok.empty()) return fail(errc::invalid_syntax);
      if (tok.front() == '-') {
        if (tok.size() == 1) return fail(errc::invalid_syntax);
        auto d = parse_option_list(std::string_view{tok}.substr(1), defaults);
        if (!d) return fail(d.error());
        defaults = std::move(*d);
        continue;
      }
      export_client client;
      std::string_view t{tok};
      auto open = t.find('(');
      std::string_view host = t.substr(0, open);
      if (open == std::string_view::npos) {
        client.opts = defaults;
      } else {
        if (t.back() != ')' || t.size() - open < 2) return fail(errc::invalid_syntax);
        auto list = t.substr(open + 1, t.size() - open - 2);
        if (list.find_first_of("()") != std::string_view::npos) return fail(errc::invalid_syntax);
        auto o = parse_option_list(list, defaults);
        if (!o) return fail(o.error());
        client.opts = std::move(*o);
      }
      if (!classify_host(host)) return fail(errc::invalid_host);
      client.host = std::string{host};
      e.clients.push_back(std::move(client));
    }
    if (e.clients.empty()) return fail(errc::missing_client);
    entries.push_back(std::move(e));
  }
  return entries;
}

result<export_entry> parse_exports_line(std::string_view line) {
  auto all = parse_exports(line);
  if (!all) return all.error();
  if (all->size() != 1) return errc::invalid_syntax;
  return std::move(all->front());
}

}  // namespace pinetboot::nfs
