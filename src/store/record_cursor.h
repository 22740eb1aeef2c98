// store/record_cursor.h — reads journaled records from a sequence number on, for
// replication catch-up (a slave that reconnects resumes from its last applied seq).
//
// Made by Journal::read_from(seq) on the loop thread, which opens every segment file
// it will need there and then: compaction may delete a file afterwards, but an open
// descriptor keeps its bytes readable, so a cursor never sees a hole. It reads only up
// to the durable position at creation (end()); events after that are the live
// stream's (the caller is an EventSink from then on).
//
// Records come as framed on disk: seq, how many seqs before it were not journaled
// (`skipped`: non-persistent events, which a slave could not get from here), type and
// the payload (one schemas/event.fbs Event, sendable as is). `skip` records carry no
// event but account for seqs.
//
// Lifecycle: owned by the caller; next() may run on any one thread at a time (e.g. a
// replication thread), since it touches nothing of the Journal.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "store/file_io.h"
#include "store/record_format.h"

namespace twinmq::store {

struct RecordView {
  Seq seq;
  std::uint32_t skipped = 0;
  RecordType type = RecordType::skip;
  std::span<const std::byte> payload;  // valid until the next call to next()
};

class RecordCursor {
 public:
  struct Source {
    std::string path;
    UniqueFd fd;
    std::uint64_t size = 0;  // durable bytes to read
  };

  RecordCursor(std::vector<Source> sources, Seq from, Seq end)
      : sources_(std::move(sources)), from_(from), end_(end) {}
  RecordCursor(RecordCursor&&) = default;
  RecordCursor& operator=(RecordCursor&&) = default;

  // The next record with seq >= from, nullopt after end(). An error names the file
  // and offset of a damaged record.
  Result<std::optional<RecordView>> next();
  Seq end() const { return end_; }

 private:
  std::vector<Source> sources_;
  std::size_t index_ = 0;
  MappedFile map_;
  bool mapped_ = false;
  std::uint64_t offset_ = 0;
  Seq from_;
  Seq end_;
};

}  // namespace twinmq::store
