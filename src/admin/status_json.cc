// admin/status_json.cc — GET /status JSON (admin/status_json.h).
#include "admin/status_json.h"

#include <nlohmann/json.hpp>

namespace twinmq::admin {

namespace {

using nlohmann::json;

// -1 ("never" / "not connected") becomes null: a number there would read as a time.
json ms_or_null(std::int64_t ms) { return ms < 0 ? json(nullptr) : json(ms); }

json peer_json(const BrokerStatus& s) {
  if (!s.replication) return nullptr;
  const PeerStatus& p = s.peer;
  json j = {{"link_state", p.link_state},
            {"description", p.description},
            {"address", p.address},
            {"last_heard_ms_ago", ms_or_null(p.last_heard_ms_ago)},
            {"sequence_sent", p.sent},
            {"sequence_applied", p.applied},
            {"lag_events", p.lag_events},
            {"lag_bytes", p.lag_bytes},
            {"in_sync", p.in_sync},
            {"note", p.note}};
  if (s.role == "slave") {
    j["master_last_seq"] = p.peer_last_seq;
  } else {
    j["last_ack_ms_ago"] = ms_or_null(p.last_ack_ms_ago);
    j["slaves_lost"] = p.losses;
    j["clients_paused_for_slave"] = p.behind_pauses;
    j["clients_paused_for_slave_ms"] = p.behind_ms;
  }
  return j;
}

json store_json(const BrokerStatus& s) {
  if (!s.store) return nullptr;
  const StoreStatus& st = *s.store;
  return {{"directory", st.directory},     {"size_bytes", st.disk_bytes},   {"files", st.files},
          {"last_durable_seq", st.last_durable_seq}, {"epoch", st.epoch}, {"sync_on_write", st.sync_on_write},
          {"refusing_writes", st.refusing}, {"refusal", st.refusal},        {"fsyncs", st.fsync_latency.count()},
          {"messages_written", st.message_records}, {"write_groups", st.write_groups},
          {"cancelled_sends", st.cancelled_sends},
          {"messages_per_write_group", st.write_groups == 0 ? 0.0
                                                            : static_cast<double>(st.message_records) /
                                                                  static_cast<double>(st.write_groups)}};
}

json witness_json(const BrokerStatus& s) {
  if (!s.witness) return nullptr;
  const WitnessStatus& w = *s.witness;
  return {{"uri", w.uri},           {"key", w.key},         {"state", w.state},
          {"serving", w.serving},   {"replica", w.replica}, {"etcd_reachable", w.reachable},
          {"serving_ms_left", w.serving_ms_left}};
}

// What the broker holds for messages against memoryUsage, and what it paged out.
json memory_json(const BrokerStatus& s) {
  if (!s.memory) return nullptr;
  const MemoryStatus& m = *s.memory;
  return {{"used_bytes", m.used},
          {"limit_bytes", m.limit},
          {"waiting_producers", m.waiting_producers},
          {"paged_messages", m.paged}};
}

}  // namespace

std::string status_json(const BrokerStatus& s) {
  json connectors = json::array();
  for (const ConnectorStatus& c : s.connectors)
    connectors.push_back({{"name", c.name},
                          {"listening", c.listening},
                          {"address", c.address},
                          {"connections", c.connections},
                          {"accepted_total", c.accepted_total},
                          {"refused_total", c.refused_total}});
  json destinations = json::array();
  for (const DestinationStatus& d : s.destinations)
    destinations.push_back({{"name", d.name},
                            {"kind", d.kind},
                            {"depth", d.depth},
                            {"inflight", d.inflight},
                            {"enqueued", d.enqueued},
                            {"dequeued", d.dequeued},
                            {"expired", d.expired},
                            {"dead_lettered", d.dead_lettered},
                            {"duplicates_dropped", d.duplicates_dropped},
                            {"consumers", d.consumers},
                            {"producers", d.producers},
                            {"memory_bytes", d.memory_bytes},
                            {"memory_limit_bytes", d.memory_limit_bytes}});
  json j = {{"broker", s.broker_name},
            {"version", s.version},
            {"role", s.role},
            {"role_reason", s.role_reason},
            {"role_since_ms", s.role_since_wall_ms},
            {"uptime_ms", s.uptime_ms},
            {"serving", s.serving},
            {"connectors_closed_reason", s.closed_reason},
            {"last_seq", s.last_seq},
            {"epoch", s.store ? json(s.store->epoch) : json(nullptr)},
            {"failovers", s.failovers},
            {"peer", peer_json(s)},
            {"witness", witness_json(s)},
            {"connections", s.connections},
            {"connectors", std::move(connectors)},
            {"store", store_json(s)},
            {"memory", memory_json(s)},
            {"destinations", std::move(destinations)}};
  // Text from the configuration and from clients (destination names) may hold any
  // bytes: replace invalid UTF-8 rather than fail the whole answer.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string readiness_json(const BrokerStatus& s) {
  json j = {{"ready", s.serving}, {"broker", s.broker_name}, {"role", s.role}};
  if (!s.serving)
    j["reason"] = !s.closed_reason.empty() ? s.closed_reason
                  : s.role == "slave"     ? "a slave: its client connectors open only when it takes over"
                                          : "its client connectors are closed";
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace twinmq::admin
