// replication/status.h — what `twinmq status` shows about the pair: role, peer, link
// state, positions, lag and whether the pair is in sync.
//
// Filled by MasterLink::status() / SlaveLink::status() on the loop thread, formatted
// as "key: value" lines (stable keys: scripts may grep them).
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
};

// "role: master\nlink: streaming\n..." — one key per line.
std::string format_status(const LinkStatus& s, std::string_view broker_name);

}  // namespace twinmq::replication
