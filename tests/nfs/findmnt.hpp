// Runs util-linux findmnt(8) on fstab text, for tests: `findmnt --verify --verbose --tab-file`
// (libmount's own checks) and `findmnt --tab-file -P` (libmount's parse, to compare with ours).
#pragma once

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "pinetboot/nfs/fstab.hpp"

namespace pinetboot::test {

struct findmnt_report {
  int exit_status = -1;
  int parse_errors = -1, errors = -1, warnings = -1;  // from findmnt's summary line
  std::vector<std::string> error_lines;               // "[E] ..." lines
  std::string output;
};

[[nodiscard]] inline bool have_findmnt() { return std::system("findmnt --version >/dev/null 2>&1") == 0; }

namespace detail {
struct temp_file {
  std::filesystem::path path;
  explicit temp_file(std::string const& content) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pinetboot-fstab-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd >= 0) ::close(fd);
    path = tmpl;
    std::ofstream{path, std::ios::binary} << content;
  }
  temp_file(temp_file const&) = delete;
  temp_file& operator=(temp_file const&) = delete;
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

inline int run(std::string const& cmd, std::string& out) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
}  // namespace detail

/// `findmnt --verify --verbose --tab-file <tmp>` on `fstab`.
[[nodiscard]] inline findmnt_report findmnt_verify(std::string const& fstab) {
  detail::temp_file f{fstab};
  findmnt_report r;
  r.exit_status =
      detail::run("findmnt --verify --verbose --tab-file '" + f.path.string() + "' 2>&1", r.output);
  std::size_t pos = 0;
  while (pos < r.output.size()) {
    auto nl = r.output.find('\n', pos);
    if (nl == std::string::npos) nl = r.output.size();
    std::string line = r.output.substr(pos, nl - pos);
    pos = nl + 1;
    auto e = line.find("[E] ");
    if (e != std::string::npos) r.error_lines.push_back(line.substr(e + 4));
    if (line == "Success, no errors or warnings detected") r.parse_errors = r.errors = r.warnings = 0;
    int a = 0, b = 0, c = 0;
    char w1[16], w2[16], w3[16];
    if (std::sscanf(line.c_str(), "%d parse %15s %d %15s %d %15s", &a, w1, &b, w2, &c, w3) == 6) {
      r.parse_errors = a;
      r.errors = b;
      r.warnings = c;
    }
  }
  return r;
}

/// True if this process may create a private mount namespace (root, not in a locked-down container).
[[nodiscard]] inline bool can_unshare_mounts() { return std::system("unshare -m true >/dev/null 2>&1") == 0; }

/// Like findmnt_verify(), but inside a private mount namespace (`unshare -m`, propagation private)
/// in which every missing mount point in `targets` is created on a tmpfs mounted over its nearest
/// existing ancestor, so that the board's mount points exist and findmnt can exit 0. Targets
/// must be shell-safe ([A-Za-z0-9/_.-]) and have an existing ancestor other than "/".
[[nodiscard]] inline std::optional<findmnt_report> findmnt_verify_with_targets(
    std::string const& fstab, std::vector<std::string> const& targets) {
  detail::temp_file f{fstab};
  std::string script = "set -e; ";
  for (auto const& t : targets) {
    for (char c : t)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '.' && c != '-')
        return std::nullopt;
    std::filesystem::path p{t};
    if (std::filesystem::exists(p)) continue;
    auto anc = p.parent_path();
    while (!anc.empty() && anc != "/" && !std::filesystem::exists(anc)) anc = anc.parent_path();
    if (anc.empty() || anc == "/") return std::nullopt;
    script += "mountpoint -q " + anc.string() + " && [ \"$(stat -f -c %T " + anc.string() +
              ")\" = tmpfs ] || mount -t tmpfs pinetboot-test " + anc.string() + "; mkdir -p " + t + "; ";
  }
  script += "exec findmnt --verify --verbose --tab-file " + f.path.string();
  findmnt_report r;
  r.exit_status = detail::run("unshare -m sh -c '" + script + "' 2>&1", r.output);
  if (r.output.find("Success, no errors or warnings detected") != std::string::npos)
    r.parse_errors = r.errors = r.warnings = 0;
  return r;
}

/// libmount's view of `fstab`: `findmnt --tab-file <tmp> -P -o SOURCE,TARGET,FSTYPE,OPTIONS,FREQ,PASSNO`.
[[nodiscard]] inline std::optional<std::vector<nfs::fstab_entry>> findmnt_entries(std::string const& fstab) {
  detail::temp_file f{fstab};
  std::string out;
  if (detail::run(
          "findmnt --tab-file '" + f.path.string() + "' -P -o SOURCE,TARGET,FSTYPE,OPTIONS,FREQ,PASSNO",
          out) != 0)
    return std::nullopt;
  std::vector<nfs::fstab_entry> entries;
  std::size_t pos = 0;
  while (pos < out.size()) {
    nfs::fstab_entry e;
    std::string* fields[] = {&e.spec, &e.file, &e.vfstype, &e.mntops};
    std::string freq, passno;
    std::string* all[] = {fields[0], fields[1], fields[2], fields[3], &freq, &passno};
    for (auto* dst : all) {
      auto q = out.find("=\"", pos);
      if (q == std::string::npos) return std::nullopt;
      pos = q + 2;
      while (pos < out.size() && out[pos] != '"') {
        if (out[pos] == '\\' && pos + 3 < out.size() && out[pos + 1] == 'x') {
          *dst += static_cast<char>(std::stoi(out.substr(pos + 2, 2), nullptr, 16));
          pos += 4;
        } else {
          *dst += out[pos++];
        }
      }
      ++pos;
    }
    e.freq = std::stoi(freq);
    e.passno = std::stoi(passno);
    entries.push_back(std::move(e));
    pos = out.find('\n', pos);
    if (pos == std::string::npos) break;
    ++pos;
  }
  return entries;
}

}  // namespace pinetboot::test
