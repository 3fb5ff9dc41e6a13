#include "pinetboot/sim/pi_boot_sequence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "pinetboot/tftp/options.hpp"
#include "support/hex.hpp"

namespace pinetboot::tftp {
namespace {

constexpr std::array<pi_board, 3> kBoards{pi_board::pi3, pi_board::pi4, pi_board::pi5};

std::vector<std::byte> rrq_of(pi_file_request const& r) {
  std::vector<std::byte> out(600);
  auto n = write_pi_rrq(out, r);
  EXPECT_TRUE(n);
  out.resize(n ? *n : 0);
  // Whatever the option order, a server reads the same request.
  auto parsed = parse_request(out);
  EXPECT_TRUE(parsed);
  if (parsed) {
    EXPECT_EQ(parsed->filename, r.path());
    EXPECT_EQ(parsed->options.find("tsize") != nullptr, r.options.tsize);
    EXPECT_EQ(parsed->options.find("blksize") != nullptr, r.options.blksize.has_value());
  }
  return out;
}

/// Answers every request with `answer(path)` and returns the paths requested, in order.
template <class Answer>
std::vector<std::string> walk(pi_boot_sequence& s, Answer answer) {
  std::vector<std::string> paths;
  for (int guard = 0; guard < 100 && !s.is_done(); ++guard) {
    auto r = s.current();
    EXPECT_TRUE(r);
    if (!r) break;
    paths.emplace_back(r->path());
    s.on_result(answer(*r));
  }
  EXPECT_TRUE(s.is_done());
  EXPECT_FALSE(s.current());
  return paths;
}

// Everything exists: probes are found, fetches received.
pi_file_result all_there(pi_file_request const& r) {
  return r.kind == pi_step_kind::probe ? pi_file_result::found : pi_file_result::received;
}

TEST(TftpPiBootSequence, EverySequenceEndsWithItsKernelAndFitsThePathBuffer) {
  for (auto b : kBoards) {
    auto steps = pi_boot_steps(b);
    ASSERT_FALSE(steps.empty());
    EXPECT_EQ(steps.back().role, pi_file_role::kernel) << to_string(b);
    std::size_t kernels = 0;
    for (auto const& s : steps) {
      kernels += s.role == pi_file_role::kernel;
      EXPECT_LE(s.file.size() + 9, pi_file_request::max_path) << s.file;
      EXPECT_LE(s.alternative.size() + 9, pi_file_request::max_path) << s.alternative;
      EXPECT_FALSE(s.file.empty());
      EXPECT_NE(s.file.front(), '/');
      if (s.kind == pi_step_kind::probe) {
        EXPECT_NE(s.role, pi_file_role::kernel);
      }
    }
    EXPECT_EQ(kernels, 1U) << to_string(b);
    EXPECT_EQ(std::count_if(steps.begin(), steps.end(), [](auto const& s) { return s.prefix_check; }), 1)
        << to_string(b);
    // Only bootcode.bin (Pi 3) is a second DHCP client; the EEPROM boards do DHCP once.
    EXPECT_EQ(std::count_if(steps.begin(), steps.end(), [](auto const& s) { return s.redo_dhcp; }),
              b == pi_board::pi3 ? 1 : 0)
        << to_string(b);
  }
}

TEST(TftpPiBootSequence, OptionsPerGeneration) {
  EXPECT_FALSE(pi_client_options(pi_board::pi3, pi_rrq_options::none).tsize);
  EXPECT_FALSE(pi_client_options(pi_board::pi3, pi_rrq_options::none).blksize);
  auto t = pi_client_options(pi_board::pi3, pi_rrq_options::tsize);
  EXPECT_TRUE(t.tsize);
  EXPECT_FALSE(t.blksize);
  auto p4 = pi_client_options(pi_board::pi4, pi_rrq_options::tsize_blksize);
  EXPECT_TRUE(p4.tsize);
  EXPECT_EQ(p4.blksize, std::optional<std::uint16_t>{1024});
  EXPECT_EQ(pi_client_options(pi_board::pi5, pi_rrq_options::tsize_blksize).blksize,
            std::optional<std::uint16_t>{1468});
  EXPECT_FALSE(p4.windowsize);  // no Pi asks for windowsize (spec 4.1)
}

// Spec 12.6: the Pi 4's first RRQ, 49 bytes.
TEST(TftpPiBootSequence, Pi4FirstRequestMatchesTheCapturedRrq) {
  pi_boot_sequence s{pi_board::pi4, 0xd9780558};
  auto r = s.current();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path(), "d9780558/start4.elf");
  EXPECT_EQ(r->kind, pi_step_kind::probe);
  EXPECT_TRUE(r->prefixed);
  EXPECT_EQ(rrq_of(*r), test::from_hex("00 01 64 39 37 38 30 35 35 38 2f 73 74 61 72 74"
                                       "34 2e 65 6c 66 00 6f 63 74 65 74 00 74 73 69 7a"
                                       "65 00 30 00 62 6c 6b 73 69 7a 65 00 31 30 32 34 00"));
}

// Spec 12.6: the ROM's 21-byte RRQ, then bootcode.bin's 35-byte `<serial>/start.elf` with tsize.
TEST(TftpPiBootSequence, Pi3RequestsMatchTheCapturedRrqs) {
  pi_boot_sequence s{pi_board::pi3, 0xe1ffda08};
  auto rom = s.current();
  ASSERT_TRUE(rom);
  EXPECT_FALSE(rom->prefixed);
  EXPECT_EQ(rrq_of(*rom), test::from_hex("00 01 62 6f 6f 74 63 6f 64 65 2e 62 69 6e 00 6f 63 74 65 74 00"));
  s.on_result(pi_file_result::received);
  auto sig = s.current();
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->path(), "bootsig.bin");  // root_only: before the prefix is decided, never prefixed
  EXPECT_EQ(sig->role, pi_file_role::normally_missing);
  EXPECT_FALSE(sig->redo_dhcp);
  s.on_result(pi_file_result::not_found);
  auto probe = s.current();
  ASSERT_TRUE(probe);
  // bootcode.bin now runs: a new DHCP exchange before its first request (spec 3.1).
  EXPECT_TRUE(probe->redo_dhcp);
  s.dhcp_redone();
  EXPECT_FALSE(s.current()->redo_dhcp);
  EXPECT_EQ(s.current()->path(), probe->path());
  auto bytes = rrq_of(*probe);
  EXPECT_EQ(bytes.size(), 35U);
  std::vector<std::byte> expected(2, std::byte{0});
  expected[1] = std::byte{1};
  for (char c : std::string_view{"e1ffda08/start.elf\0octet\0tsize\0"
                                 "0",
                                 32})
    expected.push_back(std::byte(c));
  expected.push_back(std::byte{0});
  EXPECT_EQ(bytes, expected);
}

