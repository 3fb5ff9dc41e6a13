# Every program refuses a command line it does not understand before binding anything, and
# answers --version/--help (issue 16, "Command lines"); in a network namespace of its own.
pinetboot_add_script_test(cli_refusal cli_refusal.sh TIMEOUT 240 ARGS ${PROJECT_VERSION})
