#include "tftp_admission.hpp"

#include <array>
#include <utility>

#include "pinetboot/net/tftp_server.hpp"
#include "pinetboot/tftp/path.hpp"
#include "pinetboot/tftp/roots.hpp"

namespace pinetboot::net::detail {

tftp_opened open_request(tftp::request_view const& req, core::ipv4_address client,
                         tftp_server_options const& opts, int root_fd, int write_fd,
                         tftp::file_cache& cache) {
  std::array<char, tftp::max_path_length + 1> path_buf{};
  auto path = tftp::resolve_path(req.filename, path_buf, opts.paths);
  if (!path) return path.error();
  if (req.op == tftp::opcode::wrq) {
    if (!opts.allow_write) return make_error_code(tftp::errc::access_violation);
    tftp::sink_options so{
        .max_size = opts.max_write_size, .allow_overwrite = opts.write_overwrite, .open = opts.roots.open};
    auto sink = tftp::file_sink::create(write_fd, *path, so);
    if (!sink) return sink.error();
    return std::move(*sink);
  }
  tftp::client_info who{.ip = client};
  auto root = tftp::select_client_root(root_fd, opts.roots, who);
  auto src = tftp::open_for_client(cache, root_fd, opts.roots, who, *path);
  if (!src) return src.error();
  return tftp_read_file{std::move(*src), root ? std::string{root->name.view()} : std::string{}};
}

}  // namespace pinetboot::net::detail