TEST(TftpPiBootSequence, PiRrqWriterReportsShortBuffers) {
  pi_boot_sequence s{pi_board::pi5, 0x12345678};
  auto r = *s.current();
  std::array<std::byte, 64> big{};
  auto full = write_pi_rrq(big, r);
  ASSERT_TRUE(full);
  EXPECT_EQ(*full, 2 + 20 + 6 + 8 + 8 + 5);  // "12345678/config.txt", octet, tsize 0, blksize 1468
  for (std::size_t n = 0; n < *full; ++n) {
    std::vector<std::byte> small(n);
    auto w = write_pi_rrq(small, r);
    ASSERT_FALSE(w) << n;
    EXPECT_EQ(w.error(), make_error_code(errc::buffer_too_small));
  }
}

TEST(TftpPiBootSequence, SerialPrefixIsEightLowerCaseHexDigits) {
  pi_boot_sequence s{pi_board::pi5, 0xABC0EF01};
  EXPECT_EQ(s.prefix(), "abc0ef01/");
  pi_boot_sequence z{pi_board::pi4, 0x1f};
  EXPECT_EQ(z.current()->path(), "0000001f/start4.elf");
}

TEST(TftpPiBootSequence, Pi4WithSerialFolderKeepsThePrefixAndBoots) {
  pi_boot_sequence s{pi_board::pi4, 0x10000000};
  auto paths = walk(s, all_there);
  std::vector<std::string> expected{"10000000/start4.elf",          "10000000/pieeprom.sig",
                                    "10000000/config.txt",          "10000000/recover4.elf",
                                    "10000000/recovery.elf",        "10000000/start4.elf",
                                    "10000000/fixup4.dat",          "10000000/config.txt",
                                    "10000000/bcm2711-rpi-4-b.dtb", "10000000/overlays/overlay_map.dtb",
                                    "10000000/cmdline.txt",         "10000000/kernel8.img"};
  EXPECT_EQ(paths, expected);
  EXPECT_TRUE(s.booted());
  EXPECT_FALSE(s.failed());
  EXPECT_TRUE(s.prefix_confirmed());
}

