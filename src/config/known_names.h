// config/known_names.h — the XML vocabulary twinmq accepts, and the "did you mean"
// suggestion for a name that is not in it.
//
// The table is the single source of truth for which elements may appear where and
// which attributes each carries; the loader rejects anything else (a typo must never
// start a broker with a default silently in its place — mosquitto#1190).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace twinmq::config {

struct ElementSpec {
  std::string_view name;
  std::string_view parent;  // empty for the root <broker>
  bool repeatable;          // may appear more than once inside its parent
  std::span<const std::string_view> attributes;
  std::span<const std::string_view> children;
};

// The spec of a known element by name: the first with that name. Names are unique
// except ActiveMQ's property/bean pairs (<systemUsage><systemUsage>, <memoryUsage>
// <memoryUsage>, ...), which the two-argument form tells apart by their parent.
const ElementSpec* find_element(std::string_view name);
// The spec of `name` inside `parent`, else the first with that name.
const ElementSpec* find_element(std::string_view name, std::string_view parent);
const ElementSpec& root_element();

// Query options accepted on a stomp:// connector URI.
std::span<const std::string_view> stomp_uri_options();
// Connector URI schemes.
std::span<const std::string_view> connector_schemes();

// The candidate the user most likely meant, or nothing if none is close:
//  1. equal ignoring case ("brokername" -> "brokerName");
//  2. equal to the part after the last dot ("maxFrameSize" -> "wireFormat.maxFrameSize");
//  3. the smallest edit distance (adjacent swaps count as one edit), if it is at most
//     a third of the name's length (at least 1, at most 4:
//     "maxRedeliveries" -> "maximumRedeliveries").
std::optional<std::string_view> nearest_name(std::string_view given,
                                             std::span<const std::string_view> candidates);

// " (did you mean 'x'?)" or " (expected one of: a, b, c)"; `quote_open`/`quote_close`
// wrap each name ("'" "'" for attributes, "<" ">" for elements).
std::string suggestion_suffix(std::string_view given, std::span<const std::string_view> candidates,
                              std::string_view quote_open, std::string_view quote_close);

}  // namespace twinmq::config
