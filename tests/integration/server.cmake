pinetboot_add_script_test(server_basic server_basic.sh TIMEOUT 240)
pinetboot_add_script_test(server_load server_load.sh TIMEOUT 400)
# Reloads under 30+ live lockstep transfers with a 10 s give-up floor: beside a QEMU boot or a
# fleet test on the two cores a transfer can starve past it, so it runs alone.
set_tests_properties(integration.server_load PROPERTIES RUN_SERIAL TRUE)
pinetboot_add_script_test(server_proxy server_proxy.sh TIMEOUT 120)
# The fleet view (issue 17): /status, the page (headless Chromium when installed), the CLI.
pinetboot_add_script_test(server_status server_status.sh TIMEOUT 240)
set_tests_properties(integration.server_status PROPERTIES RUN_SERIAL TRUE)
pinetboot_add_script_test(server_notify server_notify.sh TIMEOUT 120)
pinetboot_add_script_test(server_limits server_limits.sh TIMEOUT 120)
pinetboot_add_script_test(server_config_checks server_config_checks.sh TIMEOUT 60)
# JSON logs parsed line by line, /metrics through promtool in full and proxy mode (issues 16, 17).
pinetboot_add_script_test(server_observability server_observability.sh TIMEOUT 180)
