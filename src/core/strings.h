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

// Format a duration in seconds as H:MM:SS or M:SS.
std::string format_duration(double seconds);

}  // namespace tf
