// app/status_report.cc — Runtime::status_model(): the one status model
// (admin/status_model.h) filled from the runtime's parts, on the loop thread. The
// status socket (`twinmq status`) and the admin endpoint both render it.
#include <spdlog/spdlog.h>

#include "admin/status_text.h"
#include "app/runtime.h"
#include "app/status_memory.h"
#include "base/clock.h"

namespace twinmq::app {

namespace {

admin::PeerStatus peer_of(const replication::LinkStatus& l, bool master_side) {
  admin::PeerStatus p;
  p.link_state = l.link_state;
  p.description = l.peer;
  p.address = l.peer_address;
  p.last_heard_ms_ago = l.last_heard_ms_ago;
  p.last_ack_ms_ago = l.last_ack_ms_ago;
  p.sent = l.sent.value;
  p.applied = l.applied.value;
  p.peer_last_seq = l.peer_last_seq.value;
  if (master_side)
    p.lag_events = l.last_seq.value > l.applied.value && !l.peer.empty() ? l.last_seq.value - l.applied.value : 0;
  else
    p.lag_events = l.peer_last_seq.value > l.applied.value ? l.peer_last_seq.value - l.applied.value : 0;
  p.lag_bytes = l.lag_bytes;
  p.in_sync = l.in_sync;
  p.note = l.note;
  p.losses = l.peer_losses;
  p.behind_pauses = l.behind_pauses;
  p.behind_ms = l.behind_ms;
  return p;
}

}  // namespace

admin::BrokerStatus Runtime::status_model() {
  admin::BrokerStatus s;
  s.broker_name = config_.broker_name;
  s.version = TWINMQ_VERSION;
  s.now_wall_ms = wall_ms();
  s.uptime_ms = mono_ms() - started_ms_;
  const std::int64_t started_wall = s.now_wall_ms - s.uptime_ms;

  replication::LinkStatus l;
  if (slave_ && master_) {
    // Promoted, with a replication listener: its own slave's link, in the promoted role.
    const replication::LinkStatus was = slave_->status();
    l = master_->status();
    l.role = was.role;
    l.role_reason = was.role_reason;
    l.role_since_ms = was.role_since_ms;
  } else if (slave_) {
    l = slave_->status();
  } else if (master_) {
    l = master_->status();
    l.role_reason = "replication connector";
    l.role_since_ms = started_wall;
  } else {
    l.link_state = "none (standalone: no replication connector, no masterConnectorURI)";
    l.role_reason = "standalone";
    l.role_since_ms = started_wall;
    l.last_seq = broker_ ? broker_->event_log().last() : Seq{0};
  }
  s.replication = slave_ || master_;
  s.text_role = std::string(replication::role_name(l.role));
  s.role = s.replication ? s.text_role : "single";
  s.role_reason = l.role_reason;
  s.role_since_wall_ms = l.role_since_ms;
  s.last_seq = l.last_seq.value;
  // The text has always shown the master-side columns for every role but a slave's.
  s.peer = peer_of(l, l.role != replication::Role::slave);
  s.failovers = l.role == replication::Role::promoted ? 1 : 0;

  s.connectors_open = !servers_.empty();
  s.serving = false;
  for (const auto& srv : servers_) {
    admin::ConnectorStatus c;
    c.name = srv->options().name;
    c.listening = srv->listening();
    c.port = srv->port();
    c.address = srv->address();
    c.connections = srv->session_count();
    c.accepted_total = srv->accepted_total();
    c.refused_total = srv->refused_total();
    s.serving = s.serving || c.listening;
    s.connections += c.connections;
    s.connectors.push_back(std::move(c));
  }
  if (servers_.empty()) {
    for (const auto& t : config_.connectors) {
      if (t.endpoint.scheme != "stomp") continue;
      admin::ConnectorStatus c;
      c.name = t.name;
      s.connectors.push_back(std::move(c));
    }
  }
  if (!s.serving) s.closed_reason = stopping_ ? "shutting down (" + shutdown_reason_ + ")" : waiting_reason_;

  if (journal_) {
    admin::StoreStatus st;
    const store::JournalStats js = journal_->stats();
    st.directory = journal_->directory();
    st.disk_bytes = js.disk_bytes;
    st.files = js.files;
    st.last_durable_seq = journal_->last_durable_seq().value;
    st.epoch = journal_->epoch();
    st.sync_on_write = config_.journal.sync_on_write;
    st.refusing = journal_->refusing();
    st.refusal = journal_->refusal();
    st.write_failures = js.write_failures;
    st.syncs = js.syncs;
    st.message_records = js.message_records;
    st.write_groups = js.write_groups;
    st.cancelled_sends = js.cancelled;
    st.fsync_latency = journal_->fsync_latency();
    s.store = std::move(st);
  }
  if (witness_) {
    const witness::Witness::Summary w = witness_->summary();
    s.witness = admin::WitnessStatus{w.uri, w.key, w.state, w.serving, w.replica, w.reachable, w.serving_ms_left,
                                     witness_->status()};
  }
  if (broker_) {
    const broker::Broker::MemoryStats memory = broker_->memory_stats();
    for (const broker::Broker::DestinationStats& d : broker_->stats()) {
      admin::DestinationStatus ds;
      ds.name = d.name;
      ds.kind = d.topic ? "topic" : "queue";
      ds.depth = d.depth;
      ds.inflight = d.inflight;
      ds.enqueued = d.enqueued;
      ds.dequeued = d.dequeued;
      ds.expired = d.expired;
      ds.dead_lettered = d.dead_lettered;
      ds.duplicates_dropped = d.duplicates_dropped;
      ds.consumers = d.consumers;
      ds.producers = d.producers;
      ds.memory_bytes = d.memory_used;
      // What its memory is measured against: its own memoryLimit, else the broker's.
      ds.memory_limit_bytes = d.memory_limit != 0 ? d.memory_limit : memory.limit;
      ds.memory_limit = d.memory_limit;
      s.destinations.push_back(std::move(ds));
    }
    const broker::Broker::MemoryStats m = broker_->memory_stats();
    s.memory = admin::MemoryStatus{m.used, m.limit, config_.persistent ? m.store_used : 0,
                                   config_.persistent ? m.store_limit : 0, m.waiting_producers, m.paged};
  }
  return s;
}

std::string Runtime::status_text() {
  std::string out = admin::status_text(status_model());
  // Memory and store against their limits (not in the model yet: /status and /metrics
  // do not show them).
  if (broker_) out += format_memory_status(*broker_, config_.persistent);
  return out;
}

}  // namespace twinmq::app
