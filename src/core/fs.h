// File-system helpers with the product's safety rules: files are written
// atomically (temp file + rename). Run folders: jobs/run_folder.h.
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

// BadInput naming `what` and the file unless `path` is a regular file (or a
// link to one): a folder, FIFO, socket or device would read as empty or block.
void check_regular_file(const fs::path& path, const std::string& what);

// Reads a whole file; throws BadInput naming the file when it cannot be read.
std::string read_file(const fs::path& path);

// Appends `bytes` to `path` (created when missing) in one checked write,
// fsync'd when `durable`. A failed append is cut off again (the file keeps
// its earlier content) and throws IoError naming `path`.
void append_bytes(const fs::path& path, const std::string& bytes, bool durable);

// Appends one line (newline added), as append_bytes without fsync.
void append_line(const fs::path& path, const std::string& line);

}  // namespace tf
