// broker/destination.h — what a destination name means.
//
// ActiveMQ's STOMP naming: /queue/X and /temp-queue/X load-balance, /topic/X and
// /temp-topic/X fan out. The rest of the name must be non-empty. Temporary
// destinations behave exactly like their durable-named kin here (they are not
// deleted when the creating connection closes).
#pragma once

#include <string_view>

namespace twinmq::broker {

enum class DestKind : unsigned char { invalid, queue, topic };

inline DestKind classify_destination(std::string_view name) {
  constexpr std::string_view kQueue = "/queue/", kTopic = "/topic/",
                             kTempQueue = "/temp-queue/", kTempTopic = "/temp-topic/";
  auto rest_ok = [&](std::string_view prefix) {
    return name.size() > prefix.size() && name.starts_with(prefix);
  };
  if (rest_ok(kQueue) || rest_ok(kTempQueue)) return DestKind::queue;
  if (rest_ok(kTopic) || rest_ok(kTempTopic)) return DestKind::topic;
  return DestKind::invalid;
}

inline constexpr std::string_view kDestinationForms =
    "/queue/<name>, /topic/<name>, /temp-queue/<name> or /temp-topic/<name>";

}  // namespace twinmq::broker
