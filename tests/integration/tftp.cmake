# TFTP against real clients in network namespaces (issue "TFTP"). Both are timing-sensitive
# (the impaired one especially), so they do not share the machine with other tests.
pinetboot_add_script_test(tftp_interop tftp_interop.sh TIMEOUT 240)
pinetboot_add_script_test(tftp_impaired tftp_impaired.sh TIMEOUT 420)
set_tests_properties(integration.tftp_interop integration.tftp_impaired PROPERTIES RUN_SERIAL TRUE)
