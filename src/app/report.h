// `trainfleet report RUN_DIR`: one self-contained report.html (inline SVG, no
// scripts, no network) for any run folder trainfleet writes:
//   training run  learning curves (loss and every metric, train and val), LR;
//                 the test confusion matrix;
//   CV            per-fold scores with mean ± std, the pooled confusion matrix;
//   study         optimisation history (value per trial, best so far),
//                 parameter-vs-value scatter plots, importances, trials table;
//   compare       ranking with error bars (mean ± std), the p-value matrix,
//                 the verdict.
#pragma once

#include <filesystem>
#include <string>

namespace tf {

// Writes RUN_DIR/report.html (atomically) and returns its path; when that
// exists, an earlier report is kept and the new one is report-2.html (-3, ...),
// which is logged. BadInput when the folder is none of the kinds above.
std::filesystem::path write_report(const std::filesystem::path& run_dir);

// The kind of a run folder: "train", "cv", "study", "compare", or "" when unknown.
std::string run_kind(const std::filesystem::path& run_dir);

}  // namespace tf
