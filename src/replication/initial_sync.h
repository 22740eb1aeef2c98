// replication/initial_sync.h — copying the master's current state to a slave while
// the master keeps serving (the "initial sync" every attaching slave gets).
//
// MASTER SIDE. A master with a journal copies it from its files, not its memory
// (JournalCopySender, replication/journal_copy.h): the journal's records up to S0 at
// their own seqs, then at S0 what only memory holds (non-persistent messages). Without a
// journal (SnapshotSender), the master takes a
// broker::Snapshot — a consistent cut at seq S0 taken in one loop turn (O(live
// messages); messages are shared, not copied) — and streams it as SnapshotBegin,
// SnapshotChunk*, SnapshotEnd, a little per loop turn and only while the link's output is
// below its high watermark, so clients are served in between. Events after S0 are
// batched as usual but held back until SnapshotEnd has been queued (MasterLink).
//
// SLAVE SIDE (SnapshotReceiver). The slave's old store is discarded first (the
// handshake proved it holds nothing the master lacks). Then:
//  1. persistent events of the snapshot are written, as they arrive, into a journal
//     checkpoint file `<S0>.ckpt.tmp` (store/record_format.h: each record at its own
//     seq — non-decreasing, at most S0 — then checkpoint_end with the master's next
//     message id) — what the journal's own compaction writes, so recovery and
//     verify-store read it as theirs (records of acked messages the master's journal
//     still held are garbage there, for the slave's own compaction);
//     non-persistent events are kept in memory;
//  2. at SnapshotEnd the file is synced and renamed to `<S0>.ckpt` (durable, complete);
//  3. the runtime reopens the journal, whose recovery replays the checkpoint into a
//     fresh broker, then the memory events are applied; the event log continues at
//     S0 + 1 and the slave acknowledges S0.
// Without a journal (persistent="false") every event goes straight into the broker.
//
// Writes go through the page cache with an fdatasync every 32 MiB, so the final sync is
// short and the slave's heart-beats keep flowing during a large copy.
//
// Lifecycle: a SnapshotSender belongs to the MasterLink for one slave link; a
// SnapshotReceiver to the SlaveLink for one attempt. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/broker.h"
#include "broker/snapshot.h"
#include "replication/protocol.h"
#include "store/dir_lock.h"
#include "store/event_codec.h"
#include "store/file_io.h"
#include "store/identity.h"

namespace twinmq::replication {

// How a slave gets the master's state: a snapshot copy, or the events it missed out of
// the journal (replication/catch_up.h). pump() appends frames to `out` until about
// `budget` bytes were added (it may add nothing and wait for another turn) and returns
// true once everything is queued; after a failure it returns false and failure() says
// why (the slave is then dropped).
class StateSender {
 public:
  virtual ~StateSender() = default;
  virtual bool pump(std::string& out, std::size_t budget) = 0;
  virtual const std::string& failure() const = 0;
};

class SnapshotSender final : public StateSender {
 public:
  SnapshotSender(broker::Snapshot snapshot, std::string slave);
  SnapshotSender(const SnapshotSender&) = delete;
  SnapshotSender& operator=(const SnapshotSender&) = delete;

  Seq upto() const { return snap_.upto; }
  const broker::Snapshot& snapshot() const { return snap_; }

  // Appends frames to `out` (SnapshotBegin first, SnapshotEnd last) until about
  // `budget` bytes were added. True once SnapshotEnd is in `out`.
  bool pump(std::string& out, std::size_t budget) override;
  const std::string& failure() const override { return failure_; }

 private:
  void log_progress(bool done);

  std::string failure_;  // a snapshot cannot fail to send
  broker::Snapshot snap_;
  broker::SnapshotCursor cursor_;  // refers to snap_ (declared after it)
  std::string slave_;
  store::EventEncoder encoder_;
  EventBatch batch_;
  FrameWriter writer_;
  bool begun_ = false;
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
  std::int64_t started_ms_ = 0;
  std::int64_t last_log_ms_ = 0;
};

// Removes every journal file of `dir` and makes the store adopt `identity` (the
// slave's store becomes a copy of its master's). Keeps the lock file.
Result<void> reset_store_directory(const std::string& dir, const store::StoreIdentity& identity);

class SnapshotReceiver {
 public:
  // `journal_dir` empty: no journal, the events go straight into `broker`.
  static Result<std::unique_ptr<SnapshotReceiver>> begin(const std::string& journal_dir,
                                                         const store::StoreIdentity& identity,
                                                         const fbr::SnapshotBegin& frame, broker::Broker& broker);
  ~SnapshotReceiver();

  Seq upto() const { return upto_; }
  Result<void> add(const fbr::EventRecord& record);
  // Completes the copy: with a journal the checkpoint is durable and named afterwards.
  Result<void> finish(const fbr::SnapshotEnd& frame);
  // With a journal, once it was reopened over the checkpoint (into `broker`, which may
  // be a new one): applies the non-persistent events.
  Result<void> apply_memory_events(broker::Broker& broker);

 private:
  SnapshotReceiver() = default;
  Result<void> write_out(bool sync);
  void log_progress(bool done);

  std::string dir_;
  store::StoreIdentity identity_;
  broker::Broker* direct_ = nullptr;  // no journal: apply here
  Seq upto_;
  Seq last_record_;  // records come in seq order, none beyond upto_
  std::uint64_t expected_messages_ = 0;
  std::uint64_t expected_bytes_ = 0;
  store::DirLock lock_;
  store::UniqueFd fd_;
  std::string tmp_path_, final_path_;
  std::vector<std::byte> buf_;
  std::uint64_t offset_ = 0;
  std::uint64_t unsynced_ = 0;
  std::uint64_t received_ = 0;   // records
  std::uint64_t written_ = 0;    // persistent records in the checkpoint
  std::uint64_t messages_ = 0;
  std::uint64_t body_bytes_ = 0;
  // Non-persistent events: (type, offset, length) into memory_.
  struct Held {
    std::uint16_t type;
    std::size_t offset, length;
  };
  std::vector<std::byte> memory_;
  std::vector<Held> held_;
  store::EventDecoder decoder_;
  std::int64_t started_ms_ = 0;
  std::int64_t last_log_ms_ = 0;
};

}  // namespace twinmq::replication
