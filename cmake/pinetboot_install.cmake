include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(_targets pinetboot_pinetboot)
foreach(module IN LISTS PINETBOOT_MODULES)
  list(APPEND _targets pinetboot_${module})
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pinetboot DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN sim EXCLUDE)
install(TARGETS ${_targets} EXPORT pinetboot-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set(_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/pinetboot)
install(EXPORT pinetboot-targets NAMESPACE pinetboot:: DESTINATION ${_cmakedir})
if("net" IN_LIST PINETBOOT_MODULES)
  set(PINETBOOT_HAS_NET TRUE)
else()
  set(PINETBOOT_HAS_NET FALSE)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pinetboot-config.cmake.in
  ${PROJECT_BINARY_DIR}/pinetboot-config.cmake INSTALL_DESTINATION ${_cmakedir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pinetboot-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pinetboot-config.cmake ${PROJECT_BINARY_DIR}/pinetboot-config-version.cmake
        ${PROJECT_SOURCE_DIR}/cmake/FindAsio.cmake DESTINATION ${_cmakedir})

# pkg-config: one package, libraries in link order (dependents first).
set(_libs "")
set(_rev ${PINETBOOT_MODULES})
list(REVERSE _rev)
foreach(module IN LISTS _rev)
  get_target_property(_type pinetboot_${module} TYPE)
  if(NOT _type STREQUAL "INTERFACE_LIBRARY")
    string(APPEND _libs " -lpinetboot_${module}")
  endif()
endforeach()
set(PINETBOOT_PC_LIBS "${_libs}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/pinetboot.pc.in ${PROJECT_BINARY_DIR}/pinetboot.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pinetboot.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
