#include "http.hpp"

#include <charconv>
#include <string_view>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <vector>

#include <httplib.h>
#include <asio/post.hpp>

#include "status.hpp"

namespace pinetboot::server {
namespace {

/// httplib's ThreadPool queues without limit. This one holds at most `queued` accepted
/// connections: when full, enqueue() blocks httplib's accept loop, so further clients wait in
/// the kernel's listen backlog (and are refused when it is full) instead of costing us a
/// descriptor and memory each. Every served connection ends within the read/write timeouts,
/// so the queue always drains.
class bounded_pool final : public httplib::TaskQueue {
 public:
  bounded_pool(std::size_t threads, std::size_t queued) : queued_{queued == 0 ? 1 : queued} {
    for (std::size_t i = 0; i < (threads == 0 ? 1 : threads); ++i) workers_.emplace_back([this] { work(); });
  }
  ~bounded_pool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lk{mu_};
    room_.wait(lk, [&] { return jobs_.size() < queued_ || stop_; });
    if (stop_) {
      lk.unlock();
      fn();  // closes the connection's socket (the server is stopping: it answers nothing slow)
      return;
    }
    jobs_.push_back(std::move(fn));
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lk{mu_};
      if (stop_ && workers_.empty()) return;
      stop_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lk{mu_};
        ready_.wait(lk, [&] { return !jobs_.empty() || stop_; });
        if (jobs_.empty()) return;  // stopping, nothing left
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      fn();
    }
  }

  std::size_t queued_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

}  // namespace

http_endpoint::http_endpoint(asio::io_context& io, render_function render, http_options opts)
    : io_{io}, render_{std::move(render)}, opts_{opts}, timer_{io} {}

http_endpoint::~http_endpoint() { stop(); }

std::error_code http_endpoint::start(std::string const& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return std::make_error_code(std::errc::invalid_argument);
  auto host = listen.substr(0, colon);
  int port = -1;
  auto digits = std::string_view{listen}.substr(colon + 1);
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (err != std::errc{} || end != digits.data() + digits.size() || port < 0 || port > 65535)
    return std::make_error_code(std::errc::invalid_argument);

  refresh();  // something to serve from the first request on
  srv_ = std::make_unique<httplib::Server>();
  auto& s = *srv_;
  auto threads = opts_.threads, queued = opts_.queued;
  s.new_task_queue = [threads, queued] { return new bounded_pool(threads, queued); };
  s.set_read_timeout(opts_.read_timeout);
  s.set_write_timeout(opts_.write_timeout);
  s.set_keep_alive_max_count(8);
  s.set_keep_alive_timeout(2);
  s.set_payload_max_length(4096);
  auto snapshot = [this] { return fresh(); };
  s.Get("/metrics", [snapshot](httplib::Request const&, httplib::Response& res) {
    auto d = snapshot();
    res.set_content(d ? d->metrics : std::string{}, "text/plain; version=0.0.4");
  });
  s.Get("/status", [snapshot](httplib::Request const&, httplib::Response& res) {
    auto d = snapshot();
    res.set_header("Cache-Control", "no-store");
    res.set_content(d ? d->status : std::string{"{}"}, "application/json");
  });
  s.Get("/", [](httplib::Request const&, httplib::Response& res) {
    auto page = status_page_html();
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  });
  if (!s.bind_to_port(host, port)) return std::make_error_code(std::errc::address_in_use);
  port_ = static_cast<std::uint16_t>(port);
  running_ = true;
  {
    std::lock_guard lk{mu_};
    serving_ = true;
  }
  thread_ = std::thread{[this] { srv_->listen_after_bind(); }};
  schedule();
  return {};
}

void http_endpoint::stop() {
  if (!running_) return;
  running_ = false;
  {
    std::lock_guard lk{mu_};
    serving_ = false;  // waiting requests take the last snapshot
  }
  rendered_.notify_all();
  timer_.cancel();
  srv_->stop();
  if (thread_.joinable()) thread_.join();
  srv_.reset();
}

void http_endpoint::refresh() {
  auto d = std::make_shared<http_documents const>(render_());
  {
    std::lock_guard lk{mu_};
    docs_ = std::move(d);
    ++generation_;
    posted_ = false;
  }
  rendered_.notify_all();
}

std::shared_ptr<http_documents const> http_endpoint::fresh() {
  std::unique_lock lk{mu_};
  // The next render to finish will do: renders and the events they show both run on the Asio
  // thread, so one in progress now already includes everything handled before this request.
  auto want = generation_ + 1;
  if (!posted_ && serving_) {
    posted_ = true;
    asio::post(io_, [this] {
      if (running_) refresh();
    });
  }
  rendered_.wait_for(lk, opts_.fresh_wait, [&] { return generation_ >= want || !serving_; });
  return docs_;
}

void http_endpoint::schedule() {
  timer_.expires_after(opts_.refresh);
  timer_.async_wait([this](std::error_code ec) {
    if (ec || !running_) return;
    refresh();
    schedule();
  });
}

}  // namespace pinetboot::server
