# Warnings and Eigen's threading switch are set per target, never globally,
# so that dependencies are compiled as their authors intended (STYLE.md §8).
function(kernelmc_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  # Our parallelism is over networks and chains; Eigen's threaded products pick
  # their blocking from the thread count, which would change the last bits.
  target_compile_definitions(${target} PUBLIC EIGEN_DONT_PARALLELIZE)
endfunction()

# One library per folder: kernelmc_<name> with alias kernelmc::<name>. Sources are
# every .cpp in the folder and its detail/ and diagnostics/ subfolders.
function(kernelmc_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp
       ${CMAKE_CURRENT_SOURCE_DIR}/detail/*.cpp
       ${CMAKE_CURRENT_SOURCE_DIR}/diagnostics/*.cpp)
  if(NOT sources)
    message(FATAL_ERROR "kernelmc_library(${name}): no .cpp files in ${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  add_library(kernelmc_${name} ${sources})
  add_library(kernelmc::${name} ALIAS kernelmc_${name})
  target_include_directories(kernelmc_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(kernelmc_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  kernelmc_target_options(kernelmc_${name})
endfunction()
