// store/cut_tail.cc — cutting a stopped store back to a seq (design in store/cut_tail.h).
#include "store/cut_tail.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "store/errors.h"
#include "store/file_io.h"
#include "store/record_format.h"

namespace twinmq::store {

Result<CutReport> cut_after(const std::string& dir, Seq fork) {
  struct Listed {
    ParsedName name;
    std::string path;
  };
  std::vector<Listed> segments;
  Seq checkpoint;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto parsed = parse_file_name(entry.path().filename().string());
    if (!parsed || parsed->temporary) continue;
    if (parsed->kind == FileKind::checkpoint) {
      checkpoint = std::max(checkpoint, parsed->seq);
    } else {
      segments.push_back(Listed{*parsed, entry.path().string()});
    }
  }
  if (ec) return make_error(Errc::io, "cannot list " + dir + ": " + ec.message());
  CutReport report;
  if (checkpoint > fork) {
    report.why = "its checkpoint stands for seq " + std::to_string(checkpoint.value) +
                 ", after the fork (compaction merged the events after the fork into it)";
    return report;
  }
  std::sort(segments.begin(), segments.end(),
            [](const Listed& a, const Listed& b) { return a.name.seq > b.name.seq; });  // newest first
  for (const Listed& seg : segments) {
    if (seg.name.seq <= fork) {
      // The segment that holds the fork: keep its records up to the fork.
      auto mapped = MappedFile::open(seg.path);
      if (!mapped) return std::unexpected(mapped.error());
      const auto bytes = mapped->bytes();
      std::uint64_t offset = kFileHeaderSize;
      Seq last{seg.name.seq.value - 1};
      while (offset < bytes.size()) {
        RecordAt rec;
        if (read_record(bytes, offset, rec) != RecordCheck::ok || (rec.frame.length == 0 && rec.frame.seq == Seq{0}))
          break;  // the end of what was written (zeroed space, or a torn tail recovery cuts)
        if (rec.frame.seq > fork) break;
        last = rec.frame.seq;
        offset += rec.size;
      }
      const std::uint64_t size = bytes.size();
      mapped = MappedFile{};
      if (offset < size) {
        if (auto r = truncate_file(seg.path, offset); !r) return std::unexpected(r.error());
        report.bytes_removed += size - offset;
      }
      report.last_seq = last;
      break;
    }
    std::error_code size_ec;
    report.bytes_removed += std::filesystem::file_size(seg.path, size_ec);
    if (auto r = remove_file(seg.path); !r) return std::unexpected(r.error());
    ++report.segments_removed;
  }
  if (report.last_seq == Seq{0}) report.last_seq = checkpoint;
  if (auto r = sync_dir(dir); !r) return std::unexpected(r.error());
  report.cut = true;
  return report;
}

}  // namespace twinmq::store
