// auth/authorization.cc — the union of matching entries (design comment in the header).
#include "auth/authorization.h"

#include <algorithm>

#include "base/wildcard.h"

namespace twinmq::auth {

std::string_view right_name(Right r) {
  switch (r) {
    case Right::read: return "read";
    case Right::write: return "write";
    case Right::admin: return "admin";
  }
  return "?";
}

bool AuthorizationMap::allows(std::string_view destination, Right right,
                              const std::vector<std::string>& groups) const {
  if (entries_.empty()) return true;
  bool is_topic = false;
  std::string_view name;
  for (auto [prefix, topic] : {std::pair{std::string_view("/queue/"), false}, {"/temp-queue/", false},
                               {"/topic/", true}, {"/temp-topic/", true}}) {
    if (destination.starts_with(prefix)) {
      is_topic = topic;
      name = destination.substr(prefix.size());
      break;
    }
  }
  if (name.empty()) return false;
  for (const AuthorizationEntry& e : entries_) {
    if (e.is_topic != is_topic || !wildcard_matches(e.pattern, name)) continue;
    const auto& granted = right == Right::read ? e.read : right == Right::write ? e.write : e.admin;
    for (const std::string& g : groups)
      if (std::find(granted.begin(), granted.end(), g) != granted.end()) return true;
  }
  return false;
}

std::vector<std::string> split_groups(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
  }
  return out;
}

}  // namespace twinmq::auth
