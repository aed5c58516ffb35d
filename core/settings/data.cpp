#include "core/settings/data.hpp"

#include <array>
#include <string>

#include "core/detail/settings_rules.hpp"

namespace kernelmc::core {

using namespace detail;

namespace {

// The data kinds make_dataset knows (DataSettings::kind).
constexpr std::array<std::string_view, 6> kDataKinds = {"xor",     "config_a", "config_b",
                                                        "teacher", "csv",      "fashion_mnist"};
constexpr std::array<std::string_view, 3> kReductions = {"none", "downsample", "pca"};

void validate_image_task(const DataSettings& s) {
  if (s.images_idx.empty()) fail("data.images_idx", "\"\"", "must name an IDX file");
  if (s.labels_idx.empty()) fail("data.labels_idx", "\"\"", "must name an IDX file");
  if (s.classes.size() != 2 || s.classes[0] == s.classes[1])
    fail("data.classes", list_text(s.classes), "needs two different labels");
  for (Eigen::Index label : s.classes) {
    if (label < 0) fail("data.classes", list_text(s.classes), "labels are non-negative integers");
  }
  if (!is_one_of(s.reduction, kReductions))
    fail("data.reduction", quote_text(s.reduction), "unknown reduction (expected none, downsample or pca)");
  require_positive("data.reduced_dim", s.reduced_dim);
}

}  // namespace

void validate(const DataSettings& settings) {
  if (!is_one_of(settings.kind, kDataKinds))
    fail("data.kind", quote_text(settings.kind),
         "unknown kind (expected xor, config_a, config_b, teacher, csv or fashion_mnist)");
  require_positive("data.points", settings.points);
  require_positive("data.input_dim", settings.input_dim);
  // The XOR centres (±1, ±1, 0, …) need two coordinates.
  if (settings.kind == "xor" && settings.input_dim < 2)
    fail("data.input_dim", number_text(settings.input_dim), "xor needs at least 2 dimensions");
  require_finite_non_negative("data.noise", settings.noise);
  require_positive("data.teacher_width", settings.teacher_width);
  if (activation_name(settings.teacher_activation) == "unknown")
    fail("data.teacher_activation", std::to_string(static_cast<int>(settings.teacher_activation)),
         "unknown activation");
  if (settings.kind == "csv") {
    if (settings.inputs_csv.empty())
      fail("data.inputs_csv", "\"\"", "must name a file when data.kind = \"csv\"");
    if (settings.targets_csv.empty())
      fail("data.targets_csv", "\"\"", "must name a file when data.kind = \"csv\"");
  }
  if (settings.kind == "fashion_mnist") validate_image_task(settings);
}

}  // namespace kernelmc::core
