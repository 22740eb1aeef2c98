// base/wildcard.cc — segment-by-segment matching of ActiveMQ wildcards.
#include "base/wildcard.h"

namespace twinmq {
namespace {

// Splits off the first dot-separated segment of `s` (consumed from the front).
std::string_view next_segment(std::string_view& s) {
  const auto dot = s.find('.');
  std::string_view seg = s.substr(0, dot);
  s = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  return seg;
}

}  // namespace

bool wildcard_matches(std::string_view pattern, std::string_view name) {
  bool name_done = false;
  while (true) {
    if (pattern.empty()) return name_done;
    const std::string_view pat = next_segment(pattern);
    if (pat == ">") return true;  // matches the rest, including nothing
    if (name_done) return false;
    // The name runs out after this segment when no dot remains.
    const bool last_name_segment = name.find('.') == std::string_view::npos;
    const std::string_view seg = next_segment(name);
    if (pat != "*" && pat != seg) return false;
    if (last_name_segment) name_done = true;
  }
}

std::optional<std::string> wildcard_problem(std::string_view pattern) {
  if (pattern.empty()) return "is empty (use \">\" for every destination)";
  for (std::string_view prefix : {"/queue/", "/topic/", "/temp-queue/", "/temp-topic/"}) {
    if (pattern.starts_with(prefix))
      return "must not include the " + std::string(prefix) + " prefix (write \"" +
             std::string(pattern.substr(prefix.size())) + "\")";
  }
  std::string_view rest = pattern;
  while (true) {
    const bool last = rest.find('.') == std::string_view::npos;
    const std::string_view seg = next_segment(rest);
    if (seg.empty()) return std::string("has an empty segment (two dots, or a dot at an end)");
    if (seg == ">" && !last) return std::string("uses \">\" before the last segment (it matches the rest)");
    if (seg.size() > 1 && (seg.find('>') != std::string_view::npos || seg.find('*') != std::string_view::npos))
      return "mixes a wildcard into the segment '" + std::string(seg) + "' (\"*\" and \">\" stand alone)";
    if (last) return std::nullopt;
  }
}

}  // namespace twinmq
