#include "core/activation.hpp"

#include <cassert>
#include <cmath>
#include <numbers>
#include <string>

#include "core/error.hpp"

#if KERNELMC_HAVE_LIBMVEC
#include <immintrin.h>
#endif

namespace kernelmc::core {

std::string_view activation_name(Activation activation) {
  switch (activation) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::erf: return "erf";
    case Activation::tanh: return "tanh";
  }
  return "unknown";
}

Activation parse_activation(std::string_view name, std::string_view field) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::erf, Activation::tanh}) {
    if (name == activation_name(a)) return a;
  }
  throw ConfigError(std::string(field) + " = \"" + std::string(name) +
                    "\": unknown activation (expected linear, relu, erf or tanh)");
}

namespace {
// 2/√π, the slope of erf at 0.
constexpr double kTwoOverSqrtPi = 2.0 * std::numbers::inv_sqrtpi;

// Vectorised erf, tanh and erf' over whole matrices, by glibc's libmvec (the x86-64
// vector ABI variants of erf, tanh, exp; glibc ≥ 2.35) at the widest vector of the build's
// ISA. Measured on the AMD EPYC dev machine (AVX-512, one thread, entries/s on [−30, 30]):
// erf 650 M (SLEEF 3.5 u10: 140 M; libm through Eigen, entry by entry: 65–100 M), tanh
// 500 M (SLEEF 290 M; libm 55–95 M), erf' 1090 M (SLEEF exp 760 M; Eigen's packet exp
// 810 M). Eigen 3.4 has erf and tanh packets for float only. Without libmvec the forms
// fall back to libm entry by entry. Every entry goes through the same vector function (a
// short tail is padded to a full packet), so an entry's value depends on its input only.
namespace simd {

// One backend per vector width: libmvec's variants are named _ZGV<isa>N<lanes>v_<function>
// (the x86-64 vector function ABI; isa b = SSE, d = AVX2, e = AVX-512).
#define KERNELMC_LIBMVEC_BACKEND(PACKET, LANES, ISA, MM, DESCRIPTION)                   \
  using Packet = PACKET;                                                               \
  constexpr Eigen::Index kLanes = LANES;                                               \
  constexpr std::string_view kLibrary = "glibc libmvec, " DESCRIPTION " (erf, tanh, exp)"; \
  extern "C" Packet _ZGV##ISA##N##LANES##v_erf(Packet);                                \
  extern "C" Packet _ZGV##ISA##N##LANES##v_tanh(Packet);                               \
  extern "C" Packet _ZGV##ISA##N##LANES##v_exp(Packet);                                \
  inline Packet load(const double* p) { return MM##_loadu_pd(p); }                     \
  inline void store(double* p, Packet x) { MM##_storeu_pd(p, x); }                     \
  inline Packet erf(Packet x) { return _ZGV##ISA##N##LANES##v_erf(x); }                \
  inline Packet tanh(Packet x) { return _ZGV##ISA##N##LANES##v_tanh(x); }              \
  inline Packet exp(Packet x) { return _ZGV##ISA##N##LANES##v_exp(x); }                \
  inline Packet mul(Packet a, Packet b) { return MM##_mul_pd(a, b); }                  \
  inline Packet broadcast(double a) { return MM##_set1_pd(a); }

#if KERNELMC_HAVE_LIBMVEC && defined(__AVX512F__)
KERNELMC_LIBMVEC_BACKEND(__m512d, 8, e, _mm512, "AVX-512")
#elif KERNELMC_HAVE_LIBMVEC && defined(__AVX2__)
KERNELMC_LIBMVEC_BACKEND(__m256d, 4, d, _mm256, "AVX2")
#elif KERNELMC_HAVE_LIBMVEC && defined(__SSE2__)
KERNELMC_LIBMVEC_BACKEND(__m128d, 2, b, _mm, "SSE")
#else
#define KERNELMC_SCALAR_ACTIVATIONS 1
constexpr std::string_view kLibrary = "libm (std::erf, std::tanh) and Eigen's vectorised exp";
#endif

#ifndef KERNELMC_SCALAR_ACTIVATIONS
// out[i] = f(in[i]) for n contiguous entries (in may equal out), f: Packet -> Packet.
template <class F>
void map_contiguous(const double* in, double* out, Eigen::Index n, F f) {
  Eigen::Index i = 0;
  for (; i + kLanes <= n; i += kLanes) store(out + i, f(load(in + i)));
  if (i == n) return;
  alignas(64) double tail[kLanes] = {};
  for (Eigen::Index k = 0; i + k < n; ++k) tail[k] = in[i + k];
  store(tail, f(load(tail)));
  for (Eigen::Index k = 0; i + k < n; ++k) out[i + k] = tail[k];
}

// inout[i] *= f(in[i]) for n contiguous entries.
template <class F>
void scale_contiguous(const double* in, double* inout, Eigen::Index n, F f) {
  Eigen::Index i = 0;
  for (; i + kLanes <= n; i += kLanes) store(inout + i, mul(load(inout + i), f(load(in + i))));
  if (i == n) return;
  alignas(64) double tail[kLanes] = {};
  for (Eigen::Index k = 0; i + k < n; ++k) tail[k] = in[i + k];
  store(tail, f(load(tail)));
  for (Eigen::Index k = 0; i + k < n; ++k) inout[i + k] *= tail[k];
}

struct Erf {
  Packet operator()(Packet x) const { return erf(x); }
};
struct Tanh {
  Packet operator()(Packet x) const { return tanh(x); }
};
// (2/√π) e^{−x²}.
struct ErfDerivative {
  Packet operator()(Packet x) const {
    return mul(broadcast(kTwoOverSqrtPi), exp(mul(broadcast(-1.0), mul(x, x))));
  }
};

// run(in, out, n) over every contiguous run of n entries of two equally shaped matrices:
// one run when neither has padding between columns, else one per column.
template <class Run>
void for_each_run(const Eigen::Ref<const Eigen::MatrixXd>& in, Eigen::Ref<Eigen::MatrixXd> out, Run run) {
  if (in.outerStride() == in.rows() && out.outerStride() == out.rows()) {
    run(in.data(), out.data(), in.size());
    return;
  }
  for (Eigen::Index j = 0; j < in.cols(); ++j) run(in.col(j).data(), out.col(j).data(), in.rows());
}

// out = f(in) entry by entry.
template <class F>
void map_columns(const Eigen::Ref<const Eigen::MatrixXd>& in, Eigen::Ref<Eigen::MatrixXd> out, F f) {
  for_each_run(in, out, [f](const double* a, double* b, Eigen::Index n) { map_contiguous(a, b, n, f); });
}

// inout ∘= f(in) entry by entry.
template <class F>
void scale_columns_by(const Eigen::Ref<const Eigen::MatrixXd>& in, Eigen::Ref<Eigen::MatrixXd> inout, F f) {
  for_each_run(in, inout, [f](const double* a, double* b, Eigen::Index n) { scale_contiguous(a, b, n, f); });
}
#else
struct Erf {
  double operator()(double x) const { return std::erf(x); }
};
struct Tanh {
  double operator()(double x) const { return std::tanh(x); }
};
struct ErfDerivative {};

template <class F>
void map_columns(const Eigen::Ref<const Eigen::MatrixXd>& in, Eigen::Ref<Eigen::MatrixXd> out, F f) {
  out = in.unaryExpr(f);
}
inline void map_columns(const Eigen::Ref<const Eigen::MatrixXd>& in, Eigen::Ref<Eigen::MatrixXd> out,
                        ErfDerivative) {
  out = (kTwoOverSqrtPi * (-in.array().square()).exp()).matrix();
}
inline void scale_columns_by(const Eigen::Ref<const Eigen::MatrixXd>& in, Eigen::Ref<Eigen::MatrixXd> inout,
                             ErfDerivative) {
  inout.array() *= kTwoOverSqrtPi * (-in.array().square()).exp();
}
#endif

}  // namespace simd

}  // namespace

double activation_value(Activation activation, double x) {
  switch (activation) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0.0 ? x : 0.0;
    case Activation::erf: return std::erf(x);
    case Activation::tanh: return std::tanh(x);
  }
  return x;
}

double activation_derivative(Activation activation, double x) {
  switch (activation) {
    case Activation::linear: return 1.0;
    case Activation::relu: return x > 0.0 ? 1.0 : 0.0;
    case Activation::erf: return kTwoOverSqrtPi * std::exp(-x * x);
    case Activation::tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
  }
  return 1.0;
}

double activation_second_derivative(Activation activation, double x) {
  switch (activation) {
    case Activation::linear: return 0.0;
    case Activation::relu: return 0.0;
    case Activation::erf: return -2.0 * x * kTwoOverSqrtPi * std::exp(-x * x);
    case Activation::tanh: {
      const double t = std::tanh(x);
      return -2.0 * t * (1.0 - t * t);
    }
  }
  return 0.0;
}

std::string_view activation_math_library() { return simd::kLibrary; }

void apply_activation(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                      Eigen::Ref<Eigen::MatrixXd> out) {
  assert(out.rows() == h.rows() && out.cols() == h.cols());
  switch (activation) {
    case Activation::linear: out = h; return;
    // Not h.array().max(0.0): GCC 12 warns (-Wmaybe-uninitialized) inside Eigen's AVX-512 pmax.
    case Activation::relu: out = h.unaryExpr([](double x) { return x > 0.0 ? x : 0.0; }); return;
    case Activation::erf: simd::map_columns(h, out, simd::Erf{}); return;
    case Activation::tanh: simd::map_columns(h, out, simd::Tanh{}); return;
  }
}

void apply_activation_derivative(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                                 Eigen::Ref<Eigen::MatrixXd> out) {
  assert(out.rows() == h.rows() && out.cols() == h.cols());
  switch (activation) {
    case Activation::linear: out.setOnes(); return;
    case Activation::relu: out = (h.array() > 0.0).cast<double>().matrix(); return;
    case Activation::erf: simd::map_columns(h, out, simd::ErfDerivative{}); return;
    case Activation::tanh:
      simd::map_columns(h, out, simd::Tanh{});
      out.array() = 1.0 - out.array().square();
      return;
  }
}

void multiply_by_activation_derivative(Activation activation, const Eigen::Ref<const Eigen::MatrixXd>& h,
                                       const Eigen::Ref<const Eigen::MatrixXd>& phi,
                                       Eigen::Ref<Eigen::MatrixXd> delta) {
  assert(delta.rows() == h.rows() && delta.cols() == h.cols());
  switch (activation) {
    case Activation::linear: return;
    case Activation::relu: delta = (h.array() > 0.0).select(delta.array(), 0.0).matrix(); return;
    case Activation::erf: simd::scale_columns_by(h, delta, simd::ErfDerivative{}); return;
    case Activation::tanh: delta.array() *= 1.0 - phi.array().square(); return;
  }
}

}  // namespace kernelmc::core
