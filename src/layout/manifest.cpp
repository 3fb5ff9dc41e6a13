#include "pinetboot/layout/manifest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <charconv>
#include <map>
#include <set>
#include <memory>
#include <utility>

#include "pinetboot/core/file.hpp"

namespace pinetboot::layout {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex(unsigned char const* p, unsigned n) {
  std::string out;
  out.reserve(2 * n);
  for (unsigned i = 0; i < n; ++i) {
    out += hex_digits[p[i] >> 4];
    out += hex_digits[p[i] & 0xf];
  }
  return out;
}

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

md_ctx new_sha256() {
  md_ctx c{EVP_MD_CTX_new()};
  if (c && EVP_DigestInit_ex(c.get(), EVP_sha256(), nullptr) != 1) c.reset();
  return c;
}

std::string finish(md_ctx& c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(c.get(), md, &n);
  return to_hex(md, n);
}

bool needs_escape(unsigned char c) noexcept { return c <= 0x20 || c == 0x7f || c == '%'; }

void append_escaped(std::string& out, std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (needs_escape(c)) {
      out += '%';
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xf];
    } else {
      out += ch;
    }
  }
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unescape(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

// A relative path of non-empty components, none "." or "..": what a manifest may name.
bool safe_relative(std::string_view p) noexcept {
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  std::size_t start = 0;
  while (start <= p.size()) {
    auto slash = p.find('/', start);
    auto part = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string_view::npos) return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

template <class T>
bool parse_number(std::string_view s, T& out, int base = 10) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc{} && p == s.data() + s.size();
}

char type_of(mode_t m) noexcept {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISFIFO(m)) return 'p';
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  return 's';
}


}  // namespace

std::string sha256_hex(std::string_view data) {
  auto c = new_sha256();
  if (!c) return {};
  EVP_DigestUpdate(c.get(), data.data(), data.size());
  return finish(c);
}

result<std::string> sha256_file(std::filesystem::path const& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return last_errno();
  core::unique_fd guard{fd};
  auto c = new_sha256();
  if (!c) return std::error_code{ENOMEM, std::generic_category()};
  std::vector<char> buf(1 << 20);
  for (;;) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_errno();
    }
    if (n == 0) break;
    EVP_DigestUpdate(c.get(), buf.data(), static_cast<std::size_t>(n));
  }
  return finish(c);
}

result<std::vector<manifest_entry>> parse_manifest(std::string_view text) {
  std::vector<manifest_entry> out;
  std::string scratch;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> f;
    std::size_t i = 0;
    while (i <= line.size() && f.size() < 9) {
      auto sp = line.find(' ', i);
      f.push_back(line.substr(i, sp == std::string_view::npos ? std::string_view::npos : sp - i));
      if (sp == std::string_view::npos) break;
      i = sp + 1;
    }
    if (f.size() < 7 || f.size() > 8 || f[0].size() != 1) return errc::bad_manifest;
    manifest_entry e;
    e.type = f[0][0];
    if (std::string_view{"fdlpcbs"}.find(e.type) == std::string_view::npos) return errc::bad_manifest;
    if (f[1].size() != 4 || !parse_number(f[1], e.mode, 8) || e.mode > 07777) return errc::bad_manifest;
    if (!parse_number(f[2], e.uid) || !parse_number(f[3], e.gid) || !parse_number(f[4], e.size))
      return errc::bad_manifest;
    if (e.type == 'f') {
      if (f[5].size() != 64 || f[5].find_first_not_of("0123456789abcdef") != std::string_view::npos)
        return errc::bad_manifest;
      e.sha256 = std::string{f[5]};
    } else if (f[5] != "-") {
      return errc::bad_manifest;
    }
    if (!unescape(f[6], e.path) || !safe_relative(e.path)) return errc::bad_manifest;
    if ((e.type == 'l') != (f.size() == 8)) return errc::bad_manifest;
    if (e.type == 'l' && (!unescape(f[7], e.target) || e.target.empty())) return errc::bad_manifest;
    out.push_back(std::move(e));
  }
  return out;
}

std::string format_manifest(std::vector<manifest_entry> const& entries) {
  std::string out = "# pinetboot manifest 1\n";
  char mode[8];
  for (auto const& e : entries) {
    out += e.type;
    std::snprintf(mode, sizeof mode, " %04o ", e.mode & 07777);
    out += mode;
    out += std::to_string(e.uid) + ' ' + std::to_string(e.gid) + ' ' + std::to_string(e.size) + ' ';
    out += e.type == 'f' ? e.sha256 : std::string{"-"};
    out += ' ';
    append_escaped(out, e.path);
    if (e.type == 'l') {
      out += ' ';
      append_escaped(out, e.target);
    }
    out += '\n';
  }
  return out;
}

