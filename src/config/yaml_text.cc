// The YAML text side of the config loader: YAML (or JSON) text to JSON values
// with budgets on what a document may expand to, and JSON back to YAML text.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/limits.h"
#include "core/error.h"
#include "core/strings.h"

namespace tf::config {

namespace {

// ------------------------------------------------------------------ YAML -> JSON
json scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted scalar: always a string
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  // Numbers only when they look like numbers: strtod alone would read "nan",
  // "inf" or "0x1p3" as numbers (so a name "nan" would turn into NaN).
  auto numeric = [&] {
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i < s.size() && s[i] == '.') ++i;
    return i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && s.find_first_of("xXpP") == std::string::npos;
  };
  if (!s.empty() && numeric()) {
    char* end = nullptr;
    errno = 0;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (*end == '\0' && errno == 0) return i;
    double d = std::strtod(s.c_str(), &end);
    if (*end == '\0') return d;
  }
  if (s == ".inf" || s == ".Inf" || s == "+.inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN") return std::numeric_limits<double>::quiet_NaN();
  return s;
}

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF). Config text must be: it ends up in JSON files.
bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// YAML aliases point at shared nodes, so a small file can describe a cyclic
// graph (`a: &a [*a]`) or one whose tree is exponentially large ("billion
// laughs"). The conversion walks the tree with a budget on depth and on the
// number of values, and detects cycles, so such a file fails in microseconds.
constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxValues = 100000;

class Converter {
 public:
  explicit Converter(const std::string& source) : source_(source) {}

  json convert(const YAML::Node& n) {
    if (++values_ > kMaxValues)
      fail(n, "the document expands to more than " + std::to_string(kMaxValues) +
                  " values (aliases repeat nodes: is this an alias bomb?)");
    for (const auto& a : ancestors_)
      if (a.is(n)) fail(n, "an alias refers to a node that contains it (a cycle)");
    if (ancestors_.size() >= kMaxDepth) fail(n, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    switch (n.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined: return nullptr;
      case YAML::NodeType::Scalar:
        if (n.Scalar().find('\0') != std::string::npos) fail(n, "the value contains a NUL character (\\0)");
        if (!valid_utf8(n.Scalar())) fail(n, "the value is not valid UTF-8 text");
        return scalar_to_json(n);
      case YAML::NodeType::Sequence: {
        ancestors_.push_back(n);
        json a = json::array();
        size_t i = 0;
        for (const auto& e : n) {
          path_.push_back(i++);
          a.push_back(convert(e));
          path_.pop_back();
        }
        ancestors_.pop_back();
        return a;
      }
      case YAML::NodeType::Map: return convert_map(n);
    }
    return nullptr;
  }

 private:
  // A path element: a mapping key or a sequence index.
  struct Step {
    Step(size_t i) : index(i) {}
    Step(const std::string* k) : key(k) {}
    size_t index = 0;
    const std::string* key = nullptr;
  };

  json convert_map(const YAML::Node& n) {
    ancestors_.push_back(n);
    json o = json::object();
    std::map<std::string, int> line_of;  // key -> line where it first appeared
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) fail(kv.first, "a key must be a plain name, not a list or mapping");
      const std::string& key = kv.first.Scalar();
      if (key.find('\0') != std::string::npos) fail(kv.first, "a key contains a NUL character (\\0)");
      if (!valid_utf8(key)) fail(kv.first, "a key is not valid UTF-8 text");
      const int line = kv.first.Mark().line + 1;
      auto [it, fresh] = line_of.emplace(key, line);
      path_.push_back(&key);
      if (!fresh)
        throw BadInput(source_ + ": " + where() + ": duplicate key at lines " + std::to_string(it->second) + " and " +
                           std::to_string(line) + " (a key may appear once per mapping; merge the two)",
                       __FILE__, __LINE__);
      o[key] = convert(kv.second);
      path_.pop_back();
    }
    ancestors_.pop_back();
    return o;
  }

  // The dotted path of the node being converted: training.metrics[1].
  std::string where() const {
    std::string w;
    for (const auto& s : path_)
      w += s.key ? (w.empty() ? "" : ".") + *s.key : "[" + std::to_string(s.index) + "]";
    return w.empty() ? "<top>" : w;
  }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const {
    std::string at = n.Mark().is_null() ? "" : "line " + std::to_string(n.Mark().line + 1) + ": ";
    throw BadInput(source_ + ": " + at + where() + ": " + msg, __FILE__, __LINE__);
  }

  const std::string& source_;
  size_t values_ = 0;
  std::vector<YAML::Node> ancestors_;
  std::vector<Step> path_;
};

