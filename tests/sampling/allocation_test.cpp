// Tests that the hot paths allocate nothing: every sampler's transitions and both
// posteriors' gradients, once constructed and past their first calls. Allocations are
// counted at the C allocator (malloc, calloc, realloc, memalign), which sees every heap
// allocation: libstdc++'s global operator new calls malloc, and so does Eigen's
// aligned_malloc (which never goes through operator new). The counting replacements
// forward to glibc's own allocator (__libc_malloc, ...), so memory from either side can
// be freed by the other.
//
// Under AddressSanitizer (which replaces malloc itself) the counter is not installed and
// the tests are skipped.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>

#include "core/dataset_generators.hpp"
#include "core/model_spec.hpp"
#include "core/rng.hpp"
#include "sampling/collapsed_posterior.hpp"
#include "sampling/full_posterior.hpp"
#include "sampling/integrators.hpp"
#include "sampling/sampler.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define KERNELMC_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KERNELMC_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef KERNELMC_COUNT_ALLOCATIONS
#define KERNELMC_COUNT_ALLOCATIONS 1
#endif

namespace {
// Allocations made by this thread while counting is on. Plain thread-locals with constant
// initialisers: reading them allocates nothing.
thread_local bool counting = false;
thread_local long allocations = 0;
void note_allocation() {
  if (counting) ++allocations;
}
}  // namespace

#if KERNELMC_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) {
  note_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  note_allocation();
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
  note_allocation();
  return __libc_realloc(pointer, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  note_allocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  note_allocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** pointer, std::size_t alignment, std::size_t size) {
  note_allocation();
  *pointer = __libc_memalign(alignment, size);
  return *pointer == nullptr ? 12 /* ENOMEM */ : 0;
}
}  // extern "C"
#endif

namespace kernelmc::sampling {
namespace {

// Counts the allocations of this thread during its lifetime.
class AllocationCounter {
 public:
  AllocationCounter() {
    allocations = 0;
    counting = true;
  }
  ~AllocationCounter() { counting = false; }
  long count() const { return allocations; }
};

#define SKIP_WITHOUT_COUNTER()                                                      \
  if (!KERNELMC_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counter not installed " \
                                                   "(AddressSanitizer replaces malloc)"

TEST(AllocationCounter, SeesEigenAndOperatorNew) {
  SKIP_WITHOUT_COUNTER();
  // The must-fail twin of the tests below: the counter sees both kinds of allocation.
  AllocationCounter counter;
  Eigen::VectorXd v(1000);
  asm volatile("" : : "g"(v.data()) : "memory");  // keep the allocation
  const long after_eigen = counter.count();
  auto p = std::make_unique<double>(1.0);
  asm volatile("" : : "g"(p.get()) : "memory");
  EXPECT_EQ(after_eigen, 1);
  EXPECT_EQ(counter.count(), 2);
}

enum class Form { full, collapsed };

// A small network on Config B's data (P = 4) and a larger one on XOR data (P = 48, where
// Eigen's products take the blocked GEMM path).
struct Problem {
  core::ModelSpec spec;
  core::Dataset data;
};

Problem config_b_problem() {
  return {core::uniform_model(3, 2, 16, core::Activation::erf, 2.0, 0.0, 1.0), core::config_b_dataset()};
}

Problem xor_problem() {
  core::Engine engine = core::make_stream(5, core::StreamPurpose::test, 0, 0);
  core::Dataset data = core::xor_dataset(48, 4, 0.1, engine);
  return {core::uniform_model(4, 2, 40, core::Activation::tanh, 1.5, 0.1, 1.0), data};
}

std::unique_ptr<Potential> make_potential(Form form, const Problem& problem) {
  if (form == Form::full) return std::make_unique<FullPosterior>(problem.spec, problem.data);
  return std::make_unique<CollapsedPosterior>(problem.spec, problem.data);
}

struct Case {
  SamplerKind kind;
  bool metropolis_correction;
  const char* name;
};

// Warms the sampler up (adaptation may allocate), runs 200 transitions more (NUTS creates
// the workspace of each tree depth the first time it is reached), then counts the
// allocations of transitions until 1000 leapfrog steps have been taken.
long allocations_in_1000_leapfrog_steps(const Case& c, Form form, const Problem& problem) {
  const std::unique_ptr<Potential> potential = make_potential(form, problem);
  SamplerSettings settings{.kind = c.kind, .step_size = 0.05, .integration_time = 0.5};
  settings.metropolis_correction = c.metropolis_correction;
  settings.adapt_step_size = c.kind != SamplerKind::overdamped_langevin && c.metropolis_correction;
  if (c.kind == SamplerKind::overdamped_langevin || !c.metropolis_correction) settings.step_size = 1e-3;
  const std::unique_ptr<Sampler> sampler = make_sampler(settings, *potential);
  core::Engine engine = core::make_stream(7, core::StreamPurpose::test, 0, 0);
  PhasePoint state = make_phase_point(*potential, Eigen::VectorXd::Zero(potential->dimension()));
  sampler->begin_warmup(state, 150, engine);
  for (int i = 0; i < 150; ++i) sampler->transition(state, engine);
  sampler->end_warmup();
  for (int i = 0; i < 200; ++i) sampler->transition(state, engine);
  AllocationCounter counter;
  for (int steps = 0; steps < 1000;) steps += sampler->transition(state, engine).n_leapfrog;
  return counter.count();
}

class TransitionAllocations : public testing::TestWithParam<Case> {};

TEST_P(TransitionAllocations, NoneIn1000LeapfrogStepsOfEitherPosterior) {
  SKIP_WITHOUT_COUNTER();
  for (const Problem& problem : {config_b_problem(), xor_problem()}) {
    const std::string shape = "P = " + std::to_string(problem.data.size());
    EXPECT_EQ(allocations_in_1000_leapfrog_steps(GetParam(), Form::full, problem), 0) << "full, " << shape;
    EXPECT_EQ(allocations_in_1000_leapfrog_steps(GetParam(), Form::collapsed, problem), 0)
        << "collapsed, " << shape;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Samplers, TransitionAllocations,
    testing::Values(Case{SamplerKind::hmc, true, "hmc"}, Case{SamplerKind::nuts, true, "nuts"},
                    Case{SamplerKind::mala, true, "mala"},
                    Case{SamplerKind::underdamped_langevin, true, "underdamped_metropolised"},
                    Case{SamplerKind::underdamped_langevin, false, "underdamped_baoab"},
                    Case{SamplerKind::overdamped_langevin, true, "overdamped"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(GradientAllocations, NoneIn1000GradientsOfEitherPosterior) {
  SKIP_WITHOUT_COUNTER();
  for (const Problem& problem : {config_b_problem(), xor_problem()}) {
    for (Form form : {Form::full, Form::collapsed}) {
      const std::unique_ptr<Potential> potential = make_potential(form, problem);
      core::Engine engine = core::make_stream(8, core::StreamPurpose::test, 0, 0);
      const Eigen::VectorXd theta = 0.5 * core::standard_normal_matrix(engine, potential->dimension(), 1);
      Eigen::VectorXd gradient(potential->dimension());
      potential->value_and_gradient(theta, gradient);
      AllocationCounter counter;
      for (int i = 0; i < 1000; ++i) potential->value_and_gradient(theta, gradient);
      EXPECT_EQ(counter.count(), 0) << (form == Form::full ? "full" : "collapsed") << ", P = "
                                    << problem.data.size();
    }
  }
}

}  // namespace
}  // namespace kernelmc::sampling
