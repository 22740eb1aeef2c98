// replication/journal_copy.h — the full copy read from the master's journal files, not
// from its memory (issue 10: a master's memory stays flat during an attach, whatever
// the store size and the load).
//
// WHAT IS SENT. The journal is the replication log: its checkpoint and segments,
// replayed in order, rebuild every persistent part of the broker's state, and
// compaction keeps them at about the live data (store/compactor.h: garbage is bounded
// by max(live bytes, four segments)). So a full copy as of seq S is
//   1. every event record of the checkpoint and of the segments up to S, as journaled
//      (their own seqs, non-decreasing, at most S): the journal part, read by a reader
//      thread in bounded chunks; then
//   2. what the journal cannot supply — non-persistent messages, and the
//      duplicate-detection windows that hold a non-persistent SEND's id
//      (Broker::take_memory_snapshot) — as records at seq S: the memory part. It is a
//      list of references to messages the master holds in memory anyway (about 100 bytes
//      each while it is sent), so it is as large as the non-persistent state, never as the
//      store.
// framed as SnapshotBegin, SnapshotChunk*, SnapshotEnd (schemas/replication.fbs). The
// slave writes the persistent records into its checkpoint `<S>.ckpt` at their own seqs
// (replication/initial_sync.h) and applies the memory part after its recovery, as
// before. Events after S follow as they always did (MasterLink: held back in a bounded
// buffer, or read back from the journal after the copy).
//
// THREADS AND MEMORY. pump() runs on the loop. The first pump() that finds the journal
// durable up to S and no compaction running (one that runs may already have deleted
// files the table still lists) opens every file (Journal::read_all) and starts the
// reader thread, which walks the records (store/record_cursor.h: mapped file pages,
// page cache, not the process's own memory) and encodes SnapshotChunk frames into at
// most kMaxChunks buffers of about kChunkBytes; it waits while they are all full. The
// loop takes them only while the link's output is below its high watermark (MasterLink),
// so the master's own memory for a copy is a few MiB, whatever the store size. The
// MasterLink holds a Journal::FilePin from the start of the copy until the events after
// S have been read back, so no compaction deletes a file the copy still needs.
//
// Lifecycle: owned by the MasterLink for one slave link (like a SnapshotSender); made
// and destroyed on the loop thread, which outlives it, like the Journal. The destructor
// stops and joins the reader thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/ids.h"
#include "broker/snapshot.h"
#include "net/async_queue.h"
#include "net/handle.h"
#include "net/loop.h"
#include "replication/initial_sync.h"
#include "replication/protocol.h"
#include "store/event_codec.h"
#include "store/journal.h"
#include "store/record_cursor.h"

namespace twinmq::replication {

class JournalCopySender final : public StateSender {
 public:
  // Copies the master's state as of `memory.upto`: the journal up to there, then `memory`
  // (Broker::take_memory_snapshot, taken in the same loop turn).
  JournalCopySender(net::Loop& loop, const store::Journal& journal, broker::Snapshot memory, std::string slave);
  ~JournalCopySender() override;
  JournalCopySender(const JournalCopySender&) = delete;
  JournalCopySender& operator=(const JournalCopySender&) = delete;

  Seq upto() const { return memory_.upto; }
  bool pump(std::string& out, std::size_t budget) override;
  const std::string& failure() const override { return failure_; }

  // Frames of the journal part a chunk holds, and how many chunks may wait for the link:
  // the reader's memory bound.
  static constexpr std::size_t kChunkBytes = 512u << 10;
  static constexpr std::size_t kMaxChunks = 4;

 private:
  // Between the reader thread and the loop; guarded by mu_.
  struct Shared {
    std::mutex mu;
    std::condition_variable room;  // the loop took a chunk, or stop
    std::deque<std::string> ready;
    bool done = false;             // the reader sent its last chunk (or failed)
    bool stop = false;             // the loop wants the reader gone
    std::string error;
    std::uint64_t records = 0;     // journal records in the chunks (when done)
    std::uint64_t bytes = 0;       // journal bytes read so far (progress)
  };

  bool start(std::string& out);
  void read_journal(store::RecordCursor cursor);  // the reader thread
  bool hand_over(std::string& chunk);               // reader: false = stop
  bool send_memory_part(std::string& out, std::size_t start, std::size_t budget);
  void log_progress(bool done);

  net::Loop& loop_;
  const store::Journal& journal_;
  broker::Snapshot memory_;
  broker::SnapshotCursor memory_cursor_;  // refers to memory_ (declared after it)
  std::string slave_;
  std::string failure_;

  Shared shared_;
  net::HandlePtr<net::AsyncQueue<char>> wake_;  // the reader wakes the loop (its prepare hook pumps)
  std::thread reader_;

  store::EventEncoder encoder_;
  EventBatch batch_;
  FrameWriter writer_;
  bool started_ = false;
  bool waiting_logged_ = false;
  bool journal_done_ = false;
  std::uint64_t journal_records_ = 0;
  std::uint64_t memory_records_ = 0;
  std::uint64_t sent_bytes_ = 0;
  std::uint64_t expected_messages_ = 0;
  std::int64_t created_ms_ = 0;
  std::int64_t started_ms_ = 0;
  std::int64_t last_log_ms_ = 0;
};

}  // namespace twinmq::replication
