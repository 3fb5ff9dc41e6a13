pinetboot_add_script_test(server_basic server_basic.sh TIMEOUT 240)
