#include <gtest/gtest.h>

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

}  // namespace tf
