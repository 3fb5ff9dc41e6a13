# 200 simulated Pi 4s through 1 % loss and 1 ms delay (issue "pinetboot-server": boot storm).
pinetboot_add_script_test(boot_storm boot_storm.sh TIMEOUT 300)
set_tests_properties(integration.boot_storm PROPERTIES RUN_SERIAL TRUE)