// ------------------------------------------------------------------ before any node is built
// yaml-cpp 0.7 never consumes a token that cannot start a node at the top of a
// document (a stray `,`: the one-byte text "," or "- a\n,"): each call for the
// next document returns one more empty document starting at that token, and
// YAML::LoadAll collects them until memory runs out. This pass walks the
// parser's events without building nodes and stops at a document that starts
// where the previous one did, or at more documents than the text has bytes
// (any document after the first consumes at least one byte).
class DocumentScan : public YAML::EventHandler {
 public:
  DocumentScan(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  void run() {
    std::istringstream in(text_);
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(*this)) {
    }
  }

  void OnDocumentStart(const YAML::Mark& m) override {
    const std::string at = "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
    if (documents_ > 0 && m.pos == last_start_) {
      const char c = m.pos >= 0 && static_cast<size_t>(m.pos) < text_.size() ? text_[m.pos] : ' ';
      throw BadInput(source_ + ": not valid YAML/JSON: " + at + ": `" + std::string(1, c) +
                         "` cannot start a value here" +
                         (c == ',' ? " (a `,` separates the entries of a [list] or {mapping})" : ""),
                     __FILE__, __LINE__);
    }
    if (++documents_ > text_.size() + 1)
      throw BadInput(source_ + ": not valid YAML/JSON: " + at + ": more YAML documents than the text has bytes",
                     __FILE__, __LINE__);
    last_start_ = m.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  const std::string& text_;
  const std::string& source_;
  size_t documents_ = 0;
  int last_start_ = -1;
};

}  // namespace

json parse_text(const std::string& text, const std::string& source) {
  // A config is small: larger text is refused before yaml-cpp reads it.
  if (text.size() > kMaxConfigBytes)
    throw BadInput(source + ": " + std::to_string(text.size()) + " bytes; a config may have at most " +
                       std::to_string(kMaxConfigBytes) + " bytes (1 MiB)",
                   __FILE__, __LINE__);
  try {
    DocumentScan(text, source).run();
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    for (size_t i = 1; i < docs.size(); ++i)
      if (!docs[i].IsNull())
        throw BadInput(source + ": line " + std::to_string(docs[i].Mark().line + 1) +
                           ": a second YAML document (after `---`); a config is one document starting at line " +
                           std::to_string(docs[0].Mark().line + 1) + " (merge them, or split them into two files)",
                       __FILE__, __LINE__);
    if (docs.empty()) return json::object();
    json j = Converter(source).convert(docs[0]);
    if (j.is_null()) return json::object();
    return j;
  } catch (const YAML::Exception& e) {
    throw BadInput(source + ": not valid YAML/JSON: line " + std::to_string(e.mark.line + 1) + ", column " +
                       std::to_string(e.mark.column + 1) + ": " + e.msg,
                   __FILE__, __LINE__);
  }
}

namespace {
void emit(YAML::Emitter& e, const json& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      e << YAML::Key << it.key() << YAML::Value;
      emit(e, it.value());
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : j) emit(e, v);
    e << YAML::EndSeq;
  } else if (j.is_null()) {
    e << YAML::Null;
  } else if (j.is_boolean()) {
    e << j.get<bool>();
  } else if (j.is_number_integer()) {
    e << j.get<long long>();
  } else if (j.is_number()) {
    double d = j.get<double>();
    std::string s = format_number(d);  // shortest form that reads back exactly: 0.9, 1e-06
    if (!std::isfinite(d))
      s = std::isnan(d) ? ".nan" : d > 0 ? ".inf" : "-.inf";
    else if (s.find_first_of(".eE") == std::string::npos)
      s += ".0";  // stays a float when read back
    e << s;
  } else {
    e << YAML::DoubleQuoted << j.get<std::string>();
  }
}
}  // namespace

std::string to_yaml(const json& j) {
  YAML::Emitter e;
  emit(e, j);
  return std::string(e.c_str()) + "\n";
}

}  // namespace tf::config
