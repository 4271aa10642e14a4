// File-system helpers with the product's safety rules: files are written
// atomically (temp file + rename) and an existing run folder is never reused.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace tf {

namespace fs = std::filesystem;

// Writes `content` to `path` through `path.tmp.<pid>` + fsync + rename, so a
// reader sees either the old file or the complete new one. A failed write
// (disk full, read-only, quota, I/O error) removes the temp file, leaves the
// old file as it was and throws IoError naming `path`. `durable` false
// skips the fsyncs: still atomic against a killed process, but a machine
// crash may lose the file (for frequent, re-creatable files such as resume
// checkpoints).
void atomic_write(const fs::path& path, const std::string& content, bool durable = true);

// Calls `writer(tmp_path)` to produce the file, then fsyncs and renames it to
// `path`; on any failure the temp file is removed and an Error (IoError when
// the system said why) names `path`. Prefer atomic_write with the bytes
// serialised in memory: its writes are checked.
void atomic_write_with(const fs::path& path, const std::function<void(const fs::path&)>& writer, bool durable = true);

// Creates `root/experiment/id` (id = UTC timestamp when empty) with mkdir, which
// fails when the folder exists: a run never writes into another run's folder.
// With an explicit id that exists already, throws BadInput naming the folder.
fs::path create_run_dir(const fs::path& root, const std::string& experiment, const std::string& id);

// The folder of a resumable job (CV, study): `root/experiment/id`, where id is
// `run_id` or, when empty, `prefix` + a hash of the job's resolved config, so
// that rerunning the same command finds the same folder.
fs::path resumable_dir(const fs::path& root, const std::string& experiment, const std::string& run_id,
                       const std::string& prefix, const std::string& config_yaml);

// Creates `dir` holding config.yaml = `config_yaml`, or accepts it when it
// holds exactly that config already (a resume); BadInput for another config.
void open_resumable(const fs::path& dir, const std::string& config_yaml, const std::string& what);

// The folder of one unit of a resumable job (a fold, a trial): kept as it is
// when an interrupted attempt left a resume checkpoint in it (resume/state.json),
// else emptied and created afresh.
fs::path reuse_or_fresh(const fs::path& dir);

// Reads a whole file; throws BadInput naming the file when it cannot be read.
std::string read_file(const fs::path& path);

// Appends `bytes` to `path` (created when missing) in one checked write,
// fsync'd when `durable`. A failed append is cut off again (the file keeps
// its earlier content) and throws IoError naming `path`.
void append_bytes(const fs::path& path, const std::string& bytes, bool durable);

// Appends one line (newline added), as append_bytes without fsync.
void append_line(const fs::path& path, const std::string& line);

}  // namespace tf
