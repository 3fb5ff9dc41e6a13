# The generated systemd unit: verify clean, security exposure <= 2.5, man pages installed.
if(PINETBOOT_BUILD_EXAMPLES)
  pinetboot_add_script_test(systemd_unit systemd_unit.sh TIMEOUT 120)
endif()
