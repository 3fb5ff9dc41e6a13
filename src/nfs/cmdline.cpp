#include "pinetboot/nfs/cmdline.hpp"

#include <vector>

#include "text.hpp"

namespace pinetboot::nfs {
namespace {

constexpr std::size_t max_cmdline = 2047;

std::string_view key_of(std::string_view tok) { return tok.substr(0, tok.find('=')); }

bool is_dropped(std::string_view tok, cmdline_options const& opts) {
  for (auto const& e : opts.extra)
    if (key_of(e) == key_of(tok)) return true;
  if (!opts.init.empty() && key_of(tok) == "init") return true;
  for (std::string_view exact : {"rw", "ro", "rootwait"})
    if (tok == exact) return true;
  auto eq = tok.find('=');
  if (eq == std::string_view::npos) return false;
  auto key = tok.substr(0, eq);
  auto value = tok.substr(eq + 1);
  for (std::string_view k : {"root", "rootfstype", "rootflags", "fsck.repair", "fsck.mode", "nfsroot", "ip"})
    if (key == k) return true;
  // Both resize the SD card's root partition on first boot: meaningless on NFS.
  return key == "init" && (value.ends_with("/firstboot") || value.ends_with("init_resize.sh"));
}

}  // namespace

result<std::string> make_netboot_cmdline(std::string_view original, cmdline_options const& opts) {
  if (opts.initramfs && (opts.version != nfs_version::v3 || opts.proto != nfs_proto::automatic))
    return errc::nfs_version_needs_no_initramfs;
  if (opts.version == nfs_version::v4_1 && opts.proto == nfs_proto::udp) return errc::conflicting_options;
  if (auto ec = detail::check_absolute_path(opts.root_path, 1024)) return ec;
  for (char c : opts.root_path) {
    auto u = static_cast<unsigned char>(c);
    // ',' separates nfsroot options, '%s' is replaced by the client IP, quotes/backslash and
    // whitespace would split the kernel's parameter.
    if (u <= 0x20 || u >= 0x7f || c == ',' || c == '"' || c == '\\' || c == '%')
      return errc::forbidden_character;
  }
  if (opts.ip.empty()) return errc::empty_field;
  for (char c : opts.ip) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\') return errc::forbidden_character;
  }

  std::vector<std::string_view> kept;
  std::size_t insert_at = std::string_view::npos;
  std::size_t pos = 0;
  while (true) {
    while (pos < original.size() && detail::is_space(original[pos])) ++pos;
    if (pos >= original.size()) break;
    std::size_t end = pos;
    bool quoted = false;
    while (end < original.size() && (quoted || !detail::is_space(original[end]))) {
      if (original[end] == '"') quoted = !quoted;
      ++end;
    }
    if (quoted) return errc::invalid_syntax;
    auto tok = original.substr(pos, end - pos);
    pos = end;
    // A quoted newline would split the single line the firmware passes to the kernel.
    if (tok.find_first_of(std::string_view{"\0\n\r", 3}) != std::string_view::npos)
      return errc::forbidden_character;
    if (is_dropped(tok, opts)) {
      if (insert_at == std::string_view::npos) insert_at = kept.size();
      continue;
    }
    kept.push_back(tok);
  }
  if (insert_at == std::string_view::npos) insert_at = kept.size();

  std::string nfsroot = "nfsroot=" + opts.server.to_string() + ":" + opts.root_path;
  nfsroot += opts.version == nfs_version::v3 ? ",vers=3" : ",vers=4.1";
  if (!opts.initramfs) nfsroot += opts.proto == nfs_proto::udp ? ",proto=udp" : ",proto=tcp";
  for (auto const& e : opts.extra) {
    if (e.empty() || e.front() == '=') return errc::empty_field;
    for (char c : e) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\') return errc::forbidden_character;
    }
  }
  for (char c : opts.init) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\') return errc::forbidden_character;
  }
  std::string ip = "ip=" + opts.ip;
  std::string init = opts.init.empty() ? std::string{} : "init=" + opts.init;
  std::vector<std::string_view> ours = {"root=/dev/nfs", nfsroot, opts.read_only ? "ro" : "rw", ip, "rootwait"};
  if (!init.empty()) ours.push_back(init);
  for (auto const& e : opts.extra) ours.push_back(e);

  std::string out;
  auto add = [&](std::string_view t) {
    if (!out.empty()) out += ' ';
    out += t;
  };
  for (std::size_t i = 0; i <= kept.size(); ++i) {
    if (i == insert_at)
      for (auto t : ours) add(t);
    if (i < kept.size()) add(kept[i]);
  }
  if (out.size() > max_cmdline) return errc::too_long;
  out += '\n';
  return out;
}

}  // namespace pinetboot::nfs
