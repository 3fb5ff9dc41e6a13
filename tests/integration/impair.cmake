pinetboot_add_script_test(impair.clean impair.sh TIMEOUT 120 ARGS clean)
pinetboot_add_script_test(impair.lossy impair.sh TIMEOUT 120 ARGS lossy)
