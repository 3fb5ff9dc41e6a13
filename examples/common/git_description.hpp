// The git description of the source tree the program was built from, for `--version`.
#pragma once

namespace pinetboot::examples {

/// `git describe --tags --long --always --dirty` of the source tree at build time ("385757d-dirty",
/// "v0.1.0-3-g385757d"), or "" when it was not built from a git checkout (a release tarball).
/// Defined in a file generated on every build (cmake/pinetboot_git_description.cmake), in the
/// library pinetboot_examples_version that every program links; only this function depends on
/// it, so a new commit recompiles one small file and relinks the programs.
[[nodiscard]] char const* git_description() noexcept;

}  // namespace pinetboot::examples
