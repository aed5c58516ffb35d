#pragma once
// The engine of the network's large matrix products: OpenBLAS's dgemm when the build has
// it (cmake/KernelmcBlas.cmake, KERNELMC_BLAS) in a thread-safe flavour (see
// blas_routes_products) and the product is large enough for it to win, Eigen's product
// otherwise. One call computes
//
//   C = α op(A) op(B)        (op = identity or transpose),
//
// with C's shape fixed by the caller. The choice depends on the shapes only, so a given
// build and machine gives the same bits for any thread count; OpenBLAS runs on one thread
// (kernelmc's threads are chains and row blocks). Only products over a whole batch go
// here: small vector products stay Eigen expressions.
#include <Eigen/Core>

namespace kernelmc::sampling::detail {

enum class Op { none, transpose };

// Products of fewer flops (2mnk) stay Eigen's. Measured with bench_gradient and a
// side loop on the dev machine (AVX-512, OpenBLAS 0.3.21 core Cooperlake): dgemm is
// faster from 4×64·64×64 up and level with Eigen at 4×3·3×64.
inline constexpr double kBlasMinFlops = 16384.0;

// True when this build links a BLAS (bench_gradient's ceiling uses it on one thread).
bool has_blas();
// True when gemm and rank_update may use it: OpenBLAS's pthreads flavour only, set to one
// thread. The serial flavour has no locks and kernelmc calls the BLAS from several threads
// at once (chains, row blocks); with it every product is Eigen's.
bool blas_routes_products();

// C = α op(A) op(B) by the engine above. Shapes must agree (asserted).
void gemm(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
          const Eigen::Ref<const Eigen::MatrixXd>& B, Op op_b, Eigen::Ref<Eigen::MatrixXd> C);

// The lower triangle of the symmetric C (n×n) gets α op(A) op(A)ᵀ added (the strict upper
// triangle is not touched): half the flops of the product. BLAS dsyrk or Eigen's
// rankUpdate, by the same rule as gemm.
void rank_update(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
                 Eigen::Ref<Eigen::MatrixXd> C);

// The same product always by Eigen, and always by the BLAS (requires has_blas()):
// the two ceilings of bench_gradient.
void eigen_gemm(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
                const Eigen::Ref<const Eigen::MatrixXd>& B, Op op_b, Eigen::Ref<Eigen::MatrixXd> C);
void blas_gemm(double alpha, const Eigen::Ref<const Eigen::MatrixXd>& A, Op op_a,
               const Eigen::Ref<const Eigen::MatrixXd>& B, Op op_b, Eigen::Ref<Eigen::MatrixXd> C);

}  // namespace kernelmc::sampling::detail
