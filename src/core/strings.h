// Small string helpers used for messages: edit distance and "did you mean".
#pragma once

#include <string>
#include <vector>

namespace tf {

// Levenshtein distance between two strings.
size_t edit_distance(const std::string& a, const std::string& b);

// The closest candidate to `word` if it is close enough to be a likely typo,
// else an empty string.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

// The shortest text that reads back as exactly `v` ("0.9", "1e-06", "100"),
// "nan", "inf" or "-inf" for the non-finite values.
std::string format_number(double v);

// One CSV field as RFC 4180 writes it: quoted (with `"` doubled) when it holds
// a comma, a quote or a line break; as it is otherwise.
std::string csv_field(const std::string& v);

// Format a duration in seconds as H:MM:SS or M:SS.
std::string format_duration(double seconds);

}  // namespace tf
