#include "pinetboot/layout/plan.hpp"

#include "pinetboot/core/file.hpp"
#include "text_file.hpp"

#include <algorithm>
#include <set>

namespace pinetboot::layout {
namespace {

std::string identity_text(client_record const& r) {
  std::string line;
  append_registry_line(line, r);
  // "client folder=x a=b ...\n" -> "a=b ..."
  auto sp = line.find(' ', 7);
  line.pop_back();
  return sp == std::string::npos ? std::string{} : line.substr(sp + 1);
}

std::error_code list_dirs(std::filesystem::path const& root, bool boot, snapshot& snap) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return {};
  for (std::filesystem::directory_iterator it{root, ec}; !ec && it != std::filesystem::directory_iterator{};
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name == staging_dir_name) continue;
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    auto& f = snap.folders[name];
    (boot ? f.boot : f.root) = true;
  }
  return ec;
}

}  // namespace

std::string_view to_string(step_kind k) noexcept {
  switch (k) {
    case step_kind::finish_publish:
      return "finish-publish";
    case step_kind::remove_stale:
      return "remove-stale";
    case step_kind::stage:
      return "stage";
    case step_kind::publish:
      return "publish";
    case step_kind::reconfigure:
      return "reconfigure";
    case step_kind::remove:
      return "remove";
    case step_kind::write_registry:
      return "write-registry";
  }
  return "?";
}

result<publish_journal> parse_journal(std::string_view text) {
  publish_journal j;
  bool has_folder = false;
  auto ec = detail::for_each_pair(text, errc::bad_registry, [&](std::string_view key, std::string_view value) -> std::error_code {
    if (key == "folder") {
      if (check_folder(value)) return errc::unsafe_path;
      j.folder = std::string{value};
      has_folder = true;
    } else if (key == "boot") {
      j.boot_staging = std::string{value};
    } else if (key == "root") {
      j.root_staging = std::string{value};
    } else if (key == "replace") {
      j.replace = value == "1";
    } else {
      return errc::bad_registry;
    }
    return {};
  });
  if (ec) return ec;
  if (!has_folder || !j.boot_staging.is_absolute() || !j.root_staging.is_absolute())
    return errc::bad_registry;
  return j;
}

std::string format_journal(publish_journal const& j) {
  return "folder=" + j.folder + "\nboot=" + j.boot_staging.string() + "\nroot=" + j.root_staging.string() +
         "\nreplace=" + (j.replace ? "1" : "0") + "\n";
}

result<snapshot> scan(layout_config const& config) {
  snapshot snap;
  auto reg = read_registry(config.registry_file());
  if (!reg) return reg.error();
  snap.registered = std::move(*reg);
  if (auto ec = list_dirs(config.tftp_dir(), true, snap)) return ec;
  if (auto ec = list_dirs(config.nfs_dir(), false, snap)) return ec;

  std::vector<std::filesystem::path> entries;
  for (auto const& dir : {config.boot_staging_dir(), config.root_staging_dir()}) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    for (std::filesystem::directory_iterator it{dir, ec}; !ec && it != std::filesystem::directory_iterator{};
         it.increment(ec))
      entries.push_back(it->path());
    if (ec) return ec;
  }
  std::sort(entries.begin(), entries.end());
  std::set<std::filesystem::path> referenced;
  for (auto const& p : entries) {
    if (p.extension() != ".journal") continue;
    auto j = parse_journal(core::read_file_or_empty(p));
    // A journal may only move entries of our own staging folders into place.
    if (j && (j->boot_staging.parent_path() != config.boot_staging_dir() ||
              j->root_staging.parent_path() != config.root_staging_dir() ||
              p.filename() != j->folder + ".journal"))
      j = errc::unsafe_path;
    if (!j) continue;  // unreadable or untrusted: reported as stale below, with its staging dirs
    referenced.insert(p);
    referenced.insert(j->boot_staging);
    referenced.insert(j->root_staging);
    snap.journals.push_back(std::move(*j));
  }
  for (auto const& p : entries)
    if (!referenced.contains(p)) snap.stale.push_back(p);
  return snap;
}

