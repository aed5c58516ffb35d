// The null law behind TiltedExpectationsStatistical.StandardErrorsMatchSpreadOverSeeds:
// with honest 20-batch standard errors, z = (estimate − truth)/SE is t₁₉ and the test
// averages 40 values of z² (F(1, 19)). Prints the tail probabilities of that mean at the
// candidate bounds, and the power against an SE wrong by a factor 2 either way.
// Not part of the build: g++ -O2 -std=c++20 mean_of_f_1_19.cpp && ./a.out (≈ 10 s).
#include <cstdio>
#include <random>

int main() {
  std::mt19937_64 engine(777);
  std::student_t_distribution<double> t(19.0);
  const long replicates = 2000000;
  const double lows[] = {0.3, 0.35, 0.4}, highs[] = {2.2, 2.5, 2.8, 3.0};
  long below[3] = {}, above[4] = {}, detects_large_se[3] = {}, detects_small_se[4] = {};
  for (long r = 0; r < replicates; ++r) {
    double mean = 0.0;
    for (int i = 0; i < 40; ++i) {
      const double z = t(engine);
      mean += z * z / 40.0;
    }
    for (int k = 0; k < 3; ++k) {
      below[k] += mean < lows[k];
      detects_large_se[k] += mean / 4.0 < lows[k];
    }
    for (int k = 0; k < 4; ++k) {
      above[k] += mean > highs[k];
      detects_small_se[k] += mean * 4.0 > highs[k];
    }
  }
  const double R = static_cast<double>(replicates);
  for (int k = 0; k < 3; ++k)
    std::printf("P(mean < %.2f) = %.3g; power against an SE twice too large %.3f\n", lows[k], below[k] / R,
                detects_large_se[k] / R);
  for (int k = 0; k < 4; ++k)
    std::printf("P(mean > %.2f) = %.3g; power against an SE half the truth %.3f\n", highs[k], above[k] / R,
                detects_small_se[k] / R);
}
