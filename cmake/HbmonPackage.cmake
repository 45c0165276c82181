# Debian packages with CPack: `cpack -G DEB` in the build directory (or
# `cpack -G DEB --config BUILD/CPackConfig.cmake`) makes
#   hbmon                 programs, man pages, templates, examples, the
#                         .proto contract, systemd units when the tree has
#                         them; creates the hbmon user and /var/lib/hbmon
#   libhbmon-client0      the robot client library (shared)
#   libhbmon-client-dev   its headers, static archive, .pc and CMake files
# Included last: every install() rule of the tree is known by then, and
# every component that is not the client library's goes into hbmon, so
# units or files added later are packaged without a change here.
# docs/install.md says how to build and install them.

set(HBMON_PACKAGE_MAINTAINER "hbmon maintainers <hbmon@example.org>"
    CACHE STRING "Maintainer field of the Debian packages")
set(HBMON_DEB_RELEASE 1 CACHE STRING "Debian revision of the packages")

if(NOT HBMON_GZIP)
  hbmon_require_program(HBMON_GZIP gzip gzip)
endif()
set(HBMON_DEB_VERSION "${PROJECT_VERSION}-${HBMON_DEB_RELEASE}")
set(pkgdir ${CMAKE_SOURCE_DIR}/packaging/deb)

# Each package's /usr/share/doc/PKG: copyright and changelog.Debian.gz,
# which Debian requires. Only packaging installs them (EXCLUDE_FROM_ALL).
# The date is SOURCE_DATE_EPOCH's when set (reproducible builds).
string(TIMESTAMP HBMON_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(doc_outputs)
foreach(pair "hbmon;hbmon" "client;libhbmon-client0"
             "client-dev;libhbmon-client-dev")
  list(GET pair 0 component)
  list(GET pair 1 HBMON_DEB_PACKAGE)
  set(dir ${CMAKE_BINARY_DIR}/packaging/${HBMON_DEB_PACKAGE})
  configure_file(${pkgdir}/changelog.in ${dir}/changelog.Debian @ONLY)
  add_custom_command(
    OUTPUT ${dir}/changelog.Debian.gz
    COMMAND sh -c "\"$1\" -9n < \"$2\" > \"$3\""
            sh ${HBMON_GZIP} ${dir}/changelog.Debian ${dir}/changelog.Debian.gz
    DEPENDS ${dir}/changelog.Debian
    COMMENT "changelog of ${HBMON_DEB_PACKAGE}"
    VERBATIM)
  list(APPEND doc_outputs ${dir}/changelog.Debian.gz)
  install(FILES ${pkgdir}/copyright ${dir}/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${HBMON_DEB_PACKAGE}
    COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()
add_custom_target(deb-docs ALL DEPENDS ${doc_outputs})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hbmon)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR hbmon)
set(CPACK_PACKAGE_CONTACT "${HBMON_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_HOMEPAGE_URL "")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${HBMON_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${HBMON_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from the binaries themselves (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

# Components: the client library's two, and everything else in hbmon.
get_cmake_property(HBMON_COMPONENTS COMPONENTS)
set(CPACK_COMPONENTS_ALL ${HBMON_COMPONENTS})
foreach(component IN LISTS HBMON_COMPONENTS)
  if(NOT component MATCHES "^client")
    set(CPACK_COMPONENT_${component}_GROUP hbmon)
    string(TOUPPER "${component}" up)
    set(CPACK_COMPONENT_${up}_GROUP hbmon)
  endif()
endforeach()
set(CPACK_COMPONENT_CLIENT_GROUP libhbmon-client0)
set(CPACK_COMPONENT_CLIENT-DEV_GROUP libhbmon-client-dev)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)

set(CPACK_DEBIAN_HBMON_PACKAGE_NAME hbmon)
set(CPACK_DEBIAN_HBMON_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_HBMON_PACKAGE_DEPENDS "adduser, tzdata")
set(CPACK_DEBIAN_HBMON_PACKAGE_CONTROL_EXTRA
  ${pkgdir}/hbmon/postinst ${pkgdir}/hbmon/prerm ${pkgdir}/hbmon/postrm)
set(CPACK_DEBIAN_HBMON_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_HBMON_DESCRIPTION
"heartbeat monitor for trading robots
hbmon watches trading robots: robot engines report their own health and
the state of each trading account every 60-120 s; hbmon-server records
every heartbeat in SQLite, applies the documented state rules, notices
silence and raises alerts, which hbmon-notify delivers to Telegram,
e-mail, a webhook or any command. hbctl shows the owner what is going on.
hbmon is monitoring only: nothing in it can start, stop or steer trading.")

set(CPACK_DEBIAN_LIBHBMON-CLIENT0_PACKAGE_NAME libhbmon-client0)
set(CPACK_DEBIAN_LIBHBMON-CLIENT0_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIBHBMON-CLIENT0_PACKAGE_CONTROL_EXTRA
  ${pkgdir}/libhbmon-client0/triggers ${pkgdir}/libhbmon-client0/postinst
  ${pkgdir}/libhbmon-client0/postrm)
set(CPACK_DEBIAN_LIBHBMON-CLIENT0_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_LIBHBMON-CLIENT0_DESCRIPTION
"hbmon robot client library
The library trading robot engines link to report their health and their
accounts' state to hbmon-server: signed heartbeats over nng, no heap
allocation per heartbeat, bounded send times.")

set(CPACK_DEBIAN_LIBHBMON-CLIENT-DEV_PACKAGE_NAME libhbmon-client-dev)
set(CPACK_DEBIAN_LIBHBMON-CLIENT-DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBHBMON-CLIENT-DEV_PACKAGE_DEPENDS
  "libhbmon-client0 (= ${HBMON_DEB_VERSION}), libnng-dev, libmbedtls-dev")
set(CPACK_DEBIAN_LIBHBMON-CLIENT-DEV_DESCRIPTION
"hbmon robot client library (development files)
Headers, the static archive, the pkg-config file and the CMake package
(find_package(hbmon-client)) for building robot engines that report to
hbmon-server.")

include(CPack)
