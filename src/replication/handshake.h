// replication/handshake.h — whether a master accepts a slave's Hello, and why not.
//
// A pure function of the Hello and what the master knows about itself, so every
// decision is unit-tested without sockets. In order:
//  1. protocol version;  2. credentials (against the master's users; none configured =
//  anyone, with a warning logged by the caller);  3. one slave at a time;  4. the master
//  is not shutting down;  5. both sides persist, or neither;  6. the stores: an empty
//  slave store is always accepted (it adopts the master's identity); otherwise the same
//  store identity, an epoch not newer than the master's, a last sequence not beyond the
//  master's, and a history that is a prefix of the master's — checked with the CRC of
//  the slave's last journaled record against the master's record at that sequence, or,
//  when the master no longer has that record, by equal epochs (a fork always bumps the
//  epoch of the side that promoted itself).
//
// Every accepted slave gets an initial sync that replaces its store, so these checks are
// exactly what makes that overwrite safe: the slave holds nothing the master lacks.
// Every refusal carries a message that says what happened and what to do.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "replication/protocol.h"
#include "store/identity.h"

namespace twinmq::replication {

// How the master's journal answers "your record at seq S, is its payload CRC C?".
enum class RecordMatch { match, mismatch, unavailable };

struct MasterView {
  std::string name;
  // Users a slave may authenticate as (name, password); empty = accept anyone.
  std::vector<std::pair<std::string, std::string>> users;
  // Set when another slave is attached: "'name' from ip:port".
  std::optional<std::string> attached_slave;
  bool shutting_down = false;
  bool persistent = true;
  store::StoreIdentity identity;  // meaningful when persistent
  Seq last_seq;                   // the master's event log position
  // Looks up the master's record at a seq; called at most once per decision.
  std::function<RecordMatch(Seq seq, std::uint32_t crc)> record_at;
};

struct Decision {
  bool accepted = false;
  fbr::RejectReason reason = fbr::RejectReason::other;
  std::string message;  // why not, and what to do (empty when accepted)
};

Decision decide(const HelloInfo& hello, const MasterView& master);

// Whether a slave refused for `reason` should try again later (another slave may go,
// a master may come back) rather than exit: the others need an operator.
bool is_transient(fbr::RejectReason reason);

std::string_view reject_reason_name(fbr::RejectReason reason);

}  // namespace twinmq::replication
