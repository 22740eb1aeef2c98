// test/unit/admin/support.h — a status model with something in every part.
#pragma once

#include "admin/status_model.h"

namespace twinmq::admin::test {

inline BrokerStatus sample_master() {
  BrokerStatus s;
  s.broker_name = "a";
  s.version = "0.1.0";
  s.role = s.text_role = "master";
  s.role_reason = "replication connector";
  s.now_wall_ms = 1'000'000;
  s.role_since_wall_ms = 1'000'000 - 12'300;
  s.uptime_ms = 12'300;
  s.last_seq = 42;
  s.serving = true;
  s.replication = true;
  s.peer.link_state = "streaming";
  s.peer.description = "slave 'b' at 127.0.0.1:40522";
  s.peer.address = "127.0.0.1:40522";
  s.peer.last_heard_ms_ago = 3;
  s.peer.last_ack_ms_ago = 3;
  s.peer.sent = 42;
  s.peer.applied = 40;
  s.peer.lag_events = 2;
  s.peer.lag_bytes = 310;
  s.peer.in_sync = true;
  s.connectors = {ConnectorStatus{"stomp", true, "127.0.0.1:61613", 61613, 2, 5, 0}};
  s.connectors_open = true;
  s.connections = 2;
  StoreStatus st;
  st.directory = "/var/lib/twinmq/journal";
  st.disk_bytes = 4096;
  st.files = 1;
  st.last_durable_seq = 41;
  st.epoch = 1;
  st.fsync_latency.record_ns(300'000);   // 0.3 ms
  st.fsync_latency.record_ns(2'000'000); // 2 ms
  st.message_records = 30;               // 30 messages in 2 write groups
  st.write_groups = 2;
  s.store = st;
  s.destinations = {DestinationStatus{"/queue/orders", "queue", 3, 1, 10, 6, 1, 0, 0, 1, 1},
                    DestinationStatus{"/topic/we\"ird\\name", "topic", 0, 0, 4, 4, 0, 0, 0, 2, 0}};
  return s;
}

}  // namespace twinmq::admin::test
