#include "args.hpp"

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

// The programs link the generated description (examples/CMakeLists.txt); this test stands in
// for it with a tree that is not a git checkout, so --version prints the bare version.
char const* pinetboot::examples::git_description() noexcept { return ""; }

namespace {

using pinetboot::examples::args;
using pinetboot::examples::parse_number;
using pinetboot::examples::usage_error;

/// argv for parse(): argv[0] is the program.
struct argv_of {
  explicit argv_of(std::vector<std::string> words) : words_{std::move(words)} {
    ptrs_.push_back("prog");
    for (auto const& w : words_) ptrs_.push_back(w.c_str());
  }
  [[nodiscard]] int argc() const { return static_cast<int>(ptrs_.size()); }
  [[nodiscard]] char const* const* argv() const { return ptrs_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<char const*> ptrs_;
};

args make() {
  args a{"prog", "A test program."};
  a.option("port", "N", "a port", "67")
      .option("interface", "IF", "an interface")
      .option("host", "SPEC", "a host", "", true)
      .flag("verbose", "chatty")
      .alias('v', "verbose");
  return a;
}

/// The usage_error's message from parsing `words`, or "" if it parsed.
std::string refusal(args& a, std::vector<std::string> words) {
  argv_of av{std::move(words)};
  std::ostringstream out;
  try {
    (void)a.parse(av.argc(), av.argv(), out);
  } catch (usage_error const& e) {
    return e.what();
  }
  return {};
}

std::string refusal(std::vector<std::string> words) {
  auto a = make();
  return refusal(a, std::move(words));
}

TEST(ExamplesArgs, AcceptsDeclaredOptionsInBothSpellings) {
  auto a = make();
  argv_of av{{"--port", "6767", "--interface=eth0", "-v", "--host", "a", "--host=b"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), std::nullopt);
  EXPECT_EQ(a.port("port"), 6767);
  EXPECT_EQ(a.get("interface"), "eth0");
  EXPECT_TRUE(a.has("verbose"));
  EXPECT_EQ(a.all("host"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(out.str().empty());
}

TEST(ExamplesArgs, DefaultsApplyWhenOptionsAreAbsent) {
  auto a = make();
  argv_of av{{}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), std::nullopt);
  EXPECT_EQ(a.port("port"), 67);
  EXPECT_FALSE(a.has("interface"));
  EXPECT_FALSE(a.has("verbose"));
}

TEST(ExamplesArgs, RefusesUnknownShortOption) {
  auto e = refusal({"-V"});
  EXPECT_NE(e.find("unknown option '-V'"), std::string::npos) << e;
  EXPECT_NE(e.find("--version"), std::string::npos) << e;
  EXPECT_NE(refusal({"-x"}).find("unknown option '-x'"), std::string::npos);
}

TEST(ExamplesArgs, RefusesUnknownLongOptionWithSuggestion) {
  EXPECT_NE(refusal({"--bogus"}).find("unknown option '--bogus'"), std::string::npos);
  auto e = refusal({"--interfce", "eth0"});
  EXPECT_NE(e.find("unknown option '--interfce' (did you mean --interface?)"), std::string::npos) << e;
  EXPECT_NE(refusal({"--bogus=1"}).find("unknown option '--bogus'"), std::string::npos);
}

TEST(ExamplesArgs, RefusesUndeclaredPositionals) {
  auto e = refusal({"--port", "67", "stray"});
  EXPECT_NE(e.find("unexpected argument 'stray'"), std::string::npos) << e;
  EXPECT_NE(refusal({"-"}).find("unexpected argument '-'"), std::string::npos);
  EXPECT_NE(refusal({"--", "x"}).find("unexpected argument 'x'"), std::string::npos);
  EXPECT_NE(refusal({""}).find("unexpected argument ''"), std::string::npos);
}

TEST(ExamplesArgs, PositionalHintIsPartOfTheRefusal) {
  auto a = make();
  a.positional_hint("a file is given as --config FILE");
  auto e = refusal(a, {"file.toml"});
  EXPECT_NE(e.find("a file is given as --config FILE"), std::string::npos) << e;
}

TEST(ExamplesArgs, DeclaredPositionalsAreCollectedAndDashDashEndsOptions) {
  auto a = make();
  a.positionals("FILE", "files");
  argv_of av{{"one", "-", "--verbose", "--", "--port", "-v"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), std::nullopt);
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"one", "-", "--port", "-v"}));
  EXPECT_TRUE(a.has("verbose"));
  EXPECT_EQ(a.get("port"), "67");
}

TEST(ExamplesArgs, RefusesOptionWithoutItsValue) {
  auto e = refusal({"--port"});
  EXPECT_NE(e.find("--port needs a value"), std::string::npos) << e;
  // The next word is an option: the value was forgotten, it is not "--verbose".
  e = refusal({"--interface", "--verbose"});
  EXPECT_NE(e.find("--interface needs a value"), std::string::npos) << e;
  e = refusal({"--interface", "-v"});
  EXPECT_NE(e.find("--interface needs a value (IF) before -v"), std::string::npos) << e;
  // A negative number is a value (refused later by the range check, naming it).
  EXPECT_EQ(refusal({"--port", "-1"}), "");
  EXPECT_EQ(refusal({"--interface", "-"}), "");
  // A value that starts with "--" can still be given with "=".
  auto a = make();
  argv_of av{{"--interface=--odd"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), std::nullopt);
  EXPECT_EQ(a.get("interface"), "--odd");
}

