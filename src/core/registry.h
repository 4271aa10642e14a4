// One registry pattern for everything a config names (models, losses,
// optimizers, ...): a name -> factory table filled explicitly by each module
// (no static-initialisation tricks), and a create() that turns an unknown
// name into a BadInput naming the config key and the closest valid name.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/strings.h"

namespace tf {

template <typename Ptr, typename... Args>
class Registry {
 public:
  using Factory = std::function<Ptr(Args...)>;

  explicit Registry(std::string config_key) : key_(std::move(config_key)) {}

  Registry& add(const std::string& name, Factory f) {
    table_[name] = std::move(f);
    return *this;
  }

  Ptr create(const std::string& name, Args... args) const {
    auto it = table_.find(name);
    if (it == table_.end()) {
      std::string hint = did_you_mean(name, names());
      throw BadInput(key_ + ": unknown value \"" + name + "\"; expected one of " + join(names()) +
                         (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"),
                     __FILE__, __LINE__);
    }
    return it->second(std::forward<Args>(args)...);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : table_) out.push_back(kv.first);
    return out;
  }

 private:
  std::string key_;
  std::map<std::string, Factory> table_;
};

}  // namespace tf
