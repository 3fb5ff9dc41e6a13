// The command-line parser of all six example programs: `--name value`, `--name=value`, boolean
// `--flag`, repeatable options, options with several values (`--from-tree BOOT ROOT`), short
// aliases (`-v`), declared positional arguments, a list after `--` (`image exec NAME -- CMD`),
// and the built-in `--help`, `-h` and `--version`.
//
// It refuses everything it was not told about: an unknown option (`-V`, `--bogus`), a
// positional argument the program does not take, an option without its value, a value given
// to a flag, a single-valued option given twice. Values are checked by the typed getters
// (`number`, `port`, `ipv4`), which a program calls before it opens a socket or a file; every
// refusal is a usage_error, exit code `exit_usage` (1).
//
// One parser for all six programs, not CLI11 (libcli11-dev 2.1.2, tried): on the command lines
// this parser must refuse, CLI11 accepts something else. `--root --port 69` gives --root the
// value "--port" (with allow_extra_args(false); without it `--port 1 stray` takes "stray" as a
// second port); `--user= -V` takes -V as the user; an unknown `--bogus x` leaves "x" as a
// positional argument. Each would need a pre-pass of our own over argv, that is, this parser.
// CLI11's messages ("--root: At Most 1 required but received 2") would be remapped too.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "git_description.hpp"
#include "pinetboot/core/address.hpp"

#ifndef PINETBOOT_VERSION
#define PINETBOOT_VERSION "unknown"
#endif

namespace pinetboot::examples {

/// Levenshtein distance, for "did you mean" on options and configuration keys (names are
/// short: one row of counts is enough).
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// Exit code for a command line the program does not understand (as sysexits' EX_USAGE, but
/// 1 like most tools: grep, ip, dnsmasq).
inline constexpr int exit_usage = 1;

/// What --version prints: "NAME VERSION", and " (git DESCRIPTION)" after it when `git` (the
/// git description, see git_description()) is not empty: "pinetboot-server 0.1.0 (git 385757d)".
[[nodiscard]] inline std::string version_line(std::string_view program, std::string_view git) {
  std::string line{program};
  line += ' ';
  line += PINETBOOT_VERSION;
  if (!git.empty()) {
    line += " (git ";
    line += git;
    line += ')';
  }
  return line;
}

/// A command line the program does not understand; the message names the argument and the fix.
class usage_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Parses a whole decimal number in [min, max]: no sign other than a leading '-', no spaces,
/// no trailing characters ("24abc" is refused, unlike atoi). `what` names the argument.
[[nodiscard]] inline long long parse_number(std::string_view text, long long min, long long max,
                                            std::string const& what) {
  long long v = 0;
  auto const* first = text.data();
  auto const* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, v);
  if (text.empty() || ec != std::errc{} || end != last || v < min || v > max)
    throw usage_error(what + ": expected a whole number from " + std::to_string(min) + " to " +
                      std::to_string(max) + ", got '" + std::string{text} + "'");
  return v;
}

/// Parses a dotted-quad IPv4 address; `what` names the argument.
[[nodiscard]] inline core::ipv4_address parse_ipv4(std::string const& text, std::string const& what) {
  auto a = core::ipv4_address::parse(text);
  if (!a) throw usage_error(what + ": expected an IPv4 address like 192.168.1.3, got '" + text + "'");
  return *a;
}

class args {
 public:
  args(std::string program, std::string summary)
      : program_{std::move(program)}, summary_{std::move(summary)} {}

