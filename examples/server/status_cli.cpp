// `pinetboot-server status`: the fleet table in a terminal, from a running server's /status.
#include "status_cli.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "../common/args.hpp"

namespace pinetboot::server {
namespace {

std::string text(nlohmann::json const& b, char const* key) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string when(nlohmann::json const& v) {
  if (!v.is_number_integer()) return "-";
  std::time_t t = static_cast<std::time_t>(v.get<std::int64_t>() / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string secs(nlohmann::json const& v) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", v.get<double>() / 1000.0);
  return buf;
}

/// The table of the page (status_page_html): one line per board.
std::string table(nlohmann::json const& doc) {
  std::vector<std::vector<std::string>> rows{
      {"NAME", "MAC", "SERIAL", "MODEL", "STATE", "GENERATION", "LAST BOOT", "DURATION", "DETAIL"}};
  for (auto const& b : doc.at("records")) {
    std::string gen =
        b.value("booted_generation", nlohmann::json{}).is_null() ? "-" : text(b, "booted_generation");
    if (!text(b, "image").empty()) gen = text(b, "image") + " " + gen;
    if (b.value("stale", false)) gen += " (" + text(b, "stale_reason") + ")";
    std::string state = text(b, "state");
    std::string detail = state == "failed" || state == "stuck" ? text(b, "detail") : text(b, "failure");
    if (state != "failed" && !detail.empty()) detail = "last failure: " + detail;
    if (state == "stuck") detail = text(b, "detail");
    rows.push_back({text(b, "name").empty() ? "(unknown)" : text(b, "name"), text(b, "mac"),
                    text(b, "serial").empty() ? "-" : text(b, "serial"),
                    text(b, "model").empty() ? "-" : text(b, "model"), state, gen,
                    when(b.value("last_boot_ms", nlohmann::json{})),
                    secs(b.value("last_boot_duration_ms", nlohmann::json{})), detail});
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (auto const& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string o;
  for (auto const& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o += line + "\n";
  }
  std::string summary;
  for (auto const& [k, v] : doc.at("by_state").items())
    if (v.is_number() && v.get<std::int64_t>() > 0)
      summary += (summary.empty() ? "" : ", ") + v.dump() + " " + k;
  o += std::to_string(doc.at("records").size()) + " boards" + (summary.empty() ? "" : ": " + summary) + "\n";
  return o;
}

}  // namespace

int status_command(int argc, char** argv) {
  examples::args a{
      "pinetboot-server status",
      "Prints the fleet's boards (name, MAC, serial, model, state, generation, last boot, failure)\n"
      "from a running pinetboot-server's /status."};
  a.option("url", "URL", "the server's HTTP listener ([server] metrics)", "http://127.0.0.1:9110")
      .flag("json", "print the /status document as it came");
  std::string url;
  try {
    if (auto rc = a.parse(argc, argv)) return *rc;
    url = a.get("url");
  } catch (std::invalid_argument const& e) {
    std::fprintf(stderr, "pinetboot-server status: %s\n", e.what());
    return examples::exit_usage;
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  httplib::Client cli{url};
  if (!cli.is_valid()) {
    std::fprintf(stderr, "pinetboot-server status: bad URL %s\n", url.c_str());
    return examples::exit_usage;
  }
  cli.set_connection_timeout(std::chrono::seconds(5));
  cli.set_read_timeout(std::chrono::seconds(10));
  auto res = cli.Get("/status");
  if (!res) {
    std::fprintf(stderr, "pinetboot-server status: %s/status: %s\n", url.c_str(),
                 httplib::to_string(res.error()).c_str());
    return 1;
  }
  if (res->status != 200) {
    std::fprintf(stderr, "pinetboot-server status: %s/status: HTTP %d\n", url.c_str(), res->status);
    return 1;
  }
  if (a.has("json")) {
    std::printf("%s\n", res->body.c_str());
    return 0;
  }
  try {
    auto doc = nlohmann::json::parse(res->body);
    std::fputs(table(doc).c_str(), stdout);
  } catch (nlohmann::json::exception const& e) {
    std::fprintf(stderr, "pinetboot-server status: %s/status is not a status document: %s\n", url.c_str(),
                 e.what());
    return 1;
  }
  return 0;
}

}  // namespace pinetboot::server
