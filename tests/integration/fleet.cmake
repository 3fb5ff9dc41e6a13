# The fleet's life through pinetboot-provision in a temp --prefix: images, 20 boards in both
# root models, exec, canary/all upgrades, rollback, gc, verify/repair, SIGKILL at each step of
# a move and at random instants. Needs root (image exec chroots in a mount namespace).
pinetboot_add_script_test(fleet fleet.sh TIMEOUT 600
  ARGS ${PROJECT_BINARY_DIR}/examples/provision/pinetboot-provision)
