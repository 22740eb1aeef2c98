// config/known_names.cc — the element/attribute table and the nearest-name search.
#include "config/known_names.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace twinmq::config {
namespace {

using Names = std::span<const std::string_view>;

// Attributes per element. Keep in the order the reference documents them.
constexpr std::string_view kBrokerAttrs[] = {
    "brokerName",          "dataDirectory",          "persistent",
    "masterConnectorURI",  "shutdownOnMasterFailure", "waitForSlave",
    "shutdownOnSlaveFailure", "minimumReplicas",     "replicationHeartbeatInterval",
    "replicationLinkTimeout", "maxTransactionSize", "waitForSlaveTimeout", "replicationGroup",
    "replicationRetainBytes", "replicationRetainPeriod", "xmlns"};
constexpr std::string_view kBrokerChildren[] = {"transportConnectors", "destinationPolicy",
                                                "persistenceAdapter", "plugins", "services", "witness",
                                                "systemUsage", "managementContext", "sslContext"};
constexpr std::string_view kTransportConnectorsChildren[] = {"transportConnector"};
constexpr std::string_view kTransportConnectorAttrs[] = {"name", "uri"};
constexpr std::string_view kDestinationPolicyChildren[] = {"policyMap"};
constexpr std::string_view kPolicyMapChildren[] = {"policyEntries"};
constexpr std::string_view kPolicyEntriesChildren[] = {"policyEntry"};
constexpr std::string_view kPolicyEntryAttrs[] = {"queue",         "topic",          "maximumRedeliveries",
                                                  "deadLetterQueue", "queuePrefetch", "topicPrefetch",
                                                  "topicPendingLimit", "idCacheSize", "memoryLimit",
                                                  "producerFlowControl", "gcInactiveDestinations",
                                                  "inactiveTimoutBeforeGC"};
constexpr std::string_view kPersistenceAdapterChildren[] = {"journal"};
constexpr std::string_view kJournalAttrs[] = {"directory", "syncOnWrite", "maxSegmentSize"};
constexpr std::string_view kPluginsChildren[] = {"simpleAuthenticationPlugin", "authorizationPlugin"};
constexpr std::string_view kSimpleAuthAttrs[] = {"anonymousAccessAllowed", "maximumFailedLogins", "failedLoginWindow"};
constexpr std::string_view kAuthorizationPluginChildren[] = {"map"};
constexpr std::string_view kMapChildren[] = {"authorizationMap"};
constexpr std::string_view kAuthorizationMapChildren[] = {"authorizationEntries"};
constexpr std::string_view kAuthorizationEntriesChildren[] = {"authorizationEntry"};
constexpr std::string_view kAuthorizationEntryAttrs[] = {"queue", "topic", "read", "write", "admin"};
constexpr std::string_view kSimpleAuthChildren[] = {"users"};
constexpr std::string_view kUsersChildren[] = {"authenticationUser"};
constexpr std::string_view kAuthenticationUserAttrs[] = {"username", "password", "groups"};
constexpr std::string_view kServicesChildren[] = {"masterConnector"};
constexpr std::string_view kMasterConnectorAttrs[] = {"remoteURI", "userName", "password"};
// ActiveMQ's nesting: <systemUsage> (the broker's property) holds one <systemUsage>
// (the bean), which holds <memoryUsage><memoryUsage limit/></memoryUsage> and
// <storeUsage><storeUsage limit/></storeUsage>. Inner and outer share a name, so these
// entries are found by name and parent (find_element).
constexpr std::string_view kSystemUsagePropertyChildren[] = {"systemUsage"};
constexpr std::string_view kSystemUsageAttrs[] = {"sendFailIfNoSpace", "sendFailIfNoSpaceAfterTimeout"};
constexpr std::string_view kSystemUsageChildren[] = {"memoryUsage", "storeUsage"};
constexpr std::string_view kMemoryUsagePropertyChildren[] = {"memoryUsage"};
constexpr std::string_view kMemoryUsageAttrs[] = {"limit", "percentLimit", "percentOfJvmHeap"};
constexpr std::string_view kStoreUsagePropertyChildren[] = {"storeUsage"};
constexpr std::string_view kStoreUsageAttrs[] = {"limit", "percentLimit"};
constexpr std::string_view kWitnessAttrs[] = {"uri", "key", "leaseMillis", "userName", "password"};
constexpr std::string_view kManagementContextAttrs[] = {"uri"};
// <sslContext>: PEM files. ActiveMQ writes the bean nested in a property of the same
// name, <sslContext><sslContext keyStore=.../></sslContext>; both levels take the
// attributes. The Java keystore attributes are known so that using one gets a precise
// message (convert to PEM) rather than "unknown attribute".
constexpr std::string_view kSslContextAttrs[] = {"certificate", "privateKey", "trustedCAs", "keyStore",
                                                 "keyStorePassword", "trustStore", "trustStorePassword"};
constexpr std::string_view kSslContextPropertyChildren[] = {"sslContext"};

constexpr ElementSpec kElements[] = {
    {"broker", "", false, kBrokerAttrs, kBrokerChildren},
    {"transportConnectors", "broker", false, {}, kTransportConnectorsChildren},
    {"transportConnector", "transportConnectors", true, kTransportConnectorAttrs, {}},
    {"destinationPolicy", "broker", false, {}, kDestinationPolicyChildren},
    {"policyMap", "destinationPolicy", false, {}, kPolicyMapChildren},
    {"policyEntries", "policyMap", false, {}, kPolicyEntriesChildren},
    {"policyEntry", "policyEntries", true, kPolicyEntryAttrs, {}},
    {"persistenceAdapter", "broker", false, {}, kPersistenceAdapterChildren},
    {"journal", "persistenceAdapter", false, kJournalAttrs, {}},
    {"plugins", "broker", false, {}, kPluginsChildren},
    {"simpleAuthenticationPlugin", "plugins", false, kSimpleAuthAttrs, kSimpleAuthChildren},
    {"authorizationPlugin", "plugins", false, {}, kAuthorizationPluginChildren},
    {"map", "authorizationPlugin", false, {}, kMapChildren},
    {"authorizationMap", "map", false, {}, kAuthorizationMapChildren},
    {"authorizationEntries", "authorizationMap", false, {}, kAuthorizationEntriesChildren},
    {"authorizationEntry", "authorizationEntries", true, kAuthorizationEntryAttrs, {}},
    {"users", "simpleAuthenticationPlugin", false, {}, kUsersChildren},
    {"authenticationUser", "users", true, kAuthenticationUserAttrs, {}},
    {"services", "broker", false, {}, kServicesChildren},
    {"masterConnector", "services", false, kMasterConnectorAttrs, {}},
    {"witness", "broker", false, kWitnessAttrs, {}},
    {"systemUsage", "broker", false, {}, kSystemUsagePropertyChildren},
    {"systemUsage", "systemUsage", false, kSystemUsageAttrs, kSystemUsageChildren},
    {"memoryUsage", "systemUsage", false, {}, kMemoryUsagePropertyChildren},
    {"memoryUsage", "memoryUsage", false, kMemoryUsageAttrs, {}},
    {"storeUsage", "systemUsage", false, {}, kStoreUsagePropertyChildren},
    {"storeUsage", "storeUsage", false, kStoreUsageAttrs, {}},
    {"managementContext", "broker", false, kManagementContextAttrs, {}},
    {"sslContext", "broker", false, kSslContextAttrs, kSslContextPropertyChildren},
    {"sslContext", "sslContext", false, kSslContextAttrs, {}},
};

constexpr std::string_view kStompUriOptions[] = {
    "wireFormat.maxFrameSize",         "wireFormat.maxHeaderSize", "wireFormat.maxHeaders",
    "transport.connectAttemptTimeout", "transport.hbGracePeriodMultiplier",
    "transport.heartBeat",             "transport.minHeartBeat",  "transport.maxPendingOutput",
    "transport.frameTimeout",          "maximumConnections",
    "maximumConsumersAllowedPerConnection", "maximumTransactionsPerConnection",
    "maximumUnacknowledgedPerConnection", "needClientAuth", "wantClientAuth"};

constexpr std::string_view kConnectorSchemes[] = {"stomp", "stomp+ssl", "stomp+nio+ssl", "tcp", "ssl"};

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// Optimal string alignment distance, case-insensitive: insertions, deletions,
// substitutions and swaps of two neighbours each cost one ("pasword", "brokreName").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[m];
}

}  // namespace

