# All of pinetboot's build options in one place. Defaults follow PROJECT_IS_TOP_LEVEL so the
# project can be added as a subdirectory without building its tests, fuzzers or examples.
include_guard(GLOBAL)

set(_pnb_top ${PROJECT_IS_TOP_LEVEL})
option(PINETBOOT_BUILD_TESTS "Build the GoogleTest suite" ${_pnb_top})
option(PINETBOOT_BUILD_EXAMPLES "Build the example binaries" ${_pnb_top})
option(PINETBOOT_BUILD_BENCH "Build the Google Benchmark programs" OFF)
option(PINETBOOT_BUILD_FUZZERS "Build the fuzz targets (replay main without libFuzzer)" ${_pnb_top})
option(PINETBOOT_LIBFUZZER "Link fuzz targets with clang's libFuzzer" OFF)
option(PINETBOOT_INSTALL "Install the library, headers, CMake package and programs" ${_pnb_top})
option(PINETBOOT_WERROR "Treat warnings as errors" OFF)
set(PINETBOOT_SANITIZE "" CACHE STRING "Sanitizers to enable, e.g. address,undefined")

# Warnings are PRIVATE per target, from this one function.
# -Wno-missing-field-initializers: designated initializers that rely on member defaults
# ({.port = 69}) are the intended way to fill option structs.
function(pinetboot_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
                                           -Wshadow -Wno-missing-field-initializers)
  if(PINETBOOT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(PINETBOOT_SANITIZE)
  add_compile_options(-fsanitize=${PINETBOOT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${PINETBOOT_SANITIZE})
endif()
if(PINETBOOT_LIBFUZZER)
  # Instrument everything for coverage; only fuzz targets link the libFuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