TEST(TftpPiBootSequence, Pi4WithoutSerialFolderTriesStartElfThenClearsThePrefix) {
  pi_boot_sequence s{pi_board::pi4, 0x10000001};
  auto paths = walk(s, [](pi_file_request const& r) {
    if (r.path().starts_with("10000001/")) return pi_file_result::not_found;
    if (r.role == pi_file_role::normally_missing) return pi_file_result::not_found;
    return all_there(r);
  });
  ASSERT_GE(paths.size(), 4U);
  EXPECT_EQ(paths[0], "10000001/start4.elf");
  EXPECT_EQ(paths[1], "10000001/start.elf");
  EXPECT_EQ(paths[2], "pieeprom.sig");
  EXPECT_EQ(paths.back(), "kernel8.img");
  EXPECT_TRUE(s.booted());
  EXPECT_FALSE(s.prefix_confirmed());
  EXPECT_EQ(s.prefix(), "");
}

TEST(TftpPiBootSequence, Pi4FoundByStartElfKeepsThePrefix) {
  pi_boot_sequence s{pi_board::pi4, 0x10000002};
  auto paths = walk(s, [](pi_file_request const& r) {
    return r.path() == "10000002/start4.elf" && r.kind == pi_step_kind::probe ? pi_file_result::not_found
                                                                              : all_there(r);
  });
  EXPECT_EQ(paths[1], "10000002/start.elf");
  EXPECT_EQ(paths[2], "10000002/pieeprom.sig");
  EXPECT_TRUE(s.booted());
}

TEST(TftpPiBootSequence, Pi5RetriesItsRequiredConfigFromTheRoot) {
  pi_boot_sequence s{pi_board::pi5, 0x20000000};
  auto paths = walk(s, [](pi_file_request const& r) {
    if (r.path().starts_with("20000000/")) return pi_file_result::not_found;
    if (r.path() == "kernel_2712.img" || r.path() == "initramfs_2712") return pi_file_result::not_found;
    return all_there(r);
  });
  ASSERT_GE(paths.size(), 3U);
  EXPECT_EQ(paths[0], "20000000/config.txt");
  EXPECT_EQ(paths[1], "config.txt");
  EXPECT_EQ(paths[2], "pieeprom.sig");
  // 16 K-page kernel and its initramfs missing: kernel8.img + initramfs8 (spec 4.3 Pi 5).
  std::vector<std::string> tail(paths.end() - 4, paths.end());
  EXPECT_EQ(tail,
            (std::vector<std::string>{"initramfs_2712", "initramfs8", "kernel_2712.img", "kernel8.img"}));
  EXPECT_TRUE(s.booted());
}

TEST(TftpPiBootSequence, Pi5WithoutAnyConfigDoesNotBoot) {
  pi_boot_sequence s{pi_board::pi5, 0x20000001};
  auto paths = walk(s, [](pi_file_request const&) { return pi_file_result::not_found; });
  EXPECT_EQ(paths, (std::vector<std::string>{"20000001/config.txt", "config.txt"}));
  EXPECT_TRUE(s.failed());
  EXPECT_FALSE(s.booted());
}

TEST(TftpPiBootSequence, Pi3FallsBackToKernel7) {
  pi_boot_sequence s{pi_board::pi3, 0x30000000};
  auto paths = walk(s, [](pi_file_request const& r) {
    if (r.role == pi_file_role::normally_missing) return pi_file_result::not_found;
    if (r.path().ends_with("kernel8.img")) return pi_file_result::not_found;
    return all_there(r);
  });
  ASSERT_GE(paths.size(), 2U);
  EXPECT_EQ(paths[paths.size() - 2], "30000000/kernel8.img");
  EXPECT_EQ(paths.back(), "30000000/kernel7.img");
  EXPECT_TRUE(s.booted());
}