const ElementSpec* find_element(std::string_view name) {
  for (const ElementSpec& spec : kElements)
    if (spec.name == name) return &spec;
  return nullptr;
}

const ElementSpec* find_element(std::string_view name, std::string_view parent) {
  for (const ElementSpec& spec : kElements)
    if (spec.name == name && spec.parent == parent) return &spec;
  return find_element(name);
}

const ElementSpec& root_element() { return kElements[0]; }

std::span<const std::string_view> stomp_uri_options() { return kStompUriOptions; }
std::span<const std::string_view> connector_schemes() { return kConnectorSchemes; }

std::optional<std::string_view> nearest_name(std::string_view given, Names candidates) {
  if (given.empty()) return std::nullopt;
  for (std::string_view c : candidates)
    if (iequals(given, c)) return c;
  for (std::string_view c : candidates) {
    const auto dot = c.rfind('.');
    if (dot != std::string_view::npos && iequals(given, c.substr(dot + 1))) return c;
  }
  const std::size_t limit = std::clamp<std::size_t>(given.size() / 3, 1, 4);
  std::optional<std::string_view> best;
  std::size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(given, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string suggestion_suffix(std::string_view given, Names candidates, std::string_view quote_open,
                              std::string_view quote_close) {
  std::string out;
  if (auto near = nearest_name(given, candidates)) {
    out.append(" (did you mean ").append(quote_open).append(*near).append(quote_close).append("?)");
    return out;
  }
  if (candidates.empty()) return out;
  out.append(" (expected one of: ");
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(quote_open).append(candidates[i]).append(quote_close);
  }
  out.append(")");
  return out;
}

}  // namespace twinmq::config
