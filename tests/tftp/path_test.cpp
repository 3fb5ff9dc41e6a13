#include "pinetboot/tftp/path.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <system_error>

namespace pinetboot::tftp {
namespace {

using namespace std::string_view_literals;

std::error_code const access_violation = make_error_code(errc::access_violation);
std::error_code const name_too_long = make_error_code(errc::name_too_long);

// Resolves with default (or given) options; returns the path or the error as text.
struct outcome {
  std::string path;
  std::error_code ec;
};
outcome resolve(std::string_view in, path_options const& opts = {}) {
  resolved_path p;
  auto ec = p.assign(in, opts);
  return {std::string{p.view()}, ec};
}

// The guarantees every successful result must meet.
void expect_safe(std::string_view out, std::size_t limit = max_path_length) {
  EXPECT_FALSE(out.empty());
  EXPECT_LE(out.size(), limit);
  EXPECT_NE(out.front(), '/') << out;
  EXPECT_NE(out.back(), '/') << out;
  EXPECT_EQ(out.find('\0'), std::string_view::npos);
  EXPECT_EQ(out.find('\\'), std::string_view::npos);
  EXPECT_EQ(out.find("//"), std::string_view::npos);
  std::size_t start = 0;
  while (start <= out.size()) {
    std::size_t end = out.find('/', start);
    if (end == std::string_view::npos) end = out.size();
    auto c = out.substr(start, end - start);
    EXPECT_NE(c, "..") << out;
    EXPECT_NE(c, ".") << out;
    EXPECT_LE(c.size(), max_component_length);
    start = end + 1;
  }
  for (char ch : out) EXPECT_FALSE(static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) << out;
}

TEST(TftpPath, PlainNamesPassThrough) {
  for (auto in : {"pxelinux.0"sv, "b66c4c16/start.elf"sv, "overlays/vc4-kms-v3d.dtbo"sv, "a b"sv, "x..y"sv,
                  "..."sv, "..a/b.."sv, "caf\xc3\xa9.txt"sv}) {
    auto r = resolve(in);
    EXPECT_FALSE(r.ec) << in << ": " << r.ec.message();
    EXPECT_EQ(r.path, in);
    expect_safe(r.path);
  }
}

TEST(TftpPath, LeadingSlashIsRootRelative) {
  EXPECT_EQ(resolve("/pxelinux.0").path, "pxelinux.0");
  EXPECT_EQ(resolve("//boot///grub/grub.cfg").path, "boot/grub/grub.cfg");
  // An absolute name never means the host's file system: it maps inside the root.
  EXPECT_EQ(resolve("/etc/passwd").path, "etc/passwd");
}

TEST(TftpPath, DotAndDuplicateSlashesCollapse) {
  EXPECT_EQ(resolve("./a//b/./c").path, "a/b/c");
  EXPECT_EQ(resolve("/./././kernel8.img").path, "kernel8.img");
}

TEST(TftpPath, DotDotIsAlwaysRefused) {
  for (auto in : {"../etc/passwd"sv, "a/../../x"sv, "a/../b"sv, ".."sv, "/.."sv, "a/.."sv,
                  "/../../etc/shadow"sv, "a/./../b"sv, "a//..//b"sv}) {
    auto r = resolve(in);
    EXPECT_EQ(r.ec, access_violation) << in;
    EXPECT_TRUE(r.path.empty()) << in;
  }
}

TEST(TftpPath, BackslashRejectedByDefault) {
  EXPECT_EQ(resolve("..\\..\\x").ec, access_violation);
  EXPECT_EQ(resolve("boot\\x64\\wdsnbp.com").ec, access_violation);
  EXPECT_EQ(resolve("a\\b").ec, access_violation);
}

TEST(TftpPath, BackslashAsSeparatorStillRefusesDotDot) {
  path_options opts;
  opts.backslash = backslash_policy::as_separator;
  EXPECT_EQ(resolve("..\\..\\x", opts).ec, access_violation);
  EXPECT_EQ(resolve("a\\..\\..\\x", opts).ec, access_violation);
  EXPECT_EQ(resolve("\\..\\x", opts).ec, access_violation);
  auto r = resolve("\\boot\\x64\\wdsnbp.com", opts);
  EXPECT_FALSE(r.ec);
  EXPECT_EQ(r.path, "boot/x64/wdsnbp.com");
  EXPECT_EQ(resolve("a\\", opts).ec, access_violation);
}

TEST(TftpPath, NulAndControlCharactersRefused) {
  EXPECT_EQ(resolve("pxelinux.0\0../../etc/passwd"sv).ec, access_violation);
  EXPECT_EQ(resolve("\0"sv).ec, access_violation);
  for (int c = 1; c < 0x20; ++c) {
    std::string in = "a";
    in += static_cast<char>(c);
    in += "b";
    EXPECT_EQ(resolve(in).ec, access_violation) << c;
  }
  EXPECT_EQ(resolve("a\x7f"
                    "b")
                .ec,
            access_violation);
}

TEST(TftpPath, DirectoriesAndEmptyNamesRefused) {
  for (auto in : {""sv, "/"sv, "//"sv, "."sv, "./"sv, "a/"sv, "/boot/"sv, "a/."sv, "a/./"sv}) {
    EXPECT_EQ(resolve(in).ec, access_violation) << in;
  }
}

TEST(TftpPath, ComponentLengthLimit) {
  std::string ok(255, 'c');
  EXPECT_FALSE(resolve(ok).ec);
  EXPECT_EQ(resolve(std::string(256, 'c')).ec, name_too_long);
  EXPECT_EQ(resolve("dir/" + std::string(300, 'c')).ec, name_too_long);
  path_options opts;
  opts.max_component = 8;
  EXPECT_FALSE(resolve("12345678/x", opts).ec);
  EXPECT_EQ(resolve("123456789/x", opts).ec, name_too_long);
  opts.max_component = 100000;  // clamped to NAME_MAX
  EXPECT_EQ(resolve(std::string(256, 'c'), opts).ec, name_too_long);
}

TEST(TftpPath, TotalLengthLimit) {
  std::string in;
  while (in.size() < 5000) in += "abcdefghi/";
  in += "x";
  EXPECT_EQ(resolve(in).ec, name_too_long);
  // Exactly max_path_length characters is fine.
  std::string edge;
  while (edge.size() + 100 <= max_path_length) edge += std::string(99, 'p') + "/";
  edge += std::string(max_path_length - edge.size(), 'q');
  ASSERT_EQ(edge.size(), max_path_length);
  auto r = resolve(edge);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.path, edge);
  path_options opts;
  opts.max_length = 16;
  EXPECT_FALSE(resolve("/0123456789abcdef", opts).ec);  // the leading '/' does not count
  EXPECT_EQ(resolve("0123456789abcdefg", opts).ec, name_too_long);
}

TEST(TftpPath, StripsConfiguredPrefixOfAbsoluteRequests) {
  path_options opts;
  opts.strip_prefix = "/srv/tftp";
  EXPECT_EQ(resolve("/srv/tftp/pxelinux.0", opts).path, "pxelinux.0");
  EXPECT_EQ(resolve("//srv//tftp/./a/b", opts).path, "a/b");
  EXPECT_EQ(resolve("/srv/tftpx/a", opts).path, "srv/tftpx/a");  // whole components only
  EXPECT_EQ(resolve("/srv/a", opts).path, "srv/a");
  EXPECT_EQ(resolve("srv/tftp/a", opts).path, "srv/tftp/a");   // relative: not the host path
  EXPECT_EQ(resolve("/srv/tftp", opts).ec, access_violation);  // the root directory itself
  EXPECT_EQ(resolve("/srv/tftp/../x", opts).ec, access_violation);
  opts.strip_prefix = "/srv/tftp/";
  EXPECT_EQ(resolve("/srv/tftp/x", opts).path, "x");
  // Stripping happens before the length limit.
  opts.max_length = 4;
  EXPECT_EQ(resolve("/srv/tftp/abcd", opts).path, "abcd");
}

TEST(TftpPath, ResolvingIsIdempotent) {
  path_options bs;
  bs.backslash = backslash_policy::as_separator;
  bs.strip_prefix = "/srv/tftp";
  for (auto in : {"/pxelinux.0"sv, "./a//b/./c"sv, "//x/y/"sv, "\\boot\\x64\\a.com"sv,
                  "/srv/tftp/srv/tftp/k"sv, "a/b/c/d/e/f"sv}) {
    for (path_options const& opts : {bs, path_options{}}) {
      auto first = resolve(in, opts);
      if (first.ec) continue;
      auto second = resolve(first.path, opts);
      EXPECT_FALSE(second.ec) << in;
      EXPECT_EQ(second.path, first.path) << in;
    }
  }
}

TEST(TftpPath, CallerBufferTooSmall) {
  std::array<char, 8> small{};
  auto r = resolve_path("0123456789", small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::buffer_too_small));
  std::array<char, 11> fits{};
  auto ok = resolve_path("/0123456789", fits);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "0123456789");
  EXPECT_EQ(fits[10], '\0');  // NUL-terminated for openat
}

TEST(TftpPath, EveryPrefixAndSingleByteMutationStaysSafe) {
  path_options bs;
  bs.backslash = backslash_policy::as_separator;
  bs.strip_prefix = "/srv/tftp";
  for (std::string_view seed : {"/srv/tftp/b66c4c16/../start.elf"sv, "/a/./b//c.\\d/.."sv, "..\\x/./y"sv}) {
    for (auto const& opts : {path_options{}, bs}) {
      for (std::size_t n = 0; n <= seed.size(); ++n) {
        auto r = resolve(seed.substr(0, n), opts);
        if (!r.ec) expect_safe(r.path);
      }
      std::string m{seed};
      for (std::size_t i = 0; i < m.size(); ++i) {
        char const orig = m[i];
        for (char c : {'\0', '/', '.', '\\', '\n', 'z', '\xff'}) {
          m[i] = c;
          auto r = resolve(m, opts);
          if (!r.ec) {
            expect_safe(r.path);
            EXPECT_EQ(resolve(r.path, opts).path, r.path);
          }
        }
        m[i] = orig;
      }
    }
  }
}

}  // namespace
}  // namespace pinetboot::tftp
