# Man pages from scdoc(5) sources (Debian: scdoc), one source per page, converted at build time.
#
#   pinetboot_add_man(pinetboot-server.8.scd)
#
# The source's name is the page's name plus ".scd"; the section is its last digit. The source is
# first configured (@ONLY) so that @PROJECT_VERSION@ and the configuration directory
# (@PINETBOOT_MAN_SYSCONFDIR@, /etc for prefix /usr) match the build, then converted by scdoc into
# <binary dir>/<name>.<section>, built by the target pinetboot_man (part of `all`) and installed
# into ${CMAKE_INSTALL_MANDIR}/man<section>. tests/integration/man_pages.sh reads the built pages.
include_guard(GLOBAL)

find_program(SCDOC_EXECUTABLE scdoc)
if(NOT SCDOC_EXECUTABLE)
  message(FATAL_ERROR "scdoc not found: it builds the man pages (Debian: apt-get install scdoc; "
                      "scripts/setup.sh installs it)")
endif()
if(NOT TARGET pinetboot_man)
  add_custom_target(pinetboot_man ALL)
endif()
set(PINETBOOT_MAN_SYSCONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR})

function(pinetboot_add_man source)
  get_filename_component(page ${source} NAME)
  string(REGEX REPLACE "\\.scd$" "" page ${page})
  string(REGEX MATCH "[1-8]$" section ${page})
  if(NOT section)
    message(FATAL_ERROR "${source}: name it NAME.SECTION.scd (e.g. pinetboot-server.8.scd)")
  endif()
  set(configured ${CMAKE_CURRENT_BINARY_DIR}/${page}.scd)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${page})
  configure_file(${source} ${configured} @ONLY)
  add_custom_command(OUTPUT ${out}
    # Through a temporary file: a page scdoc refused must not be left behind as up to date.
    # scdoc's .nh comes before .TH, which turns hyphenation back on ("pinet-boot-simulate");
    # HY=0 keeps it off (groff_man(7)).
    COMMAND sh -c "\"$0\" <\"$1\" >\"$2.tmp\" && sed -i \"$3\" \"$2.tmp\" && mv \"$2.tmp\" \"$2\""
            ${SCDOC_EXECUTABLE} ${configured} ${out} "s/^\\.nh$/.nh\\n.nr HY 0/"
    DEPENDS ${configured}
    COMMENT "scdoc ${page}"
    VERBATIM)
  string(REPLACE "." "_" target pinetboot_man_${page})
  add_custom_target(${target} DEPENDS ${out})
  add_dependencies(pinetboot_man ${target})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endfunction()
