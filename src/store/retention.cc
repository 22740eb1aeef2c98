// store/retention.cc — segments kept for a slave that is away (design in store/retention.h).
#include "store/retention.h"

#include <sys/stat.h>

#include "store/errors.h"
#include "store/file_io.h"
#include "store/record_format.h"

namespace twinmq::store {

std::size_t first_kept(std::size_t count, const std::function<std::uint64_t(std::size_t)>& size_of,
                       const std::function<std::int64_t(std::size_t)>& written_ms_of, const RetainPolicy& policy,
                       std::int64_t now_ms) {
  std::size_t keep_from = count;
  for (std::uint64_t kept = 0; keep_from > 0; --keep_from) {
    const std::size_t i = keep_from - 1;
    if (kept + size_of(i) > policy.bytes) break;
    if (expired(written_ms_of(i), policy, now_ms)) break;  // older ones are older still
    kept += size_of(i);
  }
  return keep_from;
}

bool expired(std::int64_t written_ms, const RetainPolicy& policy, std::int64_t now_ms) {
  return policy.max_age_ms != 0 && now_ms - written_ms >= static_cast<std::int64_t>(policy.max_age_ms);
}

std::int64_t written_ms(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

Seq unjournaled_in(Seq seq, std::uint32_t skipped, std::uint16_t type) {
  const auto t = static_cast<RecordType>(type);
  if (t == RecordType::skip || t == RecordType::transaction_committed) return seq;
  if (skipped != 0) return Seq{seq.value - 1};
  return Seq{0};
}

Result<RetainedSegment> scan_retained(const std::string& path, const StoreIdentity& identity, Seq checkpoint) {
  auto map = MappedFile::open(path);
  if (!map) return std::unexpected(map.error());
  const auto bytes = map->bytes();
  FileHeader h;
  if (decode_file_header(bytes, h) != HeaderCheck::ok || h.kind != FileKind::segment || h.store_id != identity.id)
    return make_error(Errc::corrupt, path + ": not a segment of this store");
  RetainedSegment out;
  out.first = h.seq;
  out.last = Seq{h.seq.value - 1};
  out.epoch = h.epoch;
  std::uint64_t off = kFileHeaderSize;
  while (off < bytes.size()) {
    RecordAt rec;
    if (read_record(bytes, off, rec) != RecordCheck::ok) break;  // its end (zeros, if it was never closed)
    if (!is_known_record_type(rec.frame.type) || rec.frame.seq.value - rec.frame.skipped != out.last.value + 1 ||
        rec.frame.seq > checkpoint)
      return make_error(Errc::corrupt, path + " offset " + std::to_string(off) + ": not a segment the checkpoint "
                                           "at seq " + std::to_string(checkpoint.value) + " covers whole");
    out.last = rec.frame.seq;
    out.last_unjournaled = std::max(out.last_unjournaled, unjournaled_in(rec.frame.seq, rec.frame.skipped, rec.frame.type));
    off += rec.size;
  }
  out.size = off;
  return out;
}

}  // namespace twinmq::store
