// Runs each file (or every file in each folder) named on the command line through
// LLVMFuzzerTestOneInput, so fuzz targets build and their corpora run without libFuzzer.
// Arguments starting with '-' (libFuzzer flags such as -runs=0) are ignored.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "pinetboot/core/file.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size);

namespace {
int run_file(std::filesystem::path const& p) {
  std::string buf = pinetboot::core::read_file(p).value_or(std::string{});
  LLVMFuzzerTestOneInput(reinterpret_cast<std::uint8_t const*>(buf.data()), buf.size());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    std::filesystem::path p{argv[i]};
    if (std::filesystem::is_directory(p)) {
      for (auto const& e : std::filesystem::recursive_directory_iterator{p})
        if (e.is_regular_file()) count += run_file(e.path());
    } else {
      count += run_file(p);
    }
  }
  std::printf("replayed %d inputs\n", count);
  return 0;
}
