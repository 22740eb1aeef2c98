// auth/authorization.h — who may read, write and create which destinations: ActiveMQ's
// <authorizationPlugin><map><authorizationMap><authorizationEntries> in memory.
//
// An entry names a queue or topic pattern (ActiveMQ wildcards, base/wildcard.h) and,
// per right, the groups that hold it:
//   read   SUBSCRIBE (consume, browse a durable subscription)
//   write  SEND
//   admin  create the destination (a SEND or SUBSCRIBE to one that does not exist yet
//          creates it, so that frame needs admin as well as read or write)
// A user's rights on a destination are the union over every entry whose pattern
// matches it (as ActiveMQ's DefaultAuthorizationMap collects all matching entries).
// With no entry at all, everything is allowed (authorization is off); once any entry
// exists, whatever no matching entry grants is denied.
//
// `/queue/` and `/temp-queue/` destinations match queue entries, `/topic/` and
// `/temp-topic/` topic entries; the pattern is matched against the name after the prefix.
//
// Built once from the configuration; immutable; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace twinmq::auth {

enum class Right : unsigned char { read, write, admin };
std::string_view right_name(Right r);

struct AuthorizationEntry {
  std::string pattern;  // without the /queue/ or /topic/ prefix
  bool is_topic = false;
  std::vector<std::string> read, write, admin;  // group names
};

class AuthorizationMap {
 public:
  AuthorizationMap() = default;
  explicit AuthorizationMap(std::vector<AuthorizationEntry> entries) : entries_(std::move(entries)) {}

  bool enabled() const { return !entries_.empty(); }
  // Whether a member of `groups` holds `right` on `destination` ("/queue/orders.eu").
  // A destination of no known kind is denied while the map is enabled.
  bool allows(std::string_view destination, Right right, const std::vector<std::string>& groups) const;

 private:
  std::vector<AuthorizationEntry> entries_;
};

// "a, b,c" -> {"a","b","c"}: comma-separated, spaces around names dropped, empty names skipped.
std::vector<std::string> split_groups(std::string_view text);

}  // namespace twinmq::auth
