// libFuzzer target: the config loader. Any bytes (YAML or JSON text) go through
// parse_text and the schema (Config::resolve); a valid config must survive the
// round trip through its resolved YAML unchanged. BadInput is the only
// acceptable failure: any other exception, a crash, a hang or a leak is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tf::config::Config cfg;
  try {
    cfg = tf::config::Config::resolve(tf::config::parse_text(text, "fuzz.yaml"), "fuzz.yaml");
  } catch (const tf::BadInput&) {
    return 0;
  }
  // What `config --check` prints must load back as the same config.
  const std::string yaml = cfg.to_yaml();
  tf::config::Config again = tf::config::Config::resolve(tf::config::parse_text(yaml, "resolved.yaml"), "resolved.yaml");
  if (again.doc() != cfg.doc()) std::abort();
  return 0;
}
