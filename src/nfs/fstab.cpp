#include "pinetboot/nfs/fstab.hpp"

#include <cstdio>

#include "pinetboot/core/address.hpp"
#include "text.hpp"

namespace pinetboot::nfs {
namespace {

using detail::is_digit;
using detail::is_octal;

// '\n' only ends a line; parse_fstab_entry() accepts a line with its newline.
constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// libmount's unmangle(): "\ooo" is decoded (truncated to 8 bits); any other backslash is literal.
std::string unmangle(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out += static_cast<char>(static_cast<unsigned char>(v & 0xff));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<int> parse_int(std::string_view s) noexcept {
  bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  auto v = detail::parse_decimal(s, 999999999);
  if (!v) return std::nullopt;
  return neg ? -static_cast<int>(*v) : static_cast<int>(*v);
}

void append_field(std::string& out, std::string_view f) {
  for (char c : f) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\' || c == '\r' || c == '\v' || c == '\f' || c == '#')
      detail::append_octal(out, static_cast<unsigned char>(c));
    else
      out += c;
  }
}

std::string_view normalize_target(std::string_view t) noexcept {
  while (t.size() > 1 && t.back() == '/') t.remove_suffix(1);
  return t;
}

bool is_sd_spec(std::string_view s) noexcept {
  for (std::string_view p : {"PARTUUID=", "UUID=", "LABEL=", "PARTLABEL=", "/dev/mmcblk", "/dev/disk/by-"})
    if (s.starts_with(p)) return true;
  return false;
}

bool is_valid_tmpfs_size(std::string_view s) noexcept {
  if (s.empty()) return false;
  char last = s.back();
  if (last == 'k' || last == 'K' || last == 'm' || last == 'M' || last == 'g' || last == 'G' || last == '%')
    s.remove_suffix(1);
  return detail::parse_decimal(s, 999999999999ULL).has_value();
}

}  // namespace

result<fstab_entry> parse_fstab_entry(std::string_view line) {
  std::string_view fields[6];
  std::size_t n = 0;
  std::size_t pos = 0;
  while (true) {
    while (pos < line.size() && is_blank(line[pos])) ++pos;
    if (pos >= line.size()) break;
    std::size_t end = pos;
    while (end < line.size() && !is_blank(line[end])) ++end;
    auto tok = line.substr(pos, end - pos);
    if (tok.front() == '#') {
      if (n == 0 || n >= 3) break;  // a comment line, or a comment after the fields
      return errc::invalid_syntax;
    }
    if (n == 6) return errc::invalid_syntax;
    fields[n++] = tok;
    pos = end;
  }
  if (n < 3) return errc::invalid_syntax;
  fstab_entry e;
  e.spec = unmangle(fields[0]);
  e.file = unmangle(fields[1]);
  e.vfstype = unmangle(fields[2]);
  if (n > 3) e.mntops = unmangle(fields[3]);
  for (auto const* f : {&e.spec, &e.file, &e.vfstype, &e.mntops})
    if (f->find('\0') != std::string::npos) return errc::forbidden_character;
  if (n > 4) {
    auto v = parse_int(fields[4]);
    if (!v) return errc::invalid_syntax;
    e.freq = *v;
  }
  if (n > 5) {
    auto v = parse_int(fields[5]);
    if (!v) return errc::invalid_syntax;
    e.passno = *v;
  }
  return e;
}

result<std::vector<fstab_line>> parse_fstab(std::string_view text, std::size_t* error_line) {
  std::vector<fstab_line> lines;
  std::size_t pos = 0;
  std::size_t number = 0;
  while (pos < text.size()) {
    ++number;
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    auto raw = text.substr(pos, end - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    fstab_line l{std::string{raw}, std::nullopt};
    std::size_t first = 0;
    while (first < raw.size() && is_blank(raw[first])) ++first;
    if (first < raw.size() && raw[first] != '#') {
      auto e = parse_fstab_entry(raw);
      if (!e) {
        if (error_line != nullptr) *error_line = number;
        return e.error();
      }
      l.entry = std::move(*e);
    }
    lines.push_back(std::move(l));
  }
  return lines;
}

std::error_code append_fstab_entry(std::string& out, fstab_entry const& e) {
  if (e.spec.empty() || e.file.empty() || e.vfstype.empty()) return errc::empty_field;
  if (e.mntops.empty() && (e.freq != 0 || e.passno != 0)) return errc::empty_field;
  for (auto const* f : {&e.spec, &e.file, &e.vfstype, &e.mntops})
    if (f->find('\0') != std::string::npos) return errc::forbidden_character;
  append_field(out, e.spec);
  out += ' ';
  append_field(out, e.file);
  out += ' ';
  append_field(out, e.vfstype);
  if (!e.mntops.empty()) {
    out += ' ';
    append_field(out, e.mntops);
    out += ' ';
    out += std::to_string(e.freq);
    out += ' ';
    out += std::to_string(e.passno);
  }
  out += '\n';
  return {};
}

result<std::string> format_fstab_entry(fstab_entry const& e) {
  std::string s;
  if (auto ec = append_fstab_entry(s, e)) return ec;
  return s;
}

result<std::string> make_netboot_fstab(std::string_view existing, netboot_fstab_options const& opts) {
  if (!core::ipv4_address::parse(opts.server) && !detail::is_hostname(opts.server)) return errc::invalid_host;
  if (!opts.boot_export.empty())
    if (auto ec = detail::check_absolute_path(opts.boot_export, 1024)) return ec;
  if (opts.nfs_options.empty()) return errc::empty_field;
  std::string_view const boot_target = opts.boot_at == boot_mountpoint::boot ? "/boot" : "/boot/firmware";

  std::vector<fstab_entry> ours;
  if (!opts.boot_export.empty())
    ours.push_back(
        {opts.server + ":" + opts.boot_export, std::string{boot_target}, "nfs", opts.nfs_options, 0, 0});
  for (auto const& t : opts.tmpfs) {
    if (auto ec = detail::check_absolute_path(t.path, 4096)) return ec;
    if (!is_valid_tmpfs_size(t.size)) return errc::invalid_option_value;
    std::string o = "defaults,nosuid,nodev";
    if (t.mode) {
      if (*t.mode > 07777) return errc::invalid_option_value;
      char buf[16];
      std::snprintf(buf, sizeof buf, ",mode=%04o", static_cast<unsigned>(*t.mode));
      o += buf;
    }
    o += ",size=" + t.size;
    ours.push_back({"tmpfs", t.path, "tmpfs", std::move(o), 0, 0});
  }
  for (std::size_t i = 0; i < ours.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (normalize_target(ours[i].file) == normalize_target(ours[j].file)) return errc::conflicting_options;

  auto lines = parse_fstab(existing);
  if (!lines) return lines.error();
  std::string out;
  out.reserve(existing.size() + 256);
  for (auto const& l : *lines) {
    if (l.entry) {
      auto target = normalize_target(l.entry->file);
      bool sd_system =
          (target == "/" || target == "/boot" || target == "/boot/firmware") && is_sd_spec(l.entry->spec);
      bool replaced = false;
      for (auto const& o : ours) replaced = replaced || normalize_target(o.file) == target;
      if (sd_system || replaced) continue;
    }
    out += l.text;
    out += '\n';
  }
  for (auto const& o : ours)
    if (auto ec = append_fstab_entry(out, o)) return ec;
  return out;
}

}  // namespace pinetboot::nfs
