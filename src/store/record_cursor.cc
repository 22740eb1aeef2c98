#include "store/record_cursor.h"

#include "store/errors.h"

namespace twinmq::store {

Result<std::optional<RecordView>> RecordCursor::next() {
  while (index_ < sources_.size()) {
    Source& src = sources_[index_];
    if (!mapped_) {
      auto m = MappedFile::map_fd(src.fd.get(), src.size, src.path);
      if (!m) return std::unexpected(m.error());
      map_ = std::move(*m);
      mapped_ = true;
      offset_ = kFileHeaderSize;
    }
    const auto bytes = map_.bytes();
    while (offset_ < bytes.size()) {
      RecordAt rec;
      const RecordCheck c = read_record(bytes, offset_, rec);
      if (c != RecordCheck::ok) {
        return make_error(Errc::corrupt, src.path + " offset " + std::to_string(offset_) + ": " +
                                             std::string(describe(c)) + " in data reported durable");
      }
      offset_ += rec.size;
      if (rec.frame.seq > end_) break;
      if (rec.frame.seq < from_) continue;
      return std::optional<RecordView>(RecordView{rec.frame.seq, rec.frame.skipped,
                                                  static_cast<RecordType>(rec.frame.type), rec.payload});
    }
    mapped_ = false;
    ++index_;
  }
  map_ = MappedFile();
  return std::optional<RecordView>{};
}

}  // namespace twinmq::store