result<std::vector<manifest_entry>> scan_manifest(std::filesystem::path const& dir, std::string_view label,
                                                  std::function<void(std::uint64_t)> on_bytes) {
  std::vector<manifest_entry> out;
  std::map<std::pair<dev_t, ino_t>, std::string> hashed;
  auto add = [&](std::filesystem::path const& p, std::string rel) -> std::error_code {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return last_errno();
    manifest_entry e;
    e.type = type_of(st.st_mode);
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.path = std::move(rel);
    if (e.type == 'f') {
      e.size = static_cast<std::uint64_t>(st.st_size);
      auto key = std::make_pair(st.st_dev, st.st_ino);
      if (auto it = hashed.find(key); it != hashed.end()) {
        e.sha256 = it->second;
      } else {
        auto h = sha256_file(p);
        if (!h) return h.error();
        e.sha256 = *h;
        hashed.emplace(key, *h);
        if (on_bytes) on_bytes(e.size);
      }
    } else if (e.type == 'c' || e.type == 'b') {
      e.size = st.st_rdev;
    } else if (e.type == 'l') {
      std::error_code ec;
      e.target = std::filesystem::read_symlink(p, ec).string();
      if (ec) return ec;
    }
    out.push_back(std::move(e));
    return {};
  };
  if (auto ec = add(dir, std::string{label})) return ec;
  if (out.back().type != 'd') return std::error_code{ENOTDIR, std::generic_category()};
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it{dir, std::filesystem::directory_options::none, ec}, end;
       !ec && it != end; it.increment(ec)) {
    auto rel = std::string{label} + '/' + it->path().lexically_relative(dir).generic_string();
    if (auto e = add(it->path(), std::move(rel))) return e;
  }
  if (ec) return ec;
  std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a.path < b.path; });
  return out;
}

std::vector<manifest_change> compare_manifests(std::vector<manifest_entry> const& expected,
                                               std::vector<manifest_entry> const& actual,
                                               std::function<bool(std::string_view)> const& ignore) {
  std::vector<manifest_change> out;
  std::map<std::string_view, manifest_entry const*> have;
  for (auto const& e : actual) have.emplace(e.path, &e);
  // A path is skipped when `ignore` says so of it or of any directory above it.
  std::set<std::string, std::less<>> ignored;
  auto skip = [&](std::string_view p) {
    for (auto slash = p.find('/'); slash != std::string_view::npos; slash = p.find('/', slash + 1))
      if (ignored.contains(p.substr(0, slash))) return true;
    if (ignored.contains(p)) return true;
    if (ignore && ignore(p)) {
      ignored.emplace(p);
      return true;
    }
    return false;
  };
  auto octal = [](unsigned m) {
    char b[8];
    std::snprintf(b, sizeof b, "%04o", m);
    return std::string{b};
  };
  std::map<std::string_view, bool> seen;
  for (auto const& e : expected) {
    seen.emplace(e.path, true);
    if (skip(e.path)) continue;
    auto it = have.find(e.path);
    if (it == have.end()) {
      out.push_back({manifest_change::kind::missing, e.path, {}});
      continue;
    }
    auto const& a = *it->second;
    std::string d;
    if (a.type != e.type)
      d = std::string{"type "} + e.type + " -> " + a.type;
    else if (e.type == 'f' && (a.size != e.size || a.sha256 != e.sha256))
      d = "content";
    else if (e.type == 'l' && a.target != e.target)
      d = "link target " + e.target + " -> " + a.target;
    else if ((e.type == 'c' || e.type == 'b') && a.size != e.size)
      d = "device number";
    else if (a.mode != e.mode)
      d = "mode " + octal(e.mode) + " -> " + octal(a.mode);
    else if (a.uid != e.uid || a.gid != e.gid)
      d = "owner " + std::to_string(e.uid) + ":" + std::to_string(e.gid) + " -> " + std::to_string(a.uid) + ":" +
          std::to_string(a.gid);
    if (!d.empty()) out.push_back({manifest_change::kind::changed, e.path, std::move(d)});
  }
  for (auto const& a : actual) {
    if (skip(a.path) || seen.contains(a.path)) continue;
    out.push_back({manifest_change::kind::added, a.path, {}});
  }
  std::sort(out.begin(), out.end(), [](auto const& x, auto const& y) { return x.path < y.path; });
  return out;
}

std::string describe(manifest_change const& c) {
  switch (c.what) {
    case manifest_change::kind::missing:
      return "missing " + c.path;
    case manifest_change::kind::added:
      return "added " + c.path;
    case manifest_change::kind::changed:
      return "changed " + c.path + " (" + c.detail + ")";
  }
  return c.path;
}

}  // namespace pinetboot::layout
