#include <gtest/gtest.h>

#include <cmath>

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

TEST(Strings, NumbersInShortestRoundTripForm) {
  EXPECT_EQ(format_number(0.9), "0.9");
  EXPECT_EQ(format_number(1e-6), "1e-06");
  EXPECT_EQ(format_number(0.1 + 0.2), "0.30000000000000004");  // exact, as short as it can be
  EXPECT_EQ(format_number(100), "100");
  EXPECT_EQ(format_number(std::nan("")), "nan");
  EXPECT_EQ(format_number(-HUGE_VAL), "-inf");
  for (double v : {0.9, 1e-6, 3.14159, 1.0 / 3, 6.02e23})
    EXPECT_EQ(std::stod(format_number(v)), v);
}

TEST(Strings, CsvFieldsQuotedAsRfc4180) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(Strings, FormatDuration) {
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3725), "1:02:05");
  EXPECT_EQ(format_duration(-3), "0:00");
}

}  // namespace tf
