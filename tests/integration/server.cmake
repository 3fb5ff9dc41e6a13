pinetboot_add_script_test(server_basic server_basic.sh TIMEOUT 240)
pinetboot_add_script_test(server_load server_load.sh TIMEOUT 400)
pinetboot_add_script_test(server_proxy server_proxy.sh TIMEOUT 120)
pinetboot_add_script_test(server_notify server_notify.sh TIMEOUT 120)
