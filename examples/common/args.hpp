// A small command-line parser shared by the example programs: `--name value`, `--name=value`,
// boolean `--flag`, repeatable options, and a generated --help text.
#pragma once

#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pinetboot::examples {

class args {
 public:
  args(std::string program, std::string summary) : program_{std::move(program)}, summary_{std::move(summary)} {}

  /// Declares an option taking a value (repeatable when `many`).
  args& option(std::string name, std::string value_name, std::string help, std::string def = {}, bool many = false) {
    specs_.push_back({std::move(name), std::move(value_name), std::move(help), std::move(def), true, many});
    return *this;
  }
  /// Declares a boolean flag.
  args& flag(std::string name, std::string help) {
    specs_.push_back({std::move(name), {}, std::move(help), {}, false, false});
    return *this;
  }

  /// Parses argv; prints help and exits 0 on --help; throws std::invalid_argument on errors.
  void parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a == "--help" || a == "-h") {
        std::cout << help();
        std::exit(0);
      }
      if (a.substr(0, 2) != "--") {
        positional_.emplace_back(a);
        continue;
      }
      std::string name{a.substr(2)};
      std::optional<std::string> value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      auto const* s = find(name);
      if (s == nullptr) throw std::invalid_argument("unknown option --" + name + " (see --help)");
      if (!s->takes_value) {
        if (value) throw std::invalid_argument("--" + name + " takes no value");
        values_[name].push_back("1");
        continue;
      }
      if (!value) {
        if (i + 1 >= argc) throw std::invalid_argument("--" + name + " needs a value");
        value = argv[++i];
      }
      if (!s->many && values_.count(name) != 0) throw std::invalid_argument("--" + name + " given twice");
      values_[name].push_back(*value);
    }
  }

  [[nodiscard]] bool has(std::string const& name) const { return values_.count(name) != 0; }
  [[nodiscard]] std::string get(std::string const& name) const {
    if (auto it = values_.find(name); it != values_.end()) return it->second.back();
    auto const* s = find(name);
    return s != nullptr ? s->def : std::string{};
  }
  [[nodiscard]] std::vector<std::string> all(std::string const& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  [[nodiscard]] long number(std::string const& name, long min, long max) const {
    auto text = get(name);
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < min || v > max)
      throw std::invalid_argument("--" + name + ": expected a number in [" + std::to_string(min) + ", " +
                                  std::to_string(max) + "], got '" + text + "'");
    return v;
  }
  [[nodiscard]] std::vector<std::string> const& positional() const { return positional_; }

  [[nodiscard]] std::string help() const {
    std::string h = "usage: " + program_ + " [options]\n\n" + summary_ + "\n\noptions:\n";
    for (auto const& s : specs_) {
      std::string left = "  --" + s.name + (s.takes_value ? " " + s.value_name : "");
      if (left.size() < 30) left.resize(30, ' ');
      else left += "\n" + std::string(30, ' ');
      h += left + s.help;
      if (!s.def.empty()) h += " (default: " + s.def + ")";
      if (s.many) h += " [repeatable]";
      h += "\n";
    }
    h += "  --help                      this text\n";
    return h;
  }

 private:
  struct spec {
    std::string name, value_name, help, def;
    bool takes_value = true, many = false;
  };
  [[nodiscard]] spec const* find(std::string const& name) const {
    for (auto const& s : specs_)
      if (s.name == name) return &s;
    return nullptr;
  }

  std::string program_, summary_;
  std::vector<spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace pinetboot::examples
