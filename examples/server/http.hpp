// pinetboot-server's HTTP listener: cpp-httplib (Debian: libcpp-httplib-dev) on a thread of its
// own, serving /metrics, /status and the live page / from snapshots that only the Asio thread
// renders, so the HTTP side never touches the server's state: a request asks the Asio thread
// for a fresh one (requests arriving together share one render) and waits for it up to
// `fresh_wait`, else it serves the last one; a timer renders one every `refresh` anyway. Read
// and write timeouts, a cap on the connections being served or queued, a small request size
// limit: a slow or hostile client cannot hold the listener.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

namespace httplib {
class Server;
}

namespace pinetboot::server {

struct http_options {
  std::size_t threads = 8;  ///< connections served at once
  std::size_t queued = 8;   ///< accepted connections waiting for a thread; more wait in the kernel
  std::chrono::seconds read_timeout{2}, write_timeout{5};  ///< read: a request must arrive this fast
  std::chrono::milliseconds refresh{1000};                 ///< a snapshot rendered this often anyway
  std::chrono::milliseconds fresh_wait{1000};              ///< how long a request waits for a fresh one
};

/// The documents served, rendered on the Asio thread.
struct http_documents {
  std::string metrics, status;
};

class http_endpoint {
 public:
  using render_function = std::function<http_documents()>;
  /// `render` runs on the Asio thread of `io` every `refresh` (and once in start()).
  http_endpoint(asio::io_context& io, render_function render, http_options opts = {});
  ~http_endpoint();
  http_endpoint(http_endpoint const&) = delete;
  http_endpoint& operator=(http_endpoint const&) = delete;

  /// Binds "ADDR:PORT" and starts the thread. Errors: bad address, bind failures.
  [[nodiscard]] std::error_code start(std::string const& listen);
  /// Stops the listener (joins its thread) and the refresh timer.
  void stop();
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  void refresh();
  void schedule();
  /// HTTP thread: a snapshot rendered after this call, or the last one after fresh_wait.
  [[nodiscard]] std::shared_ptr<http_documents const> fresh();

  asio::io_context& io_;
  render_function render_;
  http_options opts_;
  asio::steady_timer timer_;
  std::unique_ptr<httplib::Server> srv_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable rendered_;
  std::shared_ptr<http_documents const> docs_;  ///< guarded by mu_
  std::uint64_t generation_ = 0;                ///< renders so far; guarded by mu_
  bool posted_ = false;                         ///< a render is posted to the Asio thread; guarded by mu_
  bool serving_ = false;                        ///< guarded by mu_
  std::uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace pinetboot::server
