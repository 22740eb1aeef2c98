// store/segment_set.h — the journal's table of files, as the loop thread sees it.
//
// The loop decides where every record goes (which file, which offset) when it frames
// the record, so the index (LiveSet) knows a message's location at once and the
// writer thread only executes writes at given offsets. This table holds, per file,
// how far it has been laid out (size) and how far it is known durable, and it hands
// out FileNos. Checkpoint first, then segments in seq order.
//
// Lifecycle: owned by the Journal; filled from recovery, then grown by rolls and
// shrunk by compaction. Loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/ids.h"
#include "store/live_set.h"
#include "store/record_format.h"

namespace twinmq::store {

struct JournalFile {
  FileNo no = 0;
  FileKind kind = FileKind::segment;
  Seq seq;                        // segment: first seq covered; checkpoint: last seq covered
  Seq last;                       // last seq covered by what is laid out in it
  std::uint64_t epoch = 0;
  std::string path;
  std::uint64_t size = 0;         // bytes laid out (written or on their way)
  std::uint64_t durable_size = 0; // bytes known written (and synced when syncOnWrite)
};

class SegmentSet {
 public:
  explicit SegmentSet(std::string dir) : dir_(std::move(dir)) {}

  // Registers a file; segments must come in seq order after any checkpoint. `no` is a
  // number from reserve() (a checkpoint is numbered when planned, listed when written).
  JournalFile& add(FileKind kind, Seq seq, std::uint64_t epoch, std::uint64_t size, FileNo no = 0);
  FileNo reserve() { return next_no_++; }
  void remove(FileNo no);

  JournalFile* find(FileNo no);
  const JournalFile* find(FileNo no) const;
  // The segment new records go to (nullptr before the first one).
  JournalFile* tail();
  const JournalFile* checkpoint() const;
  const std::vector<JournalFile>& files() const { return files_; }

  std::uint64_t total_bytes() const;
  // Marks everything up to (file, end) durable (earlier files entirely).
  void mark_durable(FileNo file, std::uint64_t end);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<JournalFile> files_;
  FileNo next_no_ = 1;
};

}  // namespace twinmq::store
