# DHCP interop and durability tests (network namespaces; skipped when not root).
pinetboot_add_script_test(dhcp_full dhcp_full.sh TIMEOUT 150)
pinetboot_add_script_test(dhcp_proxy dhcp_proxy.sh TIMEOUT 120)
pinetboot_add_script_test(dhcp_pi_models dhcp_pi_models.sh TIMEOUT 120)
pinetboot_add_script_test(dhcp_durability dhcp_durability.sh TIMEOUT 150)
