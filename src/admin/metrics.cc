// admin/metrics.cc — Prometheus text exposition (admin/metrics.h).
#include "admin/metrics.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace twinmq::admin {

namespace {

// A label value as the exposition format wants it: backslash, double quote and line
// feed escaped. Destination names come from clients, so anything may be in them.
std::string label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class Exposition {
 public:
  // Starts a metric family: its HELP and TYPE lines.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, std::string_view labels, double value) {
    if (labels.empty()) out_ += fmt::format("{} {}\n", name, value);
    else out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    if (labels.empty()) out_ += fmt::format("{} {}\n", name, value);
    else out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  // One family with one unlabelled sample.
  template <class V>
  void single(std::string_view name, std::string_view type, std::string_view help, V value) {
    family(name, type, help);
    sample(name, "", value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void destinations(Exposition& e, const BrokerStatus& s) {
  if (s.destinations.empty()) return;
  std::vector<std::string> labels;
  labels.reserve(s.destinations.size());
  for (const DestinationStatus& d : s.destinations)
    labels.push_back(fmt::format("destination=\"{}\",kind=\"{}\"", label_value(d.name), d.kind));
  struct Column {
    std::string_view name, type, help;
    std::uint64_t DestinationStatus::*field;
  };
  static constexpr std::array<Column, 9> kColumns = {{
      {"twinmq_destination_depth", "gauge", "Messages waiting to be delivered.", &DestinationStatus::depth},
      {"twinmq_destination_inflight", "gauge", "Messages delivered and not yet acknowledged.",
       &DestinationStatus::inflight},
      {"twinmq_destination_consumers", "gauge", "Subscriptions attached.", &DestinationStatus::consumers},
      {"twinmq_destination_producers", "gauge", "Attached connections that have sent to the destination.",
       &DestinationStatus::producers},
      {"twinmq_destination_enqueued_total", "counter", "Messages accepted.", &DestinationStatus::enqueued},
      {"twinmq_destination_dequeued_total", "counter", "Messages removed (acknowledged, expired or dead-lettered).",
       &DestinationStatus::dequeued},
      {"twinmq_destination_expired_total", "counter", "Messages removed because they expired.",
       &DestinationStatus::expired},
      {"twinmq_destination_dead_lettered_total", "counter", "Messages moved to the dead-letter queue.",
       &DestinationStatus::dead_lettered},
      {"twinmq_destination_memory_used_bytes", "gauge",
       "Bytes held for the destination's messages (bodies, headers, index and pending entries).",
       &DestinationStatus::memory_bytes},
  }};
  for (const Column& c : kColumns) {
    e.family(c.name, c.type, c.help);
    for (std::size_t i = 0; i < s.destinations.size(); ++i) e.sample(c.name, labels[i], s.destinations[i].*c.field);
  }
  // Only destinations with their own memoryLimit: the others are bounded by the broker's.
  bool family = false;
  for (std::size_t i = 0; i < s.destinations.size(); ++i) {
    if (s.destinations[i].memory_limit == 0) continue;
    if (!family)
      e.family("twinmq_destination_memory_limit_bytes", "gauge", "The destination's memoryLimit (policyEntry).");
    family = true;
    e.sample("twinmq_destination_memory_limit_bytes", labels[i], s.destinations[i].memory_limit);
  }
}

// Limits that are not configured are left out rather than exported as 0, which would
// read as "full" in a used/limit ratio.
void memory(Exposition& e, const BrokerStatus& s) {
  if (!s.memory) return;
  const MemoryStatus& m = *s.memory;
  e.single("twinmq_memory_used_bytes", "gauge",
           "Bytes the broker holds for messages (bodies, headers, index and pending entries).", m.used);
  if (m.limit != 0) e.single("twinmq_memory_limit_bytes", "gauge", "The memoryUsage limit.", m.limit);
  if (s.store) {
    e.single("twinmq_store_live_bytes", "gauge", "Bytes of live messages in the journal (counted against storeUsage).",
             m.store_used);
    if (m.store_limit != 0) e.single("twinmq_store_limit_bytes", "gauge", "The storeUsage limit.", m.store_limit);
  }
  e.single("twinmq_producers_waiting", "gauge", "Producer connections whose SEND waits for memory or store room.",
           m.waiting_producers);
  e.single("twinmq_messages_paged", "gauge",
           "Ready persistent messages paged out to the journal (kept on disk only, read back ahead of consumers).",
           m.paged);
}

void connectors(Exposition& e, const BrokerStatus& s) {
  e.single("twinmq_connections", "gauge", "STOMP connections attached.", s.connections);
  if (s.connectors.empty()) return;
  e.family("twinmq_connector_listening", "gauge", "1 while the client connector accepts connections.");
  for (const ConnectorStatus& c : s.connectors)
    e.sample("twinmq_connector_listening", fmt::format("connector=\"{}\"", label_value(c.name)),
             std::uint64_t{c.listening ? 1u : 0u});
  e.family("twinmq_connections_accepted_total", "counter", "Connections accepted by the connector.");
  for (const ConnectorStatus& c : s.connectors)
    e.sample("twinmq_connections_accepted_total", fmt::format("connector=\"{}\"", label_value(c.name)),
             c.accepted_total);
  e.family("twinmq_connections_refused_total", "counter", "Connections closed at once over maximumConnections.");
  for (const ConnectorStatus& c : s.connectors)
    e.sample("twinmq_connections_refused_total", fmt::format("connector=\"{}\"", label_value(c.name)),
             c.refused_total);
}

void store(Exposition& e, const BrokerStatus& s) {
  if (!s.store) return;
  const StoreStatus& st = *s.store;
  e.single("twinmq_store_size_bytes", "gauge", "Bytes of the journal's segment and checkpoint files.", st.disk_bytes);
  e.single("twinmq_store_files", "gauge", "Journal segment and checkpoint files.", st.files);
  e.single("twinmq_store_refusing_writes", "gauge", "1 while journal writes fail and persistent sends are refused.",
           std::uint64_t{st.refusing ? 1u : 0u});
  e.single("twinmq_journal_write_failures_total", "counter", "Journal write rounds that failed.", st.write_failures);
  e.single("twinmq_journal_messages_total", "counter",
           "Messages written to the journal (a persistent SEND's record; on a slave, the master's).",
           st.message_records);
  e.single("twinmq_journal_write_groups_total", "counter",
           "Write rounds of the journal's writer, each one fdatasync with syncOnWrite: messages_total / this is "
           "messages per fdatasync (group commit).",
           st.write_groups);
  e.single("twinmq_journal_cancelled_sends_total", "counter",
           "Persistent SENDs consumed before they were written: neither the message nor its removal went to the "
           "journal or, on a master, to the slave (on a slave: the ones its master cancelled).",
           st.cancelled_sends);
  constexpr std::string_view kHist = "twinmq_journal_fsync_duration_seconds";
  e.family(kHist, "histogram", "Time one fdatasync of a journal write group took (syncOnWrite=\"true\").");
  const LatencyHistogram& h = st.fsync_latency;
  for (std::size_t i = 0; i < LatencyHistogram::kBoundsSeconds.size(); ++i)
    e.sample("twinmq_journal_fsync_duration_seconds_bucket", fmt::format("le=\"{}\"", LatencyHistogram::kBoundsSeconds[i]),
             h.cumulative(i));
  e.sample("twinmq_journal_fsync_duration_seconds_bucket", "le=\"+Inf\"", h.count());
  e.sample("twinmq_journal_fsync_duration_seconds_sum", "", h.sum_seconds());
  e.sample("twinmq_journal_fsync_duration_seconds_count", "", h.count());
}

void high_availability(Exposition& e, const BrokerStatus& s) {
  e.family("twinmq_ha_role", "gauge", "1 for this broker's role (master, slave, promoted or single), 0 for the others.");
  for (std::string_view role : {"master", "slave", "promoted", "single"})
    e.sample("twinmq_ha_role", fmt::format("role=\"{}\"", role), std::uint64_t{s.role == role ? 1u : 0u});
  e.single("twinmq_ha_serving", "gauge", "1 while this broker serves clients (what /readyz reports).",
           std::uint64_t{s.serving ? 1u : 0u});
  e.single("twinmq_ha_failovers_total", "counter", "Times this process took over from its master.", s.failovers);
  if (s.store) e.single("twinmq_ha_epoch", "gauge", "The store's epoch: bumped at every promotion.", s.store->epoch);
  if (!s.replication) return;
  const PeerStatus& p = s.peer;
  e.single("twinmq_ha_replication_in_sync", "gauge",
           "1 while the pair is in sync (the slave holds everything the master confirmed).",
           std::uint64_t{p.in_sync ? 1u : 0u});
  e.single("twinmq_ha_lag_events", "gauge", "Events the slave has not yet applied.", p.lag_events);
  if (s.role != "slave") {
    e.single("twinmq_ha_lag_bytes", "gauge", "Bytes streamed to the slave and not yet acknowledged.", p.lag_bytes);
    e.single("twinmq_ha_slaves_lost_total", "counter", "Times this master lost its slave.", p.losses);
    e.single("twinmq_ha_client_pauses_total", "counter",
             "Times this master stopped reading its clients because the slave was behind.", p.behind_pauses);
    e.single("twinmq_ha_client_paused_seconds_total", "counter",
             "Time this master's clients were paused because the slave was behind.",
             static_cast<double>(p.behind_ms) / 1000.0);
    if (p.last_ack_ms_ago >= 0)
      e.single("twinmq_ha_last_slave_ack_age_seconds", "gauge", "Seconds since the slave last acknowledged events.",
               static_cast<double>(p.last_ack_ms_ago) / 1000.0);
  }
  if (p.last_heard_ms_ago >= 0)
    e.single("twinmq_ha_last_peer_heard_age_seconds", "gauge", "Seconds since anything arrived from the peer.",
             static_cast<double>(p.last_heard_ms_ago) / 1000.0);
}

void witness(Exposition& e, const BrokerStatus& s) {
  if (!s.witness) return;
  e.single("twinmq_witness_serving", "gauge", "1 while the witness lets this broker serve.",
           std::uint64_t{s.witness->serving ? 1u : 0u});
  e.single("twinmq_witness_etcd_reachable", "gauge", "0 while etcd cannot be reached.",
           std::uint64_t{s.witness->reachable ? 1u : 0u});
}

}  // namespace

std::string metrics_text(const BrokerStatus& s) {
  Exposition e;
  e.family("twinmq_info", "gauge", "Always 1; the labels name the broker, its version and role.");
  e.sample("twinmq_info",
           fmt::format("broker=\"{}\",version=\"{}\",role=\"{}\"", label_value(s.broker_name), label_value(s.version),
                       s.role),
           std::uint64_t{1});
  e.single("twinmq_uptime_seconds", "gauge", "Seconds since this broker process started.",
           static_cast<double>(s.uptime_ms) / 1000.0);
  high_availability(e, s);
  witness(e, s);
  connectors(e, s);
  memory(e, s);
  store(e, s);
  destinations(e, s);
  return e.take();
}

}  // namespace twinmq::admin
