#include "store/segment_set.h"

#include <algorithm>

#include "base/assert.h"
#include "store/file_io.h"

namespace twinmq::store {

JournalFile& SegmentSet::add(FileKind kind, Seq seq, std::uint64_t epoch, std::uint64_t size, FileNo no) {
  JournalFile f;
  f.no = no != 0 ? no : next_no_++;
  f.kind = kind;
  f.seq = seq;
  f.last = kind == FileKind::checkpoint ? seq : Seq{seq.value - 1};
  f.epoch = epoch;
  f.path = join_path(dir_, kind == FileKind::checkpoint ? checkpoint_file_name(seq) : segment_file_name(seq));
  f.size = size;
  f.durable_size = size;
  if (kind == FileKind::checkpoint) {
    // The one checkpoint comes first.
    TWINMQ_ASSERT(checkpoint() == nullptr, "two checkpoints in the file table");
    files_.insert(files_.begin(), std::move(f));
    return files_.front();
  }
  files_.push_back(std::move(f));
  return files_.back();
}

void SegmentSet::remove(FileNo no) {
  std::erase_if(files_, [&](const JournalFile& f) { return f.no == no; });
}

JournalFile* SegmentSet::find(FileNo no) {
  for (JournalFile& f : files_)
    if (f.no == no) return &f;
  return nullptr;
}

const JournalFile* SegmentSet::find(FileNo no) const {
  for (const JournalFile& f : files_)
    if (f.no == no) return &f;
  return nullptr;
}

JournalFile* SegmentSet::tail() {
  if (files_.empty() || files_.back().kind != FileKind::segment) return nullptr;
  return &files_.back();
}

const JournalFile* SegmentSet::checkpoint() const {
  if (files_.empty() || files_.front().kind != FileKind::checkpoint) return nullptr;
  return &files_.front();
}

std::uint64_t SegmentSet::total_bytes() const {
  std::uint64_t n = 0;
  for (const JournalFile& f : files_) n += f.size;
  return n;
}

void SegmentSet::mark_durable(FileNo file, std::uint64_t end) {
  for (JournalFile& f : files_) {
    if (f.no == file) {
      f.durable_size = std::max(f.durable_size, end);
      return;
    }
    // Files are written in table order: everything before `file` is complete.
    if (f.kind == FileKind::segment) f.durable_size = f.size;
  }
}

}  // namespace twinmq::store