TEST(ExamplesArgs, RefusesValueForFlagAndRepeatedSingleOption) {
  EXPECT_NE(refusal({"--verbose=yes"}).find("--verbose is a flag"), std::string::npos);
  EXPECT_NE(refusal({"--port", "1", "--port", "2"}).find("--port given twice"), std::string::npos);
  EXPECT_EQ(refusal({"--verbose", "-v"}), "");
}

TEST(ExamplesArgs, NumbersMustBeWholeAndInRange) {
  EXPECT_EQ(parse_number("0", 0, 10, "--n"), 0);
  EXPECT_EQ(parse_number("-3", -5, 10, "--n"), -3);
  for (auto const* bad : {"", "24abc", " 5", "5 ", "+5", "0x10", "1e3", "11", "-1", "99999999999999999999"}) {
    EXPECT_THROW((void)parse_number(bad, 0, 10, "--n"), usage_error) << bad;
  }
  try {
    (void)parse_number("99999", 1, 65535, "--port");
    FAIL();
  } catch (usage_error const& e) {
    EXPECT_STREQ(e.what(), "--port: expected a whole number from 1 to 65535, got '99999'");
  }
}

TEST(ExamplesArgs, TypedGettersCheckPortsAndAddresses) {
  auto a = make();
  argv_of av{{"--port", "70000", "--interface", "300.1.2.3"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), std::nullopt);
  EXPECT_THROW((void)a.port("port"), usage_error);
  try {
    (void)a.ipv4("interface");
    FAIL();
  } catch (usage_error const& e) {
    EXPECT_NE(std::string{e.what()}.find("--interface: expected an IPv4 address"), std::string::npos);
  }
  auto b = make();
  argv_of av2{{"--port", "0"}};
  EXPECT_EQ(b.parse(av2.argc(), av2.argv(), out), std::nullopt);
  EXPECT_THROW((void)b.port("port"), usage_error);
  EXPECT_EQ(b.port("port", 0), 0);
}

TEST(ExamplesArgs, HelpAndVersionPrintAndExitZero) {
  for (auto const* word : {"--help", "-h"}) {
    auto a = make();
    argv_of av{{word, "--bogus"}};
    std::ostringstream out;
    EXPECT_EQ(a.parse(av.argc(), av.argv(), out), 0);
    EXPECT_EQ(out.str().rfind("usage: prog [options]\n", 0), 0U) << out.str();
    for (auto const* listed :
         {"--port N", "-v, --verbose", "--help", "--version", "(default: 67)", "[repeatable]"})
      EXPECT_NE(out.str().find(listed), std::string::npos) << listed;
  }
  auto a = make();
  argv_of av{{"--version"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), 0);
  EXPECT_EQ(out.str(), std::string{"prog "} + PINETBOOT_VERSION + "\n");
}

TEST(ExamplesArgs, VersionLineAddsTheGitDescriptionWhenThereIsOne) {
  using pinetboot::examples::version_line;
  EXPECT_EQ(version_line("prog", ""), std::string{"prog "} + PINETBOOT_VERSION);
  EXPECT_EQ(version_line("prog", "385757d-dirty"),
            std::string{"prog "} + PINETBOOT_VERSION + " (git 385757d-dirty)");
}

TEST(ExamplesArgs, ErrorsBeforeHelpStillRefuse) {
  // Arguments are read in order: a refusal before --help is reported, not hidden by the help.
  EXPECT_NE(refusal({"--bogus", "--help"}).find("unknown option '--bogus'"), std::string::npos);
}

TEST(ExamplesArgs, OptionWithTwoValuesTakesBothOrRefuses) {
  args a{"prog", "x"};
  a.option_n("from-tree", 2, "BOOT ROOT", "two trees").flag("force", "f");
  argv_of ok{{"--from-tree", "/b", "/r", "--force"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(ok.argc(), ok.argv(), out), std::nullopt);
  EXPECT_EQ(a.all("from-tree"), (std::vector<std::string>{"/b", "/r"}));
  EXPECT_TRUE(a.has("force"));
  for (auto words : std::vector<std::vector<std::string>>{
           {"--from-tree", "/b"}, {"--from-tree", "/b", "--force"}, {"--from-tree=/b", "/r"}}) {
    args b{"prog", "x"};
    b.option_n("from-tree", 2, "BOOT ROOT", "two trees").flag("force", "f");
    auto e = refusal(b, words);
    EXPECT_NE(e.find("--from-tree"), std::string::npos) << e;
    EXPECT_NE(e.find("BOOT ROOT"), std::string::npos) << e;
  }
}

TEST(ExamplesArgs, RestTakesEverythingAfterDashes) {
  args a{"prog", "x"};
  a.flag("verbose", "v").positionals("WORD", "w").rest("a command");
  argv_of av{{"image", "--verbose", "--", "ls", "--bogus", "-l"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), std::nullopt);
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"image"}));
  EXPECT_EQ(a.after_dashes(), (std::vector<std::string>{"ls", "--bogus", "-l"}));
  args b{"prog", "x"};
  b.rest("a command");
  EXPECT_NE(refusal(b, {"--"}).find("-- must be followed by a command"), std::string::npos);
}

TEST(ExamplesArgs, CustomHelpTextReplacesTheGeneratedOne) {
  args a{"prog", "x"};
  a.help_text("Usage: prog COMMAND\n");
  argv_of av{{"--help"}};
  std::ostringstream out;
  EXPECT_EQ(a.parse(av.argc(), av.argv(), out), 0);
  EXPECT_EQ(out.str(), "Usage: prog COMMAND\n");
}

}  // namespace
