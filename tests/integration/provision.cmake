# pinetboot-provision end to end in a temp --prefix: add/list/verify/remove, idempotence,
# SIGKILL during a copy, images built with sfdisk/mkfs.vfat/mkfs.ext4 (that part is skipped
# when the tools are missing). examples/ is configured after tests/, so the binary is passed by
# path; the script exits 77 (skipped) if it was not built.
pinetboot_add_script_test(provision provision.sh TIMEOUT 300
  ARGS ${PROJECT_BINARY_DIR}/examples/provision/pinetboot-provision)
# The README's "Using it on a real network" block, line by line: install (DESTDIR), image,
# add, exports, --check-config, the unit's commands, a simulated Pi 4, status (issue 16).
pinetboot_add_script_test(readme_flow readme_flow.sh TIMEOUT 300 ARGS ${PROJECT_SOURCE_DIR})
