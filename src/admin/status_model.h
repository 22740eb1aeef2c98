// admin/status_model.h — one broker's status as plain data: the single model that
// `twinmq status` (status_text), GET /status (status_json), GET /metrics (metrics)
// and the status page (status_page, through /status) all render.
//
// app::Runtime fills one on the loop thread per request (app/status_report.cc); the
// renderers are pure functions of it, so each is unit-tested without a broker.
//
// Lifecycle: a value, built and dropped per request. Times are relative ("ms ago")
// where they are measured on the monotonic clock, wall-clock ms where a date is shown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/latency_histogram.h"

namespace twinmq::admin {

struct DestinationStatus {
  std::string name;              // "/queue/orders", "/topic/prices", or a durable subscription's key
  std::string kind;              // "queue", "topic"
  std::uint64_t depth = 0;       // waiting (not yet delivered)
  std::uint64_t inflight = 0;    // delivered, not yet acknowledged
  std::uint64_t enqueued = 0;    // accepted since this broker's state began (counters survive restarts as the
  std::uint64_t dequeued = 0;    //   journal replays them; they never go down while the process runs)
  std::uint64_t expired = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t duplicates_dropped = 0;
  std::uint64_t consumers = 0;
  std::uint64_t producers = 0;
  std::uint64_t memory_bytes = 0;        // message bytes it holds in memory
  std::uint64_t memory_limit_bytes = 0;  // its memoryLimit, else the broker's memoryUsage; 0 = unlimited
  std::uint64_t memory_limit = 0;  // its own <policyEntry memoryLimit>; 0 = only the broker's limit
};

// What the broker holds against <systemUsage> (README "Memory, store limits and producer
// flow control").
struct MemoryStatus {
  std::uint64_t used = 0;          // every holder's bytes
  std::uint64_t limit = 0;         // memoryUsage; 0 = none
  std::uint64_t store_used = 0;    // the journal's live bytes (persistent brokers)
  std::uint64_t store_limit = 0;   // storeUsage; 0 = none
  std::uint64_t waiting_producers = 0;  // connections whose SEND waits for room
  std::uint64_t paged = 0;         // ready messages paged out to the journal (broker/page_store.h)
};

struct ConnectorStatus {
  std::string name;
  bool listening = false;
  std::string address;           // "ip:port" while listening
  std::uint16_t port = 0;        // 0 while not listening
  std::uint64_t connections = 0;
  std::uint64_t accepted_total = 0;
  std::uint64_t refused_total = 0;  // over maximumConnections
};

struct StoreStatus {
  std::string directory;
  std::uint64_t disk_bytes = 0;
  std::uint64_t files = 0;       // segments and checkpoint
  std::uint64_t last_durable_seq = 0;
  std::uint64_t epoch = 0;
  bool sync_on_write = true;
  bool refusing = false;         // writes failing: persistent sends refused
  std::string refusal;
  std::uint64_t write_failures = 0;
  std::uint64_t syncs = 0;
  // Group commit: messages written (message records, a SEND's on either side) and the
  // writer's rounds, each ending in one fdatasync with syncOnWrite. Their ratio is how
  // many messages shared an fdatasync.
  std::uint64_t message_records = 0;
  std::uint64_t write_groups = 0;
  // SENDs consumed before they were written (README "Consumed before written"): neither
  // they nor their removal went to the journal; on a slave, those the master cancelled.
  std::uint64_t cancelled_sends = 0;
  LatencyHistogram fsync_latency;
};

struct PeerStatus {
  std::string link_state;        // the link state machine's state ("streaming", "awaiting_slave", ...)
  std::string description;       // "slave 'b' at 127.0.0.1:40522", "master 'a' at host:62001", or ""
  std::string address;           // "ip:port", "" = none
  std::int64_t last_heard_ms_ago = -1;  // -1 = not connected
  std::int64_t last_ack_ms_ago = -1;    // master: the slave's last acknowledgement; -1 = none
  std::uint64_t sent = 0;        // master: last seq sent; slave: last seq received
  std::uint64_t applied = 0;     // the slave's acknowledged (applied and durable) position
  std::uint64_t peer_last_seq = 0;  // slave: the master's position as last heard
  std::uint64_t lag_events = 0;
  std::uint64_t lag_bytes = 0;   // master: streamed, not yet acknowledged
  bool in_sync = false;
  std::string note;
  std::uint64_t losses = 0;      // master: slaves lost since start
  std::uint64_t behind_pauses = 0;  // master: times clients were paused because the slave was behind
  std::int64_t behind_ms = 0;       //   and for how long in all
};

struct WitnessStatus {
  std::string uri, key, state;
  bool serving = false;
  std::string replica;
  bool reachable = true;
  std::int64_t serving_ms_left = 0;
  std::string text;              // its own lines for `twinmq status`
};

struct BrokerStatus {
  std::string broker_name;
  std::string version;
  // "master", "slave", "promoted", or "single" (no replication configured). The text
  // of `twinmq status` has always said "master" for a single broker: text_role.
  std::string role;
  std::string text_role;
  std::string role_reason;       // why this broker has its role (the last role change)
  std::int64_t role_since_wall_ms = 0;
  std::int64_t now_wall_ms = 0;
  std::int64_t uptime_ms = 0;
  std::uint64_t last_seq = 0;    // this broker's event log position
  bool serving = false;          // its client connectors accept clients (readyz)
  std::string closed_reason;     // why not, when known
  bool replication = false;      // has a peer link (master or slave side)
  PeerStatus peer;
  std::uint64_t failovers = 0;   // times this process took over from its master (0 or 1)
  // Every configured STOMP connector. connectors_open: they have been opened (a
  // fenced master's stay "open" in the text, with port 0, as they always have).
  std::vector<ConnectorStatus> connectors;
  bool connectors_open = false;
  std::uint64_t connections = 0;  // attached STOMP sessions
  std::optional<StoreStatus> store;  // none with persistent="false"
  std::optional<WitnessStatus> witness;
  std::vector<DestinationStatus> destinations;
  std::optional<MemoryStatus> memory;  // none while there is no broker (a slave's initial sync)
};

}  // namespace twinmq::admin
