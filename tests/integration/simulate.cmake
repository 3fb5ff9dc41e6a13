# pinetboot-simulate against pinetboot-dhcpd (full mode) + pinetboot-tftpd in network namespaces
# (issue "fleet simulator"). Boot storms are timing-sensitive: run alone.
pinetboot_add_script_test(simulate_boot simulate_boot.sh TIMEOUT 60)
set_tests_properties(integration.simulate_boot PROPERTIES RUN_SERIAL TRUE)
pinetboot_add_script_test(simulate_boot_lossy simulate_boot.sh TIMEOUT 60 ARGS lossy)
set_tests_properties(integration.simulate_boot_lossy PROPERTIES RUN_SERIAL TRUE)
