#include "pinetboot/nfs/exports_file.hpp"

#include "pinetboot/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <utility>

namespace pinetboot::nfs {
namespace {

struct line_span {
  std::size_t begin;  // offset of the first byte
  std::size_t end;    // offset just past the line's '\n' (or the end of the text)
};

std::vector<line_span> split_lines(std::string_view s) {
  std::vector<line_span> lines;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t nl = s.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? s.size() : nl + 1;
    lines.push_back({pos, end});
    pos = end;
  }
  return lines;
}

bool starts_with_marker(std::string_view line, std::string_view marker) {
  std::size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  line.remove_prefix(i);
  // "# BEGIN pinetboot managed block" is enough to recognise a (possibly edited) marker.
  auto key = marker.substr(0, marker.find(" --"));
  return line.starts_with(key);
}

struct block_pos {
  std::optional<std::size_t> begin_line, end_line;
};

result<block_pos> find_block(std::string_view text, std::vector<line_span> const& lines) {
  block_pos b;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto line = text.substr(lines[i].begin, lines[i].end - lines[i].begin);
    if (starts_with_marker(line, managed_block_begin)) {
      if (b.begin_line) return errc::broken_managed_block;
      b.begin_line = i;
    } else if (starts_with_marker(line, managed_block_end)) {
      if (b.end_line || !b.begin_line) return errc::broken_managed_block;
      b.end_line = i;
    }
  }
  if (b.begin_line.has_value() != b.end_line.has_value()) return errc::broken_managed_block;
  return b;
}

std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

}  // namespace

result<std::string> update_managed_block(std::string_view existing, std::span<export_entry const> entries,
                                         export_policy const& policy, std::vector<std::string>* warnings) {
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      if (entries[i].path != entries[j].path) continue;
      for (auto const& a : entries[i].clients)
        for (auto const& b : entries[j].clients)
          if (a.host == b.host) return errc::duplicate_export;
    }
  for (auto const& e : entries)
    for (std::size_t i = 0; i < e.clients.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (e.clients[i].host == e.clients[j].host) return errc::duplicate_export;

  std::string block;
  block += managed_block_begin;
  block += '\n';
  std::vector<std::string> w;
  for (auto const& e : entries)
    if (auto ec = append_exports_line(block, e, policy, &w)) return ec;
  block += managed_block_end;
  block += '\n';

  auto lines = split_lines(existing);
  auto pos = find_block(existing, lines);
  if (!pos) return pos.error();
  std::string out;
  if (!pos->begin_line) {
    out.reserve(existing.size() + block.size() + 1);
    out += existing;
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += block;
  } else {
    std::size_t cut_begin = lines[*pos->begin_line].begin;
    std::size_t cut_end = lines[*pos->end_line].end;
    out += existing.substr(0, cut_begin);
    out += block;
    out += existing.substr(cut_end);
  }
  if (warnings != nullptr) warnings->insert(warnings->end(), w.begin(), w.end());
  return out;
}

result<std::vector<export_entry>> read_managed_block(std::string_view existing) {
  auto lines = split_lines(existing);
  auto pos = find_block(existing, lines);
  if (!pos) return pos.error();
  if (!pos->begin_line) return std::vector<export_entry>{};
  std::size_t from = lines[*pos->begin_line].end;
  std::size_t to = lines[*pos->end_line].begin;
  return parse_exports(existing.substr(from, to - from));
}

std::error_code write_file_atomically(std::filesystem::path const& path, std::string_view content,
                                      bool backup) {
  std::error_code ec;
  std::filesystem::path target = path;
  if (std::filesystem::is_symlink(path, ec)) {
    target = std::filesystem::canonical(path, ec);
    if (ec) return ec;
  }
  struct stat st {};
  bool exists = ::stat(target.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return last_error();
  mode_t mode = exists ? (st.st_mode & 07777) : 0644;
  std::optional<core::file_owner> owner;
  if (exists) owner = core::file_owner{st.st_uid, st.st_gid};
  if (exists && backup) {
    auto previous = core::read_file(target);
    if (!previous) return previous.error();
    auto bak = target;
    bak += ".pinetboot.bak";
    if (auto bec = core::replace_file(bak, *previous, mode, owner)) return bec;
  }
  return core::replace_file(target, content, mode, owner);
}

}  // namespace pinetboot::nfs