  /// Declares an option taking a value (repeatable when `many`).
  args& option(std::string name, std::string value_name, std::string help, std::string def = {},
               bool many = false) {
    specs_.push_back(
        {std::move(name), std::move(value_name), std::move(help), std::move(def), true, many, {}, 1});
    return *this;
  }
  /// Declares an option taking `n` values at once (`--from-tree BOOT ROOT`); all() has them.
  args& option_n(std::string name, int n, std::string value_names, std::string help) {
    specs_.push_back({std::move(name), std::move(value_names), std::move(help), {}, true, false, {}, n});
    return *this;
  }
  /// Everything after `--` is one list (after_dashes()), not positional arguments.
  args& rest(std::string name) {
    rest_name_ = std::move(name);
    return *this;
  }
  /// Replaces the generated --help text (a program with commands writes its own).
  args& help_text(std::string text) {
    help_text_ = std::move(text);
    return *this;
  }
  /// Declares a boolean flag.
  args& flag(std::string name, std::string help) {
    specs_.push_back({std::move(name), {}, std::move(help), {}, false, false, {}, 0});
    return *this;
  }
  /// Lets `-c` stand for the already declared `--name`.
  args& alias(char c, std::string const& name) {
    for (auto& s : specs_)
      if (s.name == name) s.short_name = std::string{'-', c};
    return *this;
  }
  /// Accepts positional arguments (any number), shown in the usage line as `NAME...`.
  args& positionals(std::string name, std::string help) {
    positional_name_ = std::move(name);
    positional_help_ = std::move(help);
    return *this;
  }
  /// Text appended to the refusal of a positional argument (e.g. "the file goes after --config").
  args& positional_hint(std::string hint) {
    positional_hint_ = std::move(hint);
    return *this;
  }

