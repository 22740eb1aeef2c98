// base/wildcard.h — ActiveMQ destination wildcards, as used by policyEntry and authorizationEntry.
//
// A pattern is dot-separated segments matched against a destination name without
// its /queue/ or /topic/ prefix:
//   "*"  matches exactly one segment        ("orders.*"  matches "orders.eu", not "orders.eu.x")
//   ">"  matches the rest, and must be last ("orders.>"  matches "orders", "orders.eu", "orders.eu.x";
//                                            ">" matches every name)
// Like ActiveMQ 5.x, "A.>" also matches "A" itself. Anything else matches literally.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace twinmq {

bool wildcard_matches(std::string_view pattern, std::string_view name);

// Why `pattern` is not a usable pattern (empty, an empty segment, ">" not last,
// a destination prefix written into it), or nothing if it is fine.
std::optional<std::string> wildcard_problem(std::string_view pattern);

}  // namespace twinmq
