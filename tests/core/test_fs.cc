#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <functional>
#include <stdexcept>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace tf {

TEST(Fs, AtomicWriteReplacesWholeFileAndLeavesNoTemp) {
  test::TempDir dir;
  auto p = dir / "a.txt";
  atomic_write(p, "first");
  atomic_write(p, "second");
  EXPECT_EQ(read_file(p), "second");
  int files = 0;
  for (auto& e : fs::directory_iterator(dir.path())) (void)e, ++files;
  EXPECT_EQ(files, 1);
}

TEST(Fs, FailedWriterKeepsOldFile) {
  test::TempDir dir;
  auto p = dir / "a.txt";
  atomic_write(p, "good");
  EXPECT_THROW(atomic_write_with(p, [](const fs::path& tmp) {
                 test::write_text(tmp, "half");
                 throw Error("writer failed");
               }),
               Error);
  EXPECT_EQ(read_file(p), "good");
  int files = 0;
  for (auto& e : fs::directory_iterator(dir.path())) (void)e, ++files;
  EXPECT_EQ(files, 1);
}

// A full disk, for real: a 16 KiB tmpfs (skipped where mounting is not permitted).
TEST(Fs, WritesOnAFullDiskFailWithIoErrorAndKeepTheOldFiles) {
  test::TempDir dir;
  const fs::path disk = dir / "disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=16k") != 0)
    GTEST_SKIP() << "mounting a tmpfs is not permitted here (needs root)";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{disk};
  atomic_write(disk / "a.json", "{\"good\": 1}\n");
  append_line(disk / "history.csv", "epoch,loss");
  const std::string big(64 * 1024, 'x');
  auto expect_full = [&](const std::function<void()>& write, const fs::path& named) {
    try {
      write();
      FAIL() << "a write past the end of the disk succeeded";
    } catch (const IoError& e) {
      EXPECT_EQ(std::string(e.what()), "cannot write " + named.string() + ": No space left on device");
      EXPECT_EQ(e.error_number(), ENOSPC);
      EXPECT_EQ(e.exit_code(), kExitInternal);
    }
  };
  expect_full([&] { atomic_write(disk / "a.json", big); }, disk / "a.json");
  expect_full([&] { atomic_write(disk / "b.pt", big, false); }, disk / "b.pt");
  expect_full([&] { append_line(disk / "history.csv", big); }, disk / "history.csv");
  expect_full([&] { append_bytes(disk / "study.jsonl", big, true); }, disk / "study.jsonl");
  EXPECT_EQ(read_file(disk / "a.json"), "{\"good\": 1}\n");  // the old file, whole
  EXPECT_EQ(read_file(disk / "history.csv"), "epoch,loss\n");  // the partial line cut off again
  EXPECT_EQ(read_file(disk / "study.jsonl"), "");
  for (const auto& e : fs::directory_iterator(disk))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  // A library's writer that throws its own exception (as LibTorch's does) is
  // reported as one line naming the file; its temp file is removed.
  try {
    atomic_write_with(disk / "c.pt", [](const fs::path& tmp) {
      test::write_text(tmp, "half");
      throw std::runtime_error("PytorchStreamWriter failed writing file\nException raised from ...");
    });
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write " + (disk / "c.pt").string() + ": PytorchStreamWriter failed writing file");
  }
  EXPECT_FALSE(fs::exists(disk / "c.pt"));
  int files = 0;
  for (const auto& e : fs::directory_iterator(disk)) (void)e, ++files;
  EXPECT_EQ(files, 3);  // a.json, history.csv, study.jsonl
}

}  // namespace tf