TEST(TftpPiBootSequence, MissingRequiredFileFailsTheBoot) {
  pi_boot_sequence s{pi_board::pi4, 0x40000000};
  auto paths = walk(s, [](pi_file_request const& r) {
    return r.path().ends_with("fixup4.dat") ? pi_file_result::not_found : all_there(r);
  });
  EXPECT_EQ(paths.back(), "40000000/fixup4.dat");
  EXPECT_TRUE(s.failed());
  EXPECT_FALSE(s.booted());
  s.on_result(pi_file_result::received);  // ignored once done
  EXPECT_TRUE(s.failed());
  EXPECT_FALSE(s.booted());
}

TEST(TftpPiBootSequence, TimeoutOnOptionalFileContinuesOnRequiredFails) {
  pi_boot_sequence s{pi_board::pi4, 0x50000000};
  auto paths = walk(s, [](pi_file_request const& r) {
    if (r.role == pi_file_role::normally_missing || r.role == pi_file_role::optional)
      return pi_file_result::failed;
    return all_there(r);
  });
  EXPECT_TRUE(s.booted());
  pi_boot_sequence k{pi_board::pi4, 0x50000001};
  walk(k, [](pi_file_request const& r) {
    return r.role == pi_file_role::kernel ? pi_file_result::failed : all_there(r);
  });
  EXPECT_TRUE(k.failed());
  EXPECT_FALSE(k.booted());
}

TEST(TftpPiBootSequence, KernelProbeOnlyDoesNotCountAsBooted) {
  pi_boot_sequence s{pi_board::pi3, 0x60000000};
  walk(s, [](pi_file_request const&) { return pi_file_result::found; });
  EXPECT_TRUE(s.is_done());
  EXPECT_FALSE(s.booted());  // the kernel must be received completely
}

TEST(TftpPiBootSequence, NormallyMissingFilesAreNotFatal) {
  for (auto b : kBoards) {
    pi_boot_sequence s{b, 0x70000000};
    walk(s, [](pi_file_request const& r) {
      return r.role == pi_file_role::normally_missing || r.role == pi_file_role::optional
                 ? pi_file_result::not_found
                 : all_there(r);
    });
    EXPECT_TRUE(s.booted()) << to_string(b);
  }
}

// Any sequence of outcomes: the walk ends within a bounded number of requests, paths carry the
// prefix only while it is in use, and "booted" means the kernel step was received.
TEST(TftpPiBootSequence, RandomOutcomesKeepTheInvariants) {
  std::uint64_t state = 0x243f6a8885a308d3ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  constexpr std::array<pi_file_result, 4> results{pi_file_result::received, pi_file_result::found,
                                                  pi_file_result::not_found, pi_file_result::failed};
  for (int run = 0; run < 3000; ++run) {
    auto board = kBoards[static_cast<std::size_t>(run) % kBoards.size()];
    auto serial = static_cast<std::uint32_t>(next());
    pi_boot_sequence s{board, serial};
    std::string prefix{s.prefix()};
    ASSERT_EQ(prefix.size(), 9U);
    std::size_t requests = 0;
    bool kernel_received = false;
    while (!s.is_done()) {
      auto r = s.current();
      ASSERT_TRUE(r);
      ASSERT_LE(++requests, 3 * s.steps().size()) << "does not terminate";
      auto const& step = s.steps()[r->step];
      EXPECT_EQ(r->path().starts_with(prefix), r->prefixed);
      EXPECT_TRUE(r->path().ends_with(r->alternative ? step.alternative : step.file));
      EXPECT_FALSE(step.root_only && r->prefixed);
      auto res = results[next() % results.size()];
      if (r->role == pi_file_role::kernel && res == pi_file_result::received) kernel_received = true;
      s.on_result(res);
    }
    EXPECT_EQ(s.booted(), kernel_received);
    EXPECT_FALSE(s.booted() && s.failed());
  }
}

}  // namespace
}  // namespace pinetboot::tftp
