# Every option --help prints is in the program's man page; every page renders without
# warnings (issue 16). Needs the programs and the pages (target pinetboot_man) built.
if(PINETBOOT_BUILD_EXAMPLES)
  pinetboot_add_script_test(man_pages man_pages.sh TIMEOUT 60)
endif()
