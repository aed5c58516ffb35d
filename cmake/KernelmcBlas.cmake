# The optional vendor BLAS of the network's large matrix products (sampling/detail/gemm.hpp)
# and of bench_gradient's ceiling: OpenBLAS found by pkg-config. The products go to it only
# when its flavour is thread-safe for concurrent callers (the pthreads flavour, Debian
# libopenblas-pthread-dev, which the wrapper sets to one thread: kernelmc's own threads are
# chains and row blocks, and a BLAS thread count would change its blocking). The serial
# flavour (libopenblas-serial-dev) has no locks around its buffers: with it the products
# stay Eigen's at run time and only bench_gradient's one-thread ceiling uses it.
#
# Defines: KERNELMC_BLAS (option), KERNELMC_BLAS_NAME (for the provenance), and the
# function kernelmc_link_blas(target) (links the BLAS and defines KERNELMC_HAVE_OPENBLAS=1).
option(KERNELMC_BLAS "Route large matrix products through OpenBLAS (single-threaded) when found" ON)
set(KERNELMC_BLAS_NAME "none (Eigen products only)")
if(KERNELMC_BLAS)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(KERNELMC_OPENBLAS QUIET IMPORTED_TARGET openblas)
  endif()
  if(KERNELMC_OPENBLAS_FOUND)
    set(KERNELMC_BLAS_NAME "OpenBLAS ${KERNELMC_OPENBLAS_VERSION} (${KERNELMC_OPENBLAS_LIBDIR})")
  else()
    message(STATUS "kernelmc: KERNELMC_BLAS=ON but pkg-config finds no openblas "
                   "(Debian: libopenblas-pthread-dev): Eigen's products only")
  endif()
endif()
message(STATUS "kernelmc: BLAS: ${KERNELMC_BLAS_NAME}")

function(kernelmc_link_blas target)
  if(KERNELMC_BLAS AND KERNELMC_OPENBLAS_FOUND)
    target_link_libraries(${target} PRIVATE PkgConfig::KERNELMC_OPENBLAS)
    target_compile_definitions(${target} PRIVATE KERNELMC_HAVE_OPENBLAS=1)
  endif()
endfunction()
