// replication/catch_up.h — bringing a slave forward from where it stopped, out of the
// master's journal, instead of copying the master's whole state (handshake.h says when).
//
// The slave kept its state at seq S (a restart recovered it, or it stayed up through a
// link break). The master decided at seq U (its event log's position when it accepted
// the slave): the events S+1..U are read from its journal's segments — the bytes as
// journaled are exactly what the link sends — and the events after U, which the
// MasterLink holds back meanwhile, follow as usual. The records up to U may still be in
// the journal's writer when the slave is accepted: the cursor is opened only once the
// journal is durable up to U (pump() adds nothing until then).
//
// Lifecycle: owned by the MasterLink for one slave link, like a SnapshotSender. Loop
// thread only; the Journal outlives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/ids.h"
#include "replication/initial_sync.h"
#include "replication/protocol.h"
#include "store/journal.h"
#include "store/record_cursor.h"

namespace twinmq::replication {

class JournalSender final : public StateSender {
 public:
  // Sends the events `from` + 1 .. `upto` to the slave described as `slave`.
  JournalSender(const store::Journal& journal, Seq from, Seq upto, std::string slave);

  bool pump(std::string& out, std::size_t budget) override;
  const std::string& failure() const override { return failure_; }

 private:
  const store::Journal& journal_;
  Seq next_;  // the next seq to send
  Seq upto_;
  std::string slave_;
  std::optional<store::RecordCursor> cursor_;
  EventBatch batch_;
  std::uint64_t records_ = 0;
  std::int64_t started_ms_ = 0;
  std::string failure_;
};

}  // namespace twinmq::replication
