# Installation: `cmake --install build --prefix P` puts
#   P/bin/rgflow                                  the executable
#   P/include/rgflow/...                          the public headers (and rgflow/version.hpp)
#   P/lib/librgflow_core.a, librgflow_kernels.a   the libraries
#   P/lib/cmake/rgflow/                           find_package(rgflow): target rgflow::rgflow
#   P/lib/pkgconfig/rgflow.pc                     pkg-config --cflags --libs rgflow
# (lib is CMAKE_INSTALL_LIBDIR, include CMAKE_INSTALL_INCLUDEDIR.) Included by CMakeLists.txt
# after the targets are defined.
include(CMakePackageConfigHelpers)

# rgflow::rgflow: what another project links. It carries what a program using rgflow's headers
# needs besides the two libraries: the MPI C API alone (as in rgflow's own build), and rgflow's
# instruction set. Eigen sizes its alignment (EIGEN_MAX_ALIGN_BYTES) and vector code by the
# instruction set, and matrices pass between the library and its caller, so both must be
# compiled for the same one: with RGFLOW_NATIVE, the caller is compiled with -march=native too
# (on a cluster, build rgflow and its users on the same kind of node, or turn RGFLOW_NATIVE off).
add_library(rgflow_library INTERFACE)
add_library(rgflow::rgflow ALIAS rgflow_library)
set_target_properties(rgflow_library PROPERTIES EXPORT_NAME rgflow)
target_link_libraries(rgflow_library INTERFACE rgflow_core rgflow_kernels)
target_compile_definitions(rgflow_library INTERFACE OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)
target_compile_features(rgflow_library INTERFACE cxx_std_17)
if(RGFLOW_NATIVE)
  target_compile_options(rgflow_library INTERFACE -march=native)
endif()
set_target_properties(rgflow_core PROPERTIES EXPORT_NAME core)
set_target_properties(rgflow_kernels PROPERTIES EXPORT_NAME kernels)
add_library(rgflow::core ALIAS rgflow_core)
add_library(rgflow::kernels ALIAS rgflow_kernels)

set(RGFLOW_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rgflow)
install(TARGETS rgflow RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS rgflow_library rgflow_core rgflow_kernels EXPORT rgflowTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/rgflow ${RGFLOW_GENERATED_INCLUDE}/rgflow
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT rgflowTargets NAMESPACE rgflow:: DESTINATION ${RGFLOW_CMAKE_INSTALL_DIR})

configure_package_config_file(cmake/rgflowConfig.cmake.in
  ${PROJECT_BINARY_DIR}/generated/rgflowConfig.cmake
  INSTALL_DESTINATION ${RGFLOW_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_BINDIR CMAKE_INSTALL_INCLUDEDIR)
# Until version 1.0 a minor version may change the API: only the same MAJOR.MINOR matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/generated/rgflowConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/generated/rgflowConfig.cmake
              ${PROJECT_BINARY_DIR}/generated/rgflowConfigVersion.cmake
        DESTINATION ${RGFLOW_CMAKE_INSTALL_DIR})

# pkg-config: the prefix relative to the .pc file's folder, so a moved installation still works;
# MPI and HDF5 as found here (their .pc names differ between systems), PETSc, libyaml and Eigen
# by their pkg-config names.
file(RELATIVE_PATH RGFLOW_PC_PREFIX_FROM_PCFILEDIR "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig"
     "/prefix")
string(REGEX REPLACE "/$" "" RGFLOW_PC_PREFIX_FROM_PCFILEDIR "${RGFLOW_PC_PREFIX_FROM_PCFILEDIR}")
set(RGFLOW_PC_CFLAGS -DOMPI_SKIP_MPICXX -DMPICH_SKIP_MPICXX)
if(RGFLOW_NATIVE)
  list(APPEND RGFLOW_PC_CFLAGS -march=native)
endif()
foreach(directory IN LISTS HDF5_C_INCLUDE_DIRS MPI_C_INCLUDE_DIRS)
  list(APPEND RGFLOW_PC_CFLAGS -I${directory})
endforeach()
foreach(definition IN LISTS HDF5_C_DEFINITIONS MPI_C_COMPILE_DEFINITIONS)
  list(APPEND RGFLOW_PC_CFLAGS ${definition})
endforeach()
# The HDF5 libraries themselves (libhdf5_hl, libhdf5; shared, they bring their own dependencies)
# and MPI's.
set(RGFLOW_PC_LIBS ${HDF5_HL_LIBRARIES})
foreach(library IN LISTS HDF5_C_LIBRARIES)
  if(library MATCHES "hdf5")
    list(APPEND RGFLOW_PC_LIBS ${library})
  endif()
endforeach()
list(APPEND RGFLOW_PC_LIBS ${MPI_C_LIBRARIES} ${MPI_C_LINK_FLAGS})
list(JOIN RGFLOW_PC_CFLAGS " " RGFLOW_PC_CFLAGS)
list(JOIN RGFLOW_PC_LIBS " " RGFLOW_PC_LIBS)
configure_file(cmake/rgflow.pc.in ${PROJECT_BINARY_DIR}/generated/rgflow.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/generated/rgflow.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
