// config/config.cc — the lookups other modules make on a loaded Config.
#include "config/config.h"

#include "base/wildcard.h"

namespace twinmq::config {

broker::DestinationPolicy Config::policy_for(std::string_view destination) const {
  // Temporary destinations take the entries of their kind; ActiveMQ's separate
  // tempQueue/tempTopic entries are not part of our vocabulary.
  bool is_topic = false;
  std::string_view name;
  if (destination.starts_with("/queue/")) name = destination.substr(7);
  else if (destination.starts_with("/temp-queue/")) name = destination.substr(12);
  else if (destination.starts_with("/topic/")) { name = destination.substr(7); is_topic = true; }
  else if (destination.starts_with("/temp-topic/")) { name = destination.substr(12); is_topic = true; }
  else return {};
  for (const PolicyEntry& entry : policies)
    if (entry.is_topic == is_topic && wildcard_matches(entry.pattern, name)) return entry.policy;
  return {};
}

const TransportConnector* Config::stomp_connector() const {
  for (const TransportConnector& c : connectors)
    if (c.endpoint.scheme == "stomp") return &c;
  return nullptr;
}

}  // namespace twinmq::config
