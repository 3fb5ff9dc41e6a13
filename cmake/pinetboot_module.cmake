include_guard(GLOBAL)

# pinetboot_add_module(<name> [NO_INSTALL] [SOURCES ...] [DEPS ...] [PUBLIC_LIBS ...])
# Creates target pinetboot_<name>, alias pinetboot::<name>, exported as pinetboot::<name>.
# A module without sources is an INTERFACE (header-only) library. NO_INSTALL: built for this
# tree's programs and tests only (the simulators), not part of pinetboot::pinetboot, not
# installed, not in the CMake package or pkg-config file.
function(pinetboot_add_module name)
  cmake_parse_arguments(ARG "NO_INSTALL" "" "SOURCES;DEPS;PUBLIC_LIBS" ${ARGN})
  set(target pinetboot_${name})
  if(ARG_SOURCES)
    add_library(${target} STATIC ${ARG_SOURCES})
    set(scope PUBLIC)
    pinetboot_set_warnings(${target})
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON OUTPUT_NAME pinetboot_${name})
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(pinetboot::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_20)
  foreach(dep IN LISTS ARG_DEPS)
    target_link_libraries(${target} ${scope} pinetboot::${dep})
  endforeach()
  if(ARG_PUBLIC_LIBS)
    target_link_libraries(${target} ${scope} ${ARG_PUBLIC_LIBS})
  endif()
  if(NOT ARG_NO_INSTALL)
    set(PINETBOOT_MODULES ${PINETBOOT_MODULES} ${name} CACHE INTERNAL "")
  endif()
endfunction()