result<std::vector<step>> plan(std::span<const client_record> desired, snapshot const& current,
                               plan_options const& options) {
  // Name every desired client and reject collisions before planning anything.
  std::vector<client_record> want(desired.begin(), desired.end());
  std::map<std::string, std::size_t> by_folder;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].folder.empty()) {
      auto f = folder_name(want[i].id, options.scheme);
      if (!f) return f.error();
      want[i].folder = std::move(*f);
    }
    if (auto ec = check_folder(want[i].folder)) return ec;
    if (!by_folder.emplace(want[i].folder, i).second) return errc::folder_collision;
  }

  std::vector<step> steps;
  auto folders = current.folders;
  for (auto const& j : current.journals) {
    step s;
    s.kind = step_kind::finish_publish;
    s.folder = j.folder;
    s.journal = j;
    steps.push_back(std::move(s));
    folders[j.folder] = {true, true};  // rolled forward before anything else runs
  }
  for (auto const& p : current.stale) {
    step s;
    s.kind = step_kind::remove_stale;
    s.path = p;
    steps.push_back(std::move(s));
  }

  auto registered = [&](std::string const& folder) -> client_record const* {
    for (auto const& r : current.registered)
      if (r.folder == folder) return &r;
    return nullptr;
  };

  // Removals first: a freed folder can then be reused by a new client in the same run.
  for (auto const& r : current.registered) {
    if (by_folder.contains(r.folder)) continue;
    step s;
    s.kind = step_kind::remove;
    s.folder = r.folder;
    s.client = r;
    steps.push_back(std::move(s));
  }
  // A journaled folder is ours even before the registry names it (the registry is written last).
  std::set<std::string> journaled;
  for (auto const& j : current.journals) {
    journaled.insert(j.folder);
    if (by_folder.contains(j.folder) || registered(j.folder) != nullptr) continue;
    step s;
    s.kind = step_kind::remove;
    s.folder = j.folder;
    steps.push_back(std::move(s));
  }

  for (auto const& w : want) {
    bool const forced = options.force.contains(w.folder);
    auto const* reg = registered(w.folder);
    folder_state on_disk{};
    if (auto it = folders.find(w.folder); it != folders.end()) on_disk = it->second;
    bool complete = on_disk.boot && on_disk.root;
    bool any = on_disk.boot || on_disk.root;
    if (reg != nullptr && complete && !forced) {
      if (!(*reg == w)) {
        step s;
        s.kind = step_kind::reconfigure;
        s.folder = w.folder;
        s.client = w;
        steps.push_back(std::move(s));
      }
      continue;
    }
    if (reg == nullptr && journaled.contains(w.folder) && !forced) {
      // Interrupted after publishing: the trees are complete, regenerate the client files for
      // the identity we now want and register it.
      step s;
      s.kind = step_kind::reconfigure;
      s.folder = w.folder;
      s.client = w;
      steps.push_back(std::move(s));
      continue;
    }
    if (reg == nullptr && any && !forced) return errc::client_exists;
    step st;
    st.kind = step_kind::stage;
    st.folder = w.folder;
    st.client = w;
    steps.push_back(st);
    st.kind = step_kind::publish;
    st.replace = any;
    steps.push_back(std::move(st));
  }

  if (current.registered != want) {
    step s;
    s.kind = step_kind::write_registry;
    s.registry = want;
    steps.push_back(std::move(s));
  }
  return steps;
}

std::string describe(step const& s, layout_config const& config) {
  std::string out{to_string(s.kind)};
  switch (s.kind) {
    case step_kind::finish_publish:
      out += " " + s.folder + " (interrupted run: move " + s.journal.root_staging.string() + " and " +
             s.journal.boot_staging.string() + " into place)";
      break;
    case step_kind::remove_stale:
      out += " " + s.path.string();
      break;
    case step_kind::stage:
      out += " " + s.folder + " (" + identity_text(s.client) + ") -> " + config.boot_dir(s.folder).string() +
             ", " + config.root_dir(s.folder).string();
      break;
    case step_kind::publish:
      out += " " + s.folder + (s.replace ? " (replacing the existing client)" : "");
      break;
    case step_kind::reconfigure:
      out += " " + s.folder + " (" + identity_text(s.client) + ")";
      break;
    case step_kind::remove:
      out += " " + s.folder + " (" + config.boot_dir(s.folder).string() + ", " +
             config.root_dir(s.folder).string() + ")";
      break;
    case step_kind::write_registry:
      out += " " + config.registry_file().string() + " (" + std::to_string(s.registry.size()) + " clients)";
      break;
  }
  return out;
}

}  // namespace pinetboot::layout