  /// Parses argv. Returns an exit code when the program should stop at once (--help and
  /// --version print to `out` and give 0); nullopt to go on. Throws usage_error.
  [[nodiscard]] std::optional<int> parse(int argc, char const* const* argv, std::ostream& out = std::cout) {
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (options_done || a == "-" || a.empty() || a[0] != '-') {
        add_positional(a);
        continue;
      }
      if (a == "--" && !rest_name_.empty()) {
        rest_.assign(argv + i + 1, argv + argc);
        if (rest_.empty()) throw usage_error("-- must be followed by " + rest_name_ + "; see '" + program_ + " --help'");
        break;
      }
      if (a == "--") {
        options_done = true;
        continue;
      }
      if (a == "--help" || a == "-h") {
        out << help();
        return 0;
      }
      if (a == "--version") {
        out << version_line(program_, git_description()) << '\n';
        return 0;
      }
      std::string name;
      std::optional<std::string> value;
      spec const* s = nullptr;
      if (a.substr(0, 2) == "--") {
        name = a.substr(2);
        if (auto eq = name.find('='); eq != std::string::npos) {
          value = name.substr(eq + 1);
          name.resize(eq);
        }
        s = find(name);
      } else {
        for (auto const& sp : specs_)
          if (sp.short_name == a) s = &sp;
        if (s != nullptr) name = s->name;
      }
      if (s == nullptr) {
        std::string shown = a.substr(0, 2) == "--" ? "--" + name : std::string{a};
        std::string hint = a == "-V" ? " (the version is --version)" : suggestion(name);
        throw usage_error("unknown option '" + shown + "'" + hint + "; see '" + program_ + " --help'");
      }
      if (!s->takes_value) {
        if (value) throw usage_error("--" + name + " is a flag and takes no value; write just --" + name);
        values_[name].push_back("1");
        continue;
      }
      if (s->values > 1) {
        if (value) throw usage_error("--" + name + " takes " + std::to_string(s->values) + " values: --" + name + " " + s->value_name);
        if (values_.count(name) != 0) throw usage_error("--" + name + " given twice; give it once");
        for (int k = 0; k < s->values; ++k) {
          if (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1] != '\0'))
            throw usage_error("--" + name + " needs " + std::to_string(s->values) + " values: --" + name + " " +
                              s->value_name);
          values_[name].emplace_back(argv[++i]);
        }
        continue;
      }
      if (!value) {
        if (i + 1 >= argc) throw usage_error("--" + name + " needs a value: --" + name + " " + s->value_name);
        std::string_view next = argv[i + 1];
        // "--root --port 69" lost the root's value; so did "--interface -v". A value that really
        // starts with '-' is written --name=-x; negative numbers pass (and meet the range check).
        if (next.size() > 1 && next[0] == '-' && (next[1] < '0' || next[1] > '9'))
          throw usage_error("--" + name + " needs a value (" + s->value_name + ") before " +
                            std::string{next});
        value = argv[++i];
      }
      if (!s->many && values_.count(name) != 0) throw usage_error("--" + name + " given twice; give it once");
      values_[name].push_back(*value);
    }
    return std::nullopt;
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
  /// The option's value (or default) as a whole number in [min, max]; usage_error otherwise.
  [[nodiscard]] long long number(std::string const& name, long long min, long long max) const {
    return parse_number(get(name), min, max, "--" + name);
  }
  /// A UDP/TCP port; `min` is 0 where 0 means "off" or "any".
  [[nodiscard]] std::uint16_t port(std::string const& name, long long min = 1) const {
    return static_cast<std::uint16_t>(number(name, min, 65535));
  }
  /// The option's value (or default) as an IPv4 address; usage_error otherwise.
  [[nodiscard]] core::ipv4_address ipv4(std::string const& name) const {
    return parse_ipv4(get(name), "--" + name);
  }
  [[nodiscard]] std::vector<std::string> const& positional() const { return positional_; }

  /// What followed `--` (with rest() declared).
  [[nodiscard]] std::vector<std::string> const& after_dashes() const { return rest_; }

  [[nodiscard]] std::string help() const {
    if (!help_text_.empty()) return help_text_;
    std::string h = "usage: " + program_ + " [options]" +
                    (positional_name_.empty() ? "" : " [" + positional_name_ + "...]") + "\n\n" + summary_ +
                    "\n\n";
    if (!positional_name_.empty())
      h += "arguments:\n" + line(positional_name_ + "...", positional_help_) + "\n";
    h += "options:\n";
    for (auto const& s : specs_) {
      std::string left = (s.short_name.empty() ? "--" : s.short_name + ", --") + s.name +
                         (s.takes_value ? " " + s.value_name : "");
      std::string text = s.help;
      if (!s.def.empty()) text += " (default: " + s.def + ")";
      if (s.many) text += " [repeatable]";
      h += line(left, text);
    }
    h += line("-h, --help", "this text");
    h += line("--version", "print the program name and version");
    return h;
  }

 private:
  struct spec {
    std::string name, value_name, help, def;
    bool takes_value = true, many = false;
    std::string short_name;
    int values = 1;  ///< per use: 2 for `--from-tree BOOT ROOT`
  };
  [[nodiscard]] spec const* find(std::string const& name) const {
    for (auto const& s : specs_)
      if (s.name == name) return &s;
    return nullptr;
  }
  static std::string line(std::string left, std::string const& text) {
    left.insert(0, "  ");
    if (left.size() < 30)
      left.resize(30, ' ');
    else
      left += "\n" + std::string(30, ' ');
    return left + text + "\n";
  }
  void add_positional(std::string_view a) {
    if (positional_name_.empty())
      throw usage_error(
          "unexpected argument '" + std::string{a} + "': " + program_ + " takes no positional arguments" +
          (positional_hint_.empty() ? "" : "; " + positional_hint_) + "; see '" + program_ + " --help'");
    positional_.emplace_back(a);
  }
  /// " (did you mean --x?)" for a declared option within two edits of `name`, else "".
  [[nodiscard]] std::string suggestion(std::string const& name) const {
    std::string best;
    std::size_t best_d = 3;
    for (auto const& s : specs_) {
      auto d = edit_distance(name, s.name);
      if (d < best_d) {
        best_d = d;
        best = s.name;
      }
    }
    for (std::string_view builtin : {"help", "version"})
      if (auto d = edit_distance(name, builtin); d < best_d) {
        best_d = d;
        best = builtin;
      }
    return best.empty() || name.size() < 2 ? std::string{} : " (did you mean --" + best + "?)";
  }

  std::string program_, summary_;
  std::vector<spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_, rest_;
  std::string positional_name_, positional_help_, positional_hint_, rest_name_, help_text_;
};

}  // namespace pinetboot::examples
