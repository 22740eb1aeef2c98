// broker/string_map.h — hash maps keyed by std::string that are looked up by
// std::string_view without building a std::string (transparent hashing, C++20).
// Every per-message lookup (destination by name, subscription by id) goes through one.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace twinmq::broker {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace twinmq::broker
