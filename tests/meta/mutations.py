#!/usr/bin/env python3
"""Mutation checks: each guarded behaviour is broken on purpose, one at a time,
and the test that guards it must then fail.

For every entry below: replace OLD by NEW in FILE, build TARGETS in the build
folder, run `ctest -R REGEX`, expect a failure, put FILE back. Prints one line
per entry (DETECTED / NOT DETECTED) and exits 1 when a break went unnoticed.
It edits the sources while it runs: use a checkout nobody else builds in.

usage: tests/meta/mutations.py [--build build] [ID ...]
  make_data_disk_check lets `make-data` start a 3.4 TiB write: run it with
  TMPDIR on a small tmpfs (mount -t tmpfs -o size=64m tmpfs /mnt/small;
  TMPDIR=/mnt/small tests/meta/mutations.py make_data_disk_check).
  data_not_regular makes the corpus test block on a FIFO until ctest's
  --timeout (400 s) ends it. slurm_slow_hook only fails where trials are fast
  (a quiet machine): it is listed, not run, unless named.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (id, file, old, new, build targets, ctest regex)
S = [
 ("class_weights_every_loss", "src/train/losses.cc", 'if (cfg.at("class_weights").is_null()) return {};', 'if (true) return {};', "test_nn", r"^Losses\."),
 ("bayesian_alias", "src/config/aliases.cc", 'sampler = {{"bayesian", "tpe"}}', 'sampler = {}', "test_base", r"^Vocabulary\."),
 ("single_string_list", "src/config/aliases.cc", 'json list = v.is_string() ? json::array({v}) : v;', 'json list = v;', "test_base", r"^Vocabulary\."),
 ("plain_list_categorical", "src/tune/space.cc", 'it.value().is_array() ? nlohmann::json{{"type", "categorical"}', 'false ? nlohmann::json{{"type", "categorical"}', "test_base", r"^Vocabulary\.PlainList"),
 ("foreign_name_hints", "src/config/aliases.cc", 'if (m.name == path || m.name == name) return m.hint;', 'if (false) return m.hint;', "test_base", r"^Vocabulary\.Bare"),
 ("bare_name_search", "src/config/aliases.cc", 'if (model.empty()) return "";', 'return "";', "test_base", r"^Vocabulary\.Bare"),
 ("objective_default", "src/config/aliases.cc", 'doc[ptr] = f1 ? "val_f1_macro" : "val_loss";', 'doc[ptr] = "val_f1_macro";', "test_base", r"^Vocabulary\."),
 ("classical_all_rows", "src/train/run.cc", 'return is_classical(cfg.get_string("model.name")) ? 0.0 : cfg.get_float("data.validation_split");', 'return cfg.get_float("data.validation_split");', "trainfleet", r"^sklearn_cv_svm$"),
 ("cv_early_stop_switch", "src/tune/study.cc", 'tcfg.get_bool("tuning.cv_early_stop")', 'true', "trainfleet test_cli", r"PrunerNoneMeansNone"),
 ("check_space", "src/app/checks.cc", 'if (!cfg.at("tuning.space").is_null()) tune::space_of(cfg);', '', "trainfleet test_cli", r"ConfigCheckRejectsWhatTuneAndCompareWould"),
 ("check_compare", "src/app/checks.cc", 'if (!cfg.at("compare.entries").is_null()) compare::check_entries(cfg);', '', "trainfleet test_cli", r"ConfigCheckRejectsWhatTuneAndCompareWould"),
 ("logs_to_stderr", "src/core/log.cc", 'spdlog::stderr_color_mt("trainfleet")', 'spdlog::stdout_color_mt("trainfleet")', "trainfleet test_cli", r"StdoutCarriesOnlyTheOutput"),
 ("no_colour_off_terminal", "src/core/log.cc", 'spdlog::stderr_color_mt("trainfleet")', 'spdlog::stderr_color_mt("trainfleet", spdlog::color_mode::always)', "trainfleet test_cli", r"StdoutCarriesOnlyTheOutput"),
 ("one_message_under_mpirun", "src/app/main.cc", 'tf::defer_to_first_rank(world.comm.rank());', '(void)0;', "trainfleet test_mpi_cli", r"BadConfigIsReportedOnce"),
 ("shortest_numbers", "src/core/strings.cc", 'auto r = std::to_chars(buf, buf + sizeof buf, v);\n  return std::string(buf, r.ptr);', 'std::snprintf(buf, sizeof buf, "%.17g", v);\n  return buf;', "test_base trainfleet test_cli", r"NumbersPrintInShortest|NumbersInShortest|StdoutCarriesOnly"),
 ("make_data_names_file", "src/app/commands.cc", 'opt.channels, data_out_, counts[0]', 'opt.channels, "", counts[0]', "trainfleet test_cli", r"MessagesSayWhatToDo"),
 ("bogus_subcommand", "src/app/main.cc", '"unknown subcommand \\"" + std::string(argv[1]) + "\\""', '"A subcommand is required"', "trainfleet test_cli", r"MessagesSayWhatToDo"),
 ("missing_data_hint", "src/data/h5io.cc", '" does not exist (set data.path, or --data; `trainfleet make-data --out " +\n                       file + "` writes the synthetic data set there)"', '" does not exist"', "trainfleet test_cli", r"MessagesSayWhatToDo"),
 ("cv_folder_hint", "src/train/run.cc", 'if (fs::exists(d / "folds"))', 'if (false)', "trainfleet test_cli", r"MessagesSayWhatToDo"),
 ("stopped_early_logged", "src/train/callbacks.cc", 'note(notes_, fmt::format("stopped early at epoch', 'if (false) note(notes_, fmt::format("stopped early at epoch', "trainfleet test_cli", r"EarlyStopAndReduceLr"),
 ("reduce_lr_after_epoch", "src/train/callbacks.cc", 'note(notes_, fmt::format("epoch {}: reducing', 'spdlog::info("{}", fmt::format("epoch {}: reducing', "trainfleet test_cli", r"EarlyStopAndReduceLr"),
 ("random_without_replacement", "src/tune/sampler.cc", '    if (!points.empty()) {\n      const int64_t m', '    if (false) {\n      const int64_t m', "test_nn", r"RandomTriesEveryPoint"),
 ("report_whole_ticks", "src/app/report_svg.cc", 'if (whole) step = std::max(1.0, std::round(step));', '(void)whole;', "trainfleet", r"^report_browser$"),
 ("report_slanted_columns", "src/app/report_svg.cc", 'class=\\"a col\\" transform=\\"rotate(-40 ', 'class=\\"a col\\" transform=\\"rotate(0 ', "trainfleet", r"^report_browser$"),
 ("report_legend_fits", "src/app/report_svg.cc", 'const double R = std::max(130.0, 34 + legend)', 'const double R = 130.0 + 0 * legend', "trainfleet", r"^report_browser$"),
 ("report_best_epoch", "src/app/report.cc", 'if (s.value("best_epoch", 0) > 0) {', 'if (false) {', "trainfleet", r"^report_browser$"),
 ("report_kept", "src/app/report.cc", 'for (int n = 2; fs::exists(out); ++n)', 'for (int n = 2; false; ++n)', "trainfleet", r"^report_browser$"),
 ("alias_cycle", "src/config/yaml_text.cc", 'if (a.is(n)) fail(n, "an alias', 'if (false) fail(n, "an alias', "test_base trainfleet test_cli", r"HostileYaml|AliasBombs"),
 ("alias_bomb_budget", "src/config/yaml_text.cc", 'if (++values_ > kMaxValues)', 'if (++values_ > kMaxValues * 1000000000ull)', "test_base trainfleet test_cli", r"HostileYaml|AliasBombs"),
 ("duplicate_keys", "src/config/yaml_text.cc", '      if (!fresh)\n', '      if (false)\n', "test_base trainfleet test_cli", r"HostileYaml|EveryCorpusFile"),
 ("second_document", "src/config/yaml_text.cc", 'if (!docs[i].IsNull())', 'if (false)', "test_base trainfleet test_cli", r"HostileYaml|EveryCorpusFile"),
 ("config_not_regular", "src/config/config.cc", 'check_regular_file(file, "config file");', '', "trainfleet test_cli", r"HostileFilesAndSizes"),
 ("data_not_regular", "src/data/h5io.cc", 'check_regular_file(path, "data file");', '', "trainfleet test_cli", r"EveryCorpusFile"),
 ("run_id_length", "src/jobs/run_folder.cc", 'if (value.size() > kMaxName) bad(', 'if (false) bad(', "test_base trainfleet test_jobs", r"RunFolder\.Names|JobsCli\.BadNames"),
 ("predict_out_folder", "src/train/run.cc", 'TF_CHECK_INPUT(fs::is_directory(folder),', 'TF_CHECK_INPUT(true,', "trainfleet test_cli", r"OddClassNamesAndEmptyClasses"),
 ("h5_memory_check", "src/data/h5io.cc", '  check_memory(checked_product({static_cast<uint64_t>(info.n), bytes_per_row}),', '  if (false) check_memory(checked_product({static_cast<uint64_t>(info.n), bytes_per_row}),', "trainfleet test_cli", r"EveryCorpusFile"),
 ("cnn1d_kernel_fits", "src/models/models.cc", 'TF_CHECK_INPUT(kernels[i] <= len,', 'TF_CHECK_INPUT(true,', "trainfleet test_cli", r"EveryCorpusFile"),
 ("duplicate_class_names", "src/data/h5io.cc", 'if (!seen.insert(names[k]).second) {', 'if (false) {', "trainfleet test_cli", r"EveryCorpusFile"),
 ("csv_quoting", "src/core/strings.cc", 'if (v.find_first_of(",\\"\\r\\n") == std::string::npos) return v;', 'return v;', "test_base trainfleet test_cli", r"CsvFieldsQuoted|OddClassNames"),
 ("time_nan", "src/data/h5io.cc", 'if (!std::isfinite(d.time[i]))', 'if (false)', "trainfleet test_cli", r"EveryCorpusFile"),
 ("empty_class_warning", "src/data/h5io.cc", 'spdlog::warn("{}: class {} \\"{}\\" (attribute class_names) has no rows', 'spdlog::debug("{}: class {} \\"{}\\" (attribute class_names) has no rows', "trainfleet test_cli", r"OddClassNames"),
 ("space_step_zero", "src/tune/space.cc", '|| st.get<double>() <= 0)', '|| st.get<double>() < 0)', "test_base trainfleet test_cli", r"TuningSpacesThatCannotRun|Space\.Parses"),
 ("space_untunable", "src/tune/space.cc", 'for (const char* section : {"experiment.", "tuning.", "runtime."})', 'for (const char* section : {"nothing."})', "test_base trainfleet test_cli", r"TuningSpacesThatCannotRun|Space\.Parses"),
 ("space_nan_inf", "src/tune/space.cc", 'if (!std::isfinite(spec[end].get<double>()))', 'if (false)', "test_base trainfleet test_cli", r"TuningSpacesThatCannotRun|Space\.Parses"),
 ("space_value_text", "src/tune/space.cc", 'return v.is_number_float() ? format_number(v.get<double>()) : v.dump();', 'return v.dump();', "test_base trainfleet test_cli", r"TuningSpacesThatCannotRun|Space\.Parses"),
]
S.append(("objective_default_said", "src/config/aliases.cc", 'spdlog::info("tuning.objective: {} (the default: {})"', 'spdlog::debug("tuning.objective: {} (the default: {})"', "trainfleet test_cli", r"ConfigCheckRejectsWhatTuneAndCompareWould"))
S.append(("make_data_disk_check", "src/data/synth.cc", '  check_disk(window_bytes(opt), path.parent_path(), windows_text(opt));', '', "trainfleet test_cli", r"HostileFilesAndSizes"))
S.append(("report_tick_digits", "src/app/report_svg.cc", 'if (prec >= 17 || std::adjacent_find(out.begin(), out.end()) == out.end()) return out;', 'return out;', "trainfleet", r"^report_browser$"))
S.append(("report_mark_inside", "src/app/report_svg.cc", 'const bool right = mx + 3 + text_width(opt.mark_label) <= W - R;', 'const bool right = true;', "trainfleet", r"^report_browser$"))
S.append(("report_flat_range", "src/app/report_svg.cc", 'const double d = lo != 0 ? 0.5 * std::fabs(lo) : 0.5;', 'const double d = 0.5;', "trainfleet", r"^report_browser$"))
S.append(("report_bar_names", "src/app/report_svg.cc", 'const double L = std::max(130.0, longest + 12)', 'const double L = 130.0 + 0 * longest', "trainfleet", r"^report_browser$"))
S.append(("report_tick_margin", "src/app/report_svg.cc", 'const double L = std::max(66.0, 28 + ywidth);', 'const double L = 66.0 + 0 * ywidth;', "trainfleet", r"^report_browser$"))
S.append(("report_single_point", "src/app/report_svg.cc", 'if (s[i].dots || points == 1) {', 'if (s[i].dots) {', "trainfleet", r"^report_browser$"))
S.append(("slurm_slow_hook", "src/train/fit.cc", 'if (slow_ms > 0 && b == 0)', 'if (false)', "trainfleet", r"^slurm_"))

ON_REQUEST = {"make_data_disk_check", "slurm_slow_hook"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("ids", nargs="*")
    a = ap.parse_args()
    os.chdir(ROOT)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    missed = 0
    for (i, f, old, new, targets, regex) in S:
        if (a.ids and i not in a.ids) or (not a.ids and i in ON_REQUEST):
            continue
        src = open(f).read()
        if old not in src:
            print(f"{i}: the text to break is no longer in {f}")
            missed += 1
            continue
        t0 = time.time()
        open(f, "w").write(src.replace(old, new, 1))
        try:
            b = subprocess.run(["cmake", "--build", a.build, "--target", *targets.split()], capture_output=True, text=True)
            if b.returncode != 0:
                print(f"{i}: the broken code does not build\n{b.stdout[-2000:]}")
                missed += 1
                continue
            t = subprocess.run(["ctest", "--test-dir", a.build, "-R", regex, "--timeout", "400"],
                               capture_output=True, text=True, env=env)
            ok = t.returncode != 0
            missed += not ok
            print(f"{i}: {'DETECTED' if ok else 'NOT DETECTED'} ({time.time() - t0:.0f} s, {f})", flush=True)
        finally:
            open(f, "w").write(src)
            os.utime(f)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
