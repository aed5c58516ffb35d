#include "sampling/detail/gemm.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>

#if KERNELMC_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace kernelmc::sampling::detail {

namespace {

[[maybe_unused]] Eigen::Index rows_of(const Eigen::Ref<const Eigen::MatrixXd>& M, Op op) {
  return op == Op::none ? M.rows() : M.cols();
}

Eigen::Index cols_of(const Eigen::Ref<const Eigen::MatrixXd>& M, Op op) {
  return op == Op::none ? M.cols() : M.rows();
}

#if KERNELMC_HAVE_OPENBLAS
CBLAS_TRANSPOSE cblas_op(Op op) { return op == Op::none ? CblasNoTrans : CblasTrans; }

// A threaded OpenBLAS flavour would pick its blocking from its thread count; one thread
// makes it run each call on the calling thread. Runs once (a function-local static).
void pin_blas_to_one_thread() {
  static const bool pinned = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)pinned;
}

// Whether the products may go to OpenBLAS: only its pthreads flavour (openblas_get_parallel()
// == 1), built with locks around its buffer pool. The serial flavour (0; Debian's
// libopenblas0-serial 0.3.21) has none: dgemm called from two threads at once corrupts
// results (measured: a stress loop of concurrent 256×256 products, and gradients on 2
// threads that differed from 1 thread by O(1)), and kernelmc calls it from every chain's
// thread. The OpenMP flavour (2) needs a NUM_PARALLEL build for concurrent callers.
bool blas_is_thread_safe() {
  static const bool safe = [] {
    pin_blas_to_one_thread();
    return openblas_get_parallel() == 1;
  }();
  return safe;
}
#endif

}  // namespace

bool has_blas() {
#if KERNELMC_HAVE_OPENBLAS
  return true;
#else
  return false;
#endif
}

bool blas_routes_products() {
#if KERNELMC_HAVE_OPENBLAS
  return blas_is_thread_safe();
#else
  return false;
#endif
}

void eigen_gemm(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
                const Eigen::Ref<const Eigen::MatrixXd>& B, Op op_b, Eigen::Ref<Eigen::MatrixXd> C) {
  if (op_a == Op::none && op_b == Op::none) {
    C.noalias() = alpha * A * B;
  } else if (op_a == Op::none) {
    C.noalias() = alpha * A * B.transpose();
  } else if (op_b == Op::none) {
    C.noalias() = alpha * A.transpose() * B;
  } else {
    C.noalias() = alpha * A.transpose() * B.transpose();
  }
}

void blas_gemm(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
               const Eigen::Ref<const Eigen::MatrixXd>& B, Op op_b, Eigen::Ref<Eigen::MatrixXd> C) {
#if KERNELMC_HAVE_OPENBLAS
  pin_blas_to_one_thread();
  const auto m = static_cast<blasint>(C.rows());
  const auto n = static_cast<blasint>(C.cols());
  const auto k = static_cast<blasint>(cols_of(A, op_a));
  // Leading dimensions are at least 1 even for empty operands (the BLAS checks them).
  const auto lda = static_cast<blasint>(std::max<Eigen::Index>(1, A.outerStride()));
  const auto ldb = static_cast<blasint>(std::max<Eigen::Index>(1, B.outerStride()));
  const auto ldc = static_cast<blasint>(std::max<Eigen::Index>(1, C.outerStride()));
  cblas_dgemm(CblasColMajor, cblas_op(op_a), cblas_op(op_b), m, n, k, alpha, A.data(), lda, B.data(),
              ldb, 0.0, C.data(), ldc);
#else
  (void)alpha, (void)A, (void)op_a, (void)B, (void)op_b, (void)C;
  std::abort();  // unreachable: callers check has_blas()
#endif
}

void gemm(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
          const Eigen::Ref<const Eigen::MatrixXd>& B, Op op_b, Eigen::Ref<Eigen::MatrixXd> C) {
  assert(rows_of(A, op_a) == C.rows() && cols_of(B, op_b) == C.cols());
  assert(cols_of(A, op_a) == rows_of(B, op_b));
  const double flops = 2.0 * static_cast<double>(C.rows()) * static_cast<double>(C.cols()) *
                       static_cast<double>(cols_of(A, op_a));
  if (blas_routes_products() && flops >= kBlasMinFlops) {
    blas_gemm(alpha, A, op_a, B, op_b, C);
  } else {
    eigen_gemm(alpha, A, op_a, B, op_b, C);
  }
}

void rank_update(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
                 Eigen::Ref<Eigen::MatrixXd> C) {
  assert(C.rows() == C.cols() && rows_of(A, op_a) == C.rows());
  const Eigen::Index n = C.rows();
  const Eigen::Index k = cols_of(A, op_a);
  const double flops = static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(k);
#if KERNELMC_HAVE_OPENBLAS
  if (blas_routes_products() && flops >= kBlasMinFlops) {
    cblas_dsyrk(CblasColMajor, CblasLower, cblas_op(op_a), static_cast<blasint>(n), static_cast<blasint>(k),
                alpha, A.data(), static_cast<blasint>(std::max<Eigen::Index>(1, A.outerStride())), 1.0,
                C.data(), static_cast<blasint>(std::max<Eigen::Index>(1, C.outerStride())));
    return;
  }
#endif
  (void)flops;
  if (op_a == Op::none) {
    C.selfadjointView<Eigen::Lower>().rankUpdate(A, alpha);
  } else {
    C.selfadjointView<Eigen::Lower>().rankUpdate(A.transpose(), alpha);
  }
}

}  // namespace kernelmc::sampling::detail
