// store/sync_thread.h — the journal's one writer thread: write + fdatasync per group
// of batches, in FIFO order, and the slices of a checkpoint in between.
//
// DESIGN
//  - The loop thread frames records into a WriteBatch during a loop turn and submits
//    it from the prepare hook. The writer takes every batch waiting when it wakes up
//    (group commit: while one fdatasync runs, the next batches pile up and share the
//    next one), writes them at the offsets the loop chose, takes in once more what
//    arrived while it wrote (it shares the same fdatasync rather than waiting for the
//    next whole one), syncs, and reports "durable
//    up to batch N" through the Journal's AsyncQueue. It never uses uv_queue_work: the
//    libuv pool is shared and unordered, and durability must be reported in order.
//  - Writes are pwrite at fixed offsets, so retrying a group after a failure rewrites
//    the very same bytes. After a failed fdatasync the page cache may have dropped the
//    dirty pages (Linux marks them clean), so a retry rewrites the whole group before
//    syncing again rather than trusting a second fdatasync.
//  - Failure (ENOSPC, EIO, short write that cannot complete): report write_failed,
//    keep the group, retry every `retry_interval` until it succeeds (then report
//    durable, which clears the broker's refusal) or until stop(). Nothing is reported
//    durable that was not written.
//  - Rolling to a new segment fdatasyncs the previous one first (also without
//    syncOnWrite, once per segment), so only the newest segment can have a torn tail.
//  - Zeroed space ahead of the writes (syncOnWrite only): an fdatasync after an append
//    that grows the file must also commit the new size (an ext4 journal commit: a
//    second device flush, shared with every other file on the filesystem). So once the
//    written end comes within kZeroAhead of the file's end, the group also writes zeros
//    up to kZeroAhead past it, and its fdatasync commits that size once; the next
//    ~1000 1 KiB groups only overwrite blocks the file already has, and their
//    fdatasync is a pure data flush. The zeros never go past maxSegmentSize, and are cut
//    off (ftruncate, then the segment's last fdatasync) when the writer leaves the file
//    (a roll, or stop()), so only the newest segment of a crashed broker can end in
//    zeros; recovery drops such a zero tail as the unused space it is.
//  - Compaction jobs queue in the same FIFO as batches: a job starts only after every
//    batch before it is on disk, and then runs in slices while no batch waits.
//  - syncOnWrite="false": no fdatasync per batch (a process crash loses nothing, a
//    power cut may lose the last seconds: documented, not power-safe).
//
// Lifecycle: owned by the Journal; start() after recovery, stop() (joins) in
// Journal::close() before its AsyncQueue closes. submit() from the loop thread only;
// the report callback runs on the writer thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "store/compactor.h"
#include "store/file_io.h"
#include "store/live_set.h"

namespace twinmq::store {

// A run of a batch's bytes that goes to one file.
struct FileSpan {
  FileNo file = 0;
  std::string path;
  bool create = false;        // the run starts with the file's header at offset 0
  std::uint64_t offset = 0;   // file offset of bytes[begin]
  std::size_t begin = 0, end = 0;
};

struct WriteBatch {
  std::uint64_t id = 0;
  // The seq the journal reports durable once this batch is (its cover when handed
  // over: store/journal.h "THE TRICKY PART"); passed to the Journal's DurableListener.
  std::uint64_t cover = 0;
  std::vector<std::byte> bytes;
  std::vector<FileSpan> spans;
};

struct WriterReport {
  enum class Kind { durable, write_failed, compaction_done, compaction_failed };
  Kind kind = Kind::durable;
  std::uint64_t batch_id = 0;  // durable: every batch up to this one is written (and synced)
  std::uint64_t cover = 0;     // durable: that batch's WriteBatch::cover
  std::string error;           // write_failed, compaction_failed
  std::vector<std::vector<std::byte>> buffers;  // spent batch buffers, for reuse
  std::unique_ptr<CompactionResult> compaction;
  // durable: how long the group's fdatasync took (0 = the group was not synced). The
  // loop thread keeps the histogram (Journal::fsync_latency()): timing rides on the
  // report it gets anyway, so the writer shares no counters with it.
  std::uint64_t sync_ns = 0;
};

struct SyncStats {
  std::uint64_t groups = 0;          // write rounds that succeeded
  std::uint64_t batches = 0;         // batches written
  std::uint64_t syncs = 0;           // fdatasync calls
  std::uint64_t bytes = 0;           // bytes written for batches
  std::uint64_t write_failures = 0;  // failed rounds
};

class SyncThread {
 public:
  using Reporter = std::function<void(WriterReport)>;

  // `segment_size`: maxSegmentSize, the most zeroed space a file gets ahead of its writes.
  SyncThread(std::string dir, bool sync_on_write, std::uint64_t segment_size,
             std::chrono::milliseconds retry_interval, Reporter reporter);
  ~SyncThread();
  SyncThread(const SyncThread&) = delete;
  SyncThread& operator=(const SyncThread&) = delete;

  void start();
  void submit(WriteBatch batch);
  void submit(std::unique_ptr<CompactionJob> job);
  // Writes what was submitted (one last attempt if writes are failing), abandons a
  // compaction in progress, and joins. Idempotent.
  void stop();

  // Every batch up to this id is on disk (readable after join() without the report).
  std::uint64_t durable_batch() const { return durable_batch_.load(); }
  SyncStats stats() const;

 private:
  using Item = std::variant<WriteBatch, std::unique_ptr<CompactionJob>>;

  void run();
  // Writes group_ and syncs it once. With `absorb`, batches that were submitted while
  // it was writing join the group (and its one fdatasync) before the sync.
  Result<void> write_group(bool absorb);
  bool absorb_arrivals();  // moves the queued batches (up to a compaction job) into group_
  Result<int> fd_for(const FileSpan& span, bool& created);
  Result<void> seal_current();
  void zero_ahead();
  void close_current();

  const std::string dir_;
  const bool sync_on_write_;
  const std::uint64_t segment_size_;
  const std::chrono::milliseconds retry_interval_;
  Reporter reporter_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // guarded by mu_
  bool stop_ = false;       // guarded by mu_
  std::thread thread_;

  // Writer thread only.
  std::vector<WriteBatch> group_;
  std::unique_ptr<CheckpointWriter> compaction_;
  std::uint64_t last_sync_ns_ = 0;  // the last write_group()'s fdatasync time (0 = none)
  UniqueFd current_fd_;
  FileNo current_file_ = 0;
  std::string current_path_;
  bool current_dirty_ = false;
  std::uint64_t current_end_ = 0;  // end of what this writer wrote to the file since opening it
  std::uint64_t file_end_ = 0;     // the file's size: zeros from current_end_ up to here

  std::atomic<std::uint64_t> durable_batch_{0};
  std::atomic<std::uint64_t> groups_{0}, batches_{0}, syncs_{0}, bytes_{0}, failures_{0};
};

}  // namespace twinmq::store
