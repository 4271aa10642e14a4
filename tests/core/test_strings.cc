#include <gtest/gtest.h>

#include "core/strings.h"

namespace tf {

TEST(Strings, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(Strings, DidYouMean) {
  std::vector<std::string> keys = {"early_stopping_patience", "early_stopping_monitor", "reduce_lr_factor"};
  EXPECT_EQ(did_you_mean("early_stoping_patience", keys), "early_stopping_patience");
  EXPECT_EQ(did_you_mean("completely_unrelated_thing", keys), "");
}

TEST(Strings, FormatDuration) {
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3725), "1:02:05");
  EXPECT_EQ(format_duration(-3), "0:00");
}

}  // namespace tf
