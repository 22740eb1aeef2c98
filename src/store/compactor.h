// store/compactor.h — keeps the journal's disk use bounded: replaces every file up to
// a point with one checkpoint holding only what is still live.
//
// DESIGN
//  - Trigger (Journal, loop thread): when the garbage on disk (total file bytes minus
//    the LiveSet's live bytes) exceeds both the live bytes and a floor (by default
//    four segments). A queue filled and drained forever thus keeps about that floor on
//    disk; a large standing backlog is rewritten only after as much garbage as it has
//    live data has piled up, so each byte is copied a bounded number of times.
//  - Plan (loop thread, LiveSet::plan_checkpoint): at the moment the compaction starts,
//    the journal's last record has seq C and the segment being filled is closed (the
//    next record opens a new segment starting at C + 1). The plan lists what a replay
//    needs to rebuild the state as of C: live messages by location, the events that
//    created destinations and durable subscriptions, dead-letter moves. Building it
//    walks the index (no I/O, no message bytes): one 32-byte item per live message,
//    about 0.3 s per million live messages on the loop thread — paid only when as much
//    garbage as live data has accumulated.
//  - Write (writer thread, CheckpointWriter): sorts the plan by seq, copies each live
//    message's record out of the old files (mmap; CRC and flatbuffer checked again on
//    the way), writes `<C>.ckpt.tmp` in slices of a few MiB between journal batches
//    (group commit never waits behind a whole checkpoint), ends it with checkpoint_end,
//    fdatasyncs it, renames it to `<C>.ckpt`, fsyncs the directory, and only then
//    deletes the old checkpoint and segments (and fsyncs the directory again).
//  - Crash at any step leaves a recoverable store: before the rename, the old files
//    are all there (the temporary is removed at start-up); after it, recovery uses the
//    new checkpoint and removes the segments it covers.
//  - Result (loop thread): the LiveSet re-points the moved messages at the checkpoint
//    and the file table drops the deleted files. Messages acked meanwhile are simply
//    garbage in the new checkpoint.
//
// What this means for others: the journal's first seq (first_seq()) becomes C + 1.
// Replication catch-up reads records from the segments only, so a slave whose last
// applied seq is below C needs a full sync; verify-store checks sequence continuity
// from C + 1 on (inside a checkpoint, seqs only increase).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/event_codec.h"
#include "store/file_io.h"
#include "store/identity.h"
#include "store/live_set.h"

namespace twinmq::store {

struct CompactionJob {
  CheckpointPlan plan;
  StoreIdentity identity;
  std::string dir;
  FileNo checkpoint_file = 0;
  std::map<FileNo, std::string> sources;  // where copy items read from
  std::vector<FileNo> obsolete;           // deleted once the checkpoint is durable
  std::vector<std::string> obsolete_paths;
};

struct CompactionResult {
  Seq upto;
  FileNo checkpoint_file = 0;
  std::string path;
  std::uint64_t size = 0;
  std::uint64_t records = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes_before = 0;  // of the files it replaced
  std::vector<Relocation> relocations;
  std::vector<FileNo> obsolete;
  std::string warning;  // a leftover file that could not be removed (removed at next start)
};

// Writes one checkpoint. Lifecycle: made by the writer thread when it reaches the job
// in its queue, stepped until done, then dropped. Writer thread only.
class CheckpointWriter {
 public:
  explicit CheckpointWriter(std::unique_ptr<CompactionJob> job);
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Does about `budget` bytes of work; true once the checkpoint is durable and the old
  // files are gone. On error the temporary file is removed and nothing else changed.
  Result<bool> step(std::size_t budget);
  std::unique_ptr<CompactionResult> take_result() { return std::move(result_); }
  // Stops where it is (shut-down) and removes the temporary file.
  void abandon();

 private:
  Result<void> begin();
  Result<void> copy_message(const PlanItem& item);
  Result<void> flush();
  Result<void> finish();

  std::unique_ptr<CompactionJob> job_;
  std::unique_ptr<CompactionResult> result_;
  std::string tmp_path_;
  UniqueFd fd_;
  std::map<FileNo, MappedFile> sources_;
  EventEncoder encoder_;
  std::vector<std::byte> out_;
  std::uint64_t file_offset_ = 0;  // of out_[0]
  std::size_t next_item_ = 0;
  bool begun_ = false;
  bool done_ = false;
};

}  // namespace twinmq::store
