#include "pinetboot/layout/registry.hpp"

#include "pinetboot/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace pinetboot::layout {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

std::error_code parse_field(client_record& r, std::string_view key, std::string_view value) {
  if (key == "folder") {
    if (check_folder(value)) return errc::unsafe_path;
    r.folder = std::string{value};
  } else if (key == "mac") {
    auto m = core::mac_address::parse(value);
    if (!m) return errc::bad_registry;
    r.id.mac = *m;
  } else if (key == "serial") {
    auto s = core::pi_serial::parse(value);
    if (!s) return errc::bad_registry;
    r.id.serial = *s;
  } else if (key == "hostname") {
    if (check_hostname(value)) return errc::bad_registry;
    r.id.hostname = std::string{value};
  } else if (key == "ip") {
    auto a = core::ipv4_address::parse(value);
    if (!a) return errc::bad_registry;
    r.id.ip = *a;
  } else if (key == "server") {
    auto a = core::ipv4_address::parse(value);
    if (!a) return errc::bad_registry;
    r.server = *a;
  } else if (key == "image") {
    if (check_image_name(value)) return errc::bad_registry;
    r.image = std::string{value};
  } else if (key == "gen" || key == "prev") {
    unsigned n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || p != value.data() + value.size() || value.empty() || value[0] == '0' ||
        n > max_generation)
      return errc::bad_registry;
    (key == "gen" ? r.generation : r.previous) = n;
  } else if (key == "model") {
    auto m = parse_root_model(value);
    if (!m) return errc::bad_registry;
    r.model = *m;
  } else {
    return errc::bad_registry;
  }
  return {};
}

}  // namespace

result<root_model> parse_root_model(std::string_view s) noexcept {
  if (s == "copy") return root_model::copy;
  if (s == "shared") return root_model::shared;
  return errc::bad_registry;
}

std::error_code check_image_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63 || name.front() == '.' || name.front() == '-')
    return errc::bad_image_name;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return errc::bad_image_name;
  }
  return {};
}

std::error_code check_folder(std::string_view name) noexcept {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return errc::unsafe_path;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || u < 0x20 || u == 0x7f || c == ' ') return errc::unsafe_path;
  }
  return {};
}

result<std::vector<client_record>> parse_registry(std::string_view text) {
  std::vector<client_record> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_space(line[i])) ++i;
      std::size_t start = i;
      while (i < line.size() && !is_space(line[i])) ++i;
      if (i > start) words.push_back(line.substr(start, i - start));
    }
    if (words.empty()) continue;
    if (words[0] != "client") return errc::bad_registry;
    client_record r;
    for (std::size_t w = 1; w < words.size(); ++w) {
      auto eq = words[w].find('=');
      if (eq == std::string_view::npos) return errc::bad_registry;
      if (auto ec = parse_field(r, words[w].substr(0, eq), words[w].substr(eq + 1))) return ec;
    }
    if (r.folder.empty()) return errc::bad_registry;
    // A generation belongs to an image; an image board is always on one.
    if (r.image.empty() != (r.generation == 0) || (r.image.empty() && r.previous != 0))
      return errc::bad_registry;
    out.push_back(std::move(r));
  }
  return out;
}

void append_registry_line(std::string& out, client_record const& r) {
  out += "client folder=";
  out += r.folder;
  if (r.id.serial) out += " serial=" + r.id.serial->to_string();
  if (r.id.mac) out += " mac=" + r.id.mac->to_string(':');
  if (!r.id.hostname.empty()) out += " hostname=" + r.id.hostname;
  if (r.id.ip) out += " ip=" + r.id.ip->to_string();
  if (r.server) out += " server=" + r.server->to_string();
  if (!r.image.empty()) {
    out += " image=" + r.image + " gen=" + std::to_string(r.generation);
    if (r.previous != 0) out += " prev=" + std::to_string(r.previous);
    out += " model=";
    out += to_string(r.model);
  }
  out += '\n';
}

std::string format_registry(std::vector<client_record> const& records) {
  std::string out = "# pinetboot client registry (written by pinetboot-provision; one client per line)\n";
  for (auto const& r : records) append_registry_line(out, r);
  return out;
}

result<std::vector<client_record>> read_registry(std::filesystem::path const& file) {
  auto text = core::read_file(file);
  if (!text) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec) && !ec) return std::vector<client_record>{};
    return std::error_code{EACCES, std::generic_category()};
  }
  return parse_registry(*text);
}

std::error_code write_file_atomic(std::filesystem::path const& file, std::string_view content,
                                  unsigned mode) {
  std::error_code ec;
  if (auto dir = file.parent_path(); !dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return ec;
  }
  return core::replace_file(file, content, mode);
}

}  // namespace pinetboot::layout
