/// @file
/// @brief The client registry: one line per provisioned client in a small text file
/// (`<prefix>/var/lib/pinetboot/clients.conf`), what `pinetboot-provision list` shows and what
/// the servers read to map a MAC or serial to its folder.
///
/// Format (one record per line, '#' comments, fields in any order, unknown keys rejected):
/// @code
/// client folder=abcd1234 serial=abcd1234 mac=dc:a6:32:01:36:c2 hostname=pi1 ip=10.0.0.5 server=10.0.0.1
/// client folder=pi-02 hostname=pi-02 ip=10.0.0.6 server=10.0.0.1 image=raspios gen=4 prev=3 model=shared
/// @endcode
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"
#include "pinetboot/layout/identity.hpp"

namespace pinetboot::layout {

/// How a board provisioned from an image gets its root file system.
enum class root_model : std::uint8_t {
  copy,    ///< a writable per-board copy of its generation's root
  shared,  ///< its generation's root read-only, shared by the fleet, plus a per-board state tree
};
[[nodiscard]] constexpr std::string_view to_string(root_model m) noexcept {
  return m == root_model::shared ? "shared" : "copy";
}
/// Parses `copy` or `shared`. Errors: errc::bad_registry.
[[nodiscard]] result<root_model> parse_root_model(std::string_view s) noexcept;

/// One provisioned (or to-be-provisioned) client.
struct client_record {
  std::string folder;  ///< folder under both roots; empty in a desired record = derive from the scheme
  client_identity id;
  std::optional<core::ipv4_address> server;  ///< NFS/TFTP server address written into cmdline/fstab
  /// The image the board runs (empty: built from a golden tree, not managed by generations).
  std::string image;
  unsigned generation = 0;  ///< the generation it is on (with `image`)
  unsigned previous = 0;    ///< the generation `rollback` returns it to (0: none)
  root_model model = root_model::copy;

  friend bool operator==(client_record const&, client_record const&) = default;
};

/// Checks that `name` is one path component we may create: non-empty, at most 255 bytes, not
/// "." or "..", no '/', no NUL, no control characters. Errors: errc::unsafe_path.
[[nodiscard]] std::error_code check_folder(std::string_view name) noexcept;

/// Highest generation number an image can reach.
inline constexpr unsigned max_generation = 999999;

/// Checks an image name: 1..63 of letters, digits, '-', '_', '.', not starting with '.' or
/// '-' (one path component). Errors: errc::bad_image_name.
[[nodiscard]] std::error_code check_image_name(std::string_view name) noexcept;

/// Parses registry text. Errors: errc::bad_registry (with no partial result), errc::unsafe_path.
[[nodiscard]] result<std::vector<client_record>> parse_registry(std::string_view text);

/// Appends one `client ...` line (with '\n') for `r`.
void append_registry_line(std::string& out, client_record const& r);
/// The whole file: a header comment and one line per record.
[[nodiscard]] std::string format_registry(std::vector<client_record> const& records);

/// Reads and parses `file`; a missing file is an empty registry. Errors: errno codes,
/// parse_registry()'s.
[[nodiscard]] result<std::vector<client_record>> read_registry(std::filesystem::path const& file);

/// Replaces `file` atomically: writes `<file>.tmp.<pid>`, fsyncs it, renames it over `file`
/// and fsyncs the directory (created if missing). `mode` is the new file's permission bits.
/// Errors: errno codes.
[[nodiscard]] std::error_code write_file_atomic(std::filesystem::path const& file, std::string_view content,
                                                unsigned mode = 0644);

}  // namespace pinetboot::layout
