# Warnings, the instruction set and Eigen's threading switch are set per target, never
# globally, so that dependencies are compiled as their authors intended (STYLE.md §8).

# The instruction set of every kernelmc target: "native" (the build machine's, the
# default), a portable level such as "x86-64-v3" (AVX2 + FMA, any x86-64 from 2015 on) or
# "x86-64-v4" (AVX-512), "x86-64" (SSE2 baseline), or "none" (no -march flag). One value
# for all targets: Eigen's packet sizes and alignment depend on it, so mixing ISAs between
# translation units would break the one-definition rule. A different ISA changes the
# last bits of results (FMA contraction, vector widths), never more; on one build results
# are bit-identical for any thread count.
set(KERNELMC_ARCH "native" CACHE STRING
    "-march= of every kernelmc target: native, x86-64-v3, x86-64-v4, x86-64, or none")
if(KERNELMC_ARCH STREQUAL "none")
  set(KERNELMC_ARCH_FLAGS "")
else()
  set(KERNELMC_ARCH_FLAGS "-march=${KERNELMC_ARCH}")
  include(CheckCXXCompilerFlag)
  check_cxx_compiler_flag(${KERNELMC_ARCH_FLAGS} KERNELMC_ARCH_SUPPORTED_${KERNELMC_ARCH})
  if(NOT KERNELMC_ARCH_SUPPORTED_${KERNELMC_ARCH})
    message(FATAL_ERROR "KERNELMC_ARCH=${KERNELMC_ARCH}: ${CMAKE_CXX_COMPILER} rejects ${KERNELMC_ARCH_FLAGS}")
  endif()
endif()

# What "native" means on this machine (GCC names the CPU, e.g. znver4), for the provenance.
set(KERNELMC_ARCH_RESOLVED "${KERNELMC_ARCH}")
if(KERNELMC_ARCH STREQUAL "native" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -march=native -Q --help=target
                  OUTPUT_VARIABLE target_help ERROR_QUIET)
  if(target_help MATCHES "-march=[ \t]+([A-Za-z0-9_.-]+)")
    set(KERNELMC_ARCH_RESOLVED "native (${CMAKE_MATCH_1})")
  endif()
endif()

# The full compile line of kernelmc's code, recorded in every result's provenance.
string(TOUPPER "${CMAKE_BUILD_TYPE}" build_type_upper)
string(STRIP "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${build_type_upper}} ${KERNELMC_ARCH_FLAGS}"
       KERNELMC_COMPILE_FLAGS)
message(STATUS "kernelmc: KERNELMC_ARCH=${KERNELMC_ARCH_RESOLVED}, flags: ${KERNELMC_COMPILE_FLAGS}")

# GCC before 12.3 reports -W(maybe-)uninitialized inside its own AVX-512 intrinsics header
# (_mm512_undefined_pd, GCC bug 105593) wherever Eigen's AVX-512 kernels are inlined: a
# false positive in every matrix product. Builds for an AVX-512 ISA with such a GCC turn
# these two warnings off; the portable build (x86-64-v3) keeps them.
set(KERNELMC_WARNING_FLAGS -Wall -Wextra)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 12.3)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "${KERNELMC_ARCH_FLAGS}")
  check_cxx_source_compiles("#ifndef __AVX512F__\n#error no AVX-512\n#endif\nint main() { return 0; }"
                            KERNELMC_ARCH_HAS_AVX512_${KERNELMC_ARCH})
  unset(CMAKE_REQUIRED_FLAGS)
  if(KERNELMC_ARCH_HAS_AVX512_${KERNELMC_ARCH})
    list(APPEND KERNELMC_WARNING_FLAGS -Wno-maybe-uninitialized -Wno-uninitialized)
  endif()
endif()

function(kernelmc_target_options target)
  target_compile_options(${target} PRIVATE ${KERNELMC_WARNING_FLAGS} ${KERNELMC_ARCH_FLAGS})
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
       ${CMAKE_CURRENT_SOURCE_DIR}/diagnostics/*.cpp
       ${CMAKE_CURRENT_SOURCE_DIR}/settings/*.cpp)
  if(NOT sources)
    message(FATAL_ERROR "kernelmc_library(${name}): no .cpp files in ${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  add_library(kernelmc_${name} ${sources})
  add_library(kernelmc::${name} ALIAS kernelmc_${name})
  target_include_directories(kernelmc_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(kernelmc_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  kernelmc_target_options(kernelmc_${name})
  # Public too: whatever links a kernelmc library (fuzz targets included) shares its ISA.
  target_compile_options(kernelmc_${name} PUBLIC ${KERNELMC_ARCH_FLAGS})
endfunction()
