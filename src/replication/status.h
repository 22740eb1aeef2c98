// replication/status.h — what the link knows about the pair: role, peer, link state,
// positions, lag and whether the pair is in sync.
//
// Filled by MasterLink::status() / SlaveLink::status() on the loop thread; app puts it
// into the one status model (admin/status_model.h) that `twinmq status` and the admin
// endpoint render.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/ids.h"
#include "replication/role.h"

namespace twinmq::replication {

struct LinkStatus {
  Role role = Role::master;
  std::string role_reason;
  std::int64_t role_since_ms = 0;  // wall clock
  std::string link_state;          // the link state machine's state
  std::string peer;                // "slave 'b' at 127.0.0.1:40522", "master at host:62001", or ""
  Seq last_seq;                    // this broker's event log position
  Seq sent;                        // master: last seq sent; slave: last seq received
  Seq applied;                     // the slave's acknowledged position (applied and durable)
  Seq peer_last_seq;               // slave: the master's position as last heard
  bool in_sync = false;
  // master: how often, and for how long in all, clients were not read because the
  // slave was behind (MasterLink "Back-pressure").
  std::uint64_t behind_pauses = 0;
  std::int64_t behind_ms = 0;
  std::string note;                // policy state worth knowing ("receipts held ...")
  // For the admin endpoint (README "Admin endpoint, metrics and health checks").
  std::string peer_address;          // "ip:port" of the peer's connection, "" = none
  std::int64_t last_heard_ms_ago = -1;  // anything from the peer; -1 = not connected
  std::int64_t last_ack_ms_ago = -1;    // master: the slave's last Applied; -1 = none from this slave
  std::uint64_t lag_bytes = 0;          // master: streamed bytes the slave has not acknowledged
  std::uint64_t peer_losses = 0;        // master: slaves lost since start
};

}  // namespace twinmq::replication
