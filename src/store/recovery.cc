#include "store/recovery.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "base/assert.h"
#include "store/errors.h"
#include "store/event_codec.h"
#include "store/file_io.h"
#include "store/index_decoder.h"
#include "store/record_format.h"

namespace twinmq::store {

void ReplayTarget::replay_indexed(Seq, const broker::IndexedEnqueue&, FileNo, std::uint64_t, std::uint32_t) {
  TWINMQ_ASSERT(false, "index-only replay into a target that did not ask for it");
}

namespace {

struct Listed {
  std::string name;
  std::string path;
  ParsedName parsed;
};

std::string at(const std::string& name, std::uint64_t offset) {
  return name + " offset " + std::to_string(offset);
}

bool all_zero(std::span<const std::byte> b) {
  return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

// The walk over one store. Keeps the state shared by the checkpoint and segment passes.
class Walk {
 public:
  Walk(const std::string& dir, const StoreIdentity& identity, ReplayTarget& target, SegmentSet& files,
       RecoveryMode mode, RecoveryReport& report, const RetainPolicy& retain, Bodies bodies)
      : dir_(dir), identity_(identity), target_(target), files_(files), mode_(mode), report_(report),
        retain_(retain), bodies_(bodies) {}

  Result<void> run();

 private:
  // Records a problem. Repair mode stops at the first one (the caller checks stopped()).
  void problem(Errc code, std::string text) {
    if (!first_error_) first_error_ = Error{static_cast<int>(code), text};
    report_.problems.push_back(std::move(text));
  }
  bool stopped() const { return mode_ == RecoveryMode::repair && first_error_.has_value(); }
  // `retainable`: a segment a checkpoint covers, which start-up keeps while the broker's
  // retain policy holds it for a slave's catch-up (inspect mode does not know that policy).
  void cleanup(const std::string& path, const std::string& why, bool retainable = false);
  bool check_header(const Listed& f, std::span<const std::byte> bytes, FileKind kind, FileHeader& h);
  void replay_checkpoint(const Listed& f);
  void replay_segment(const Listed& f, bool last);
  void scan_obsolete(const Listed& f);
  // Covered segments a retain policy keeps for a slave (store/retention.h).
  void keep_retained(const std::vector<Listed>& covered);
  void torn_or_damaged(const Listed& f, std::span<const std::byte> bytes, std::uint64_t off,
                       std::string_view why, bool last, FileSummary& summary);
  bool replay_event(const Listed& f, const RecordAt& rec, std::uint64_t off, FileNo no);
  // Index-only replay of a message record; false: replay_event must decode it.
  bool replay_indexed(const RecordAt& rec, std::uint64_t off, FileNo no);

  const std::string& dir_;
  const StoreIdentity& identity_;
  ReplayTarget& target_;
  SegmentSet& files_;
  RecoveryMode mode_;
  RecoveryReport& report_;
  const RetainPolicy retain_;
  const Bodies bodies_;
  EventDecoder decoder_;
  IndexDecoder index_decoder_;
  std::optional<Error> first_error_;
  Seq covered_;            // last seq accounted for so far
  bool changed_dir_ = false;
};

void Walk::cleanup(const std::string& path, const std::string& why, bool retainable) {
  const std::string name = std::filesystem::path(path).filename().string();
  if (mode_ == RecoveryMode::inspect) {
    report_.notes.push_back(name + ": " + why +
                            (retainable ? " (start-up removes it unless the broker's replicationRetainBytes / "
                                          "replicationRetainPeriod keep it for a slave's catch-up)"
                                        : " (start-up removes it)"));
    return;
  }
  if (auto r = remove_file(path); !r) {
    problem(Errc::io, r.error().message);
    return;
  }
  changed_dir_ = true;
  report_.notes.push_back("removed " + name + ": " + why);
}

bool Walk::check_header(const Listed& f, std::span<const std::byte> bytes, FileKind kind, FileHeader& h) {
  const HeaderCheck c = decode_file_header(bytes, h);
  if (c == HeaderCheck::unsupported_version) {
    problem(Errc::unsupported_version, f.name + ": format version " + std::to_string(h.version) +
                                           ", this twinmq reads version " + std::to_string(kFormatVersion));
    return false;
  }
  if (c != HeaderCheck::ok) {
    problem(Errc::corrupt, at(f.name, 0) + ": " + std::string(describe(c)));
    return false;
  }
  if (h.kind != kind) {
    problem(Errc::corrupt, at(f.name, 12) + ": file kind " + std::to_string(static_cast<int>(h.kind)) +
                               " does not match its name");
    return false;
  }
  if (h.store_id != identity_.id) {
    problem(Errc::foreign_file, at(f.name, 16) + ": belongs to store " + h.store_id.to_string() +
                                    ", this store is " + identity_.id.to_string());
    return false;
  }
  if (h.seq != f.parsed.seq) {
    problem(Errc::corrupt, at(f.name, 40) + ": header names seq " + std::to_string(h.seq.value) +
                               ", the file name seq " + std::to_string(f.parsed.seq.value));
    return false;
  }
  if (h.epoch > identity_.epoch) {
    problem(Errc::corrupt, at(f.name, 32) + ": epoch " + std::to_string(h.epoch) +
                               " is newer than the store's epoch " + std::to_string(identity_.epoch));
    return false;
  }
  return true;
}

bool Walk::replay_indexed(const RecordAt& rec, std::uint64_t off, FileNo no) {
  const auto type = static_cast<RecordType>(rec.frame.type);
  if (type != RecordType::message_enqueued && type != RecordType::transaction_committed) return false;
  // flatbuffers reads scalars in place: a record in a file is 8-aligned, so is its
  // payload; anything else goes the decoder's way (it copies).
  if (reinterpret_cast<std::uintptr_t>(rec.payload.data()) % alignof(std::uint64_t) != 0) return false;
  const fb::Event* ev = verified_event(rec.payload, type, nullptr);
  if (ev == nullptr) return false;  // the decoder says why
  const broker::IndexedEnqueue* e = index_decoder_.decode(*ev);
  if (e == nullptr) return false;
  target_.replay_indexed(rec.frame.seq, *e, no, off, static_cast<std::uint32_t>(rec.size));
  ++report_.events;
  for (const broker::StoredMessageIndex& m : e->sends)
    report_.next_message_id = std::max(report_.next_message_id, m.id + 1);
  return true;
}

bool Walk::replay_event(const Listed& f, const RecordAt& rec, std::uint64_t off, FileNo no) {
  if (bodies_ == Bodies::index_only && replay_indexed(rec, off, no)) return true;
  const auto type = static_cast<RecordType>(rec.frame.type);
  auto ev = decoder_.decode(type, rec.payload);
  if (!ev) {
    problem(Errc::corrupt, at(f.name, off) + ": " + std::string(record_type_name(type)) +
                               " record (seq " + std::to_string(rec.frame.seq.value) +
                               ") has a valid checksum but does not decode: " + ev.error().message);
    return false;
  }
  target_.replay(rec.frame.seq, **ev, no, off, static_cast<std::uint32_t>(rec.size));
  ++report_.events;
  if (const auto* enq = std::get_if<broker::MessageEnqueued>(*ev)) {
    report_.next_message_id = std::max(report_.next_message_id, enq->message->id() + 1);
  } else if (const auto* tx = std::get_if<broker::TransactionCommitted>(*ev)) {
    for (const broker::MessageRef& m : tx->sends)
      report_.next_message_id = std::max(report_.next_message_id, m->id() + 1);
  }
  return true;
}

void Walk::replay_checkpoint(const Listed& f) {
  auto map = MappedFile::open(f.path);
  if (!map) return problem(Errc::io, map.error().message);
  const auto bytes = map->bytes();
  FileHeader h;
  if (!check_header(f, bytes, FileKind::checkpoint, h)) return;
  const FileNo no = files_.reserve();
  FileSummary sum{f.name, FileKind::checkpoint, h.seq, h.seq, h.epoch, 0, bytes.size()};
  std::uint64_t off = kFileHeaderSize;
  Seq prev{0};
  bool ended = false;
  // A checkpoint was synced before it got its name: any damage in it is real damage.
  while (off < bytes.size()) {
    RecordAt rec;
    const RecordCheck c = read_record(bytes, off, rec);
    if (c != RecordCheck::ok) return problem(Errc::corrupt, at(f.name, off) + ": " + std::string(describe(c)) + " inside a checkpoint");
    if (!is_known_record_type(rec.frame.type))
      return problem(Errc::unsupported_version, at(f.name, off) + ": unknown record type " + std::to_string(rec.frame.type));
    if (rec.frame.seq < prev || rec.frame.seq > h.seq)
      return problem(Errc::corrupt, at(f.name, off) + ": seq " + std::to_string(rec.frame.seq.value) +
                                        " out of order (expected between " + std::to_string(prev.value) +
                                        " and " + std::to_string(h.seq.value) + ")");
    prev = rec.frame.seq;
    const auto type = static_cast<RecordType>(rec.frame.type);
    if (type == RecordType::checkpoint_end) {
      CheckpointEnd end;
      if (!decode_checkpoint_end(rec.payload, end) || end.records != sum.records)
        return problem(Errc::corrupt, at(f.name, off) + ": checkpoint_end record does not match the " +
                                          std::to_string(sum.records) + " records before it");
      report_.next_message_id = std::max(report_.next_message_id, end.next_message_id);
      off += rec.size;
      ended = true;
      break;
    }
    if (!is_event_record(type)) return problem(Errc::corrupt, at(f.name, off) + ": a " + std::string(record_type_name(type)) + " record inside a checkpoint");
    if (!replay_event(f, rec, off, no)) return;
    ++sum.records;
    off += rec.size;
  }
  if (!ended) return problem(Errc::corrupt, at(f.name, off) + ": checkpoint has no checkpoint_end record (incomplete)");
  if (off != bytes.size())
    return problem(Errc::corrupt, at(f.name, off) + ": " + std::to_string(bytes.size() - off) + " bytes after checkpoint_end");
  report_.records += sum.records + 1;
  report_.bytes += bytes.size();
  report_.checkpoint_seq = h.seq;
  covered_ = h.seq;
  files_.add(FileKind::checkpoint, h.seq, h.epoch, bytes.size(), no);
  report_.files.push_back(sum);
}

void Walk::scan_obsolete(const Listed& f) {
  // Its successor starts at or before C + 1 or it is older than the checkpoint: all of
  // it should be covered by the checkpoint. Make sure before removing it.
  auto map = MappedFile::open(f.path);
  if (!map) return problem(Errc::io, map.error().message);
  const auto bytes = map->bytes();
  std::uint64_t off = kFileHeaderSize;
  while (off < bytes.size()) {
    RecordAt rec;
    if (read_record(bytes, off, rec) != RecordCheck::ok) break;
    if (rec.frame.seq > report_.checkpoint_seq)
      return problem(Errc::corrupt, at(f.name, off) + ": holds seq " + std::to_string(rec.frame.seq.value) +
                                        ", beyond checkpoint " + std::to_string(report_.checkpoint_seq.value) +
                                        " that should cover the whole file");
    off += rec.size;
  }
  cleanup(f.path, "covered by checkpoint " + std::to_string(report_.checkpoint_seq.value), true);
}

void Walk::keep_retained(const std::vector<Listed>& covered) {
  // Kept only as an unbroken run that ends at the checkpoint (a catch-up reads them in
  // order, then the live segments): anything else is removed as before.
  std::vector<RetainedSegment> kept;
  std::size_t run_from = 0;
  for (std::size_t i = 0; i < covered.size(); ++i) {
    auto seg = scan_retained(covered[i].path, identity_, report_.checkpoint_seq);
    if (!seg) return problem(Errc::corrupt, seg.error().message);
    if (!kept.empty() && seg->first.value != kept.back().last.value + 1) {
      kept.clear();
      run_from = i;
    }
    kept.push_back(*seg);
  }
  if (!kept.empty() && kept.back().last != report_.checkpoint_seq) {
    kept.clear();
    run_from = covered.size();
  }
  for (std::size_t i = 0; i < run_from; ++i)
    cleanup(covered[i].path, "covered by checkpoint " + std::to_string(report_.checkpoint_seq.value), true);
  for (const RetainedSegment& seg : kept) {
    JournalFile& jf = files_.add(FileKind::segment, seg.first, seg.epoch, seg.size, files_.reserve());
    jf.last = seg.last;
    report_.last_unjournaled = std::max(report_.last_unjournaled, seg.last_unjournaled);
    ++report_.retained_segments;
  }
}

// The resync scan: is there a valid record (seq beyond what was accounted for) after
// the damage? Records are 8-aligned, so only aligned offsets are candidates.
std::optional<std::pair<std::uint64_t, Seq>> valid_record_after(std::span<const std::byte> bytes,
                                                                std::uint64_t damaged, Seq covered) {
  for (std::uint64_t off = damaged + kRecordAlign; off + kRecordHeaderSize <= bytes.size(); off += kRecordAlign) {
    RecordAt rec;
    if (read_record(bytes, off, rec) == RecordCheck::ok && is_known_record_type(rec.frame.type) &&
        rec.frame.seq > covered)
      return std::make_pair(off, rec.frame.seq);
  }
  return std::nullopt;
}

void Walk::torn_or_damaged(const Listed& f, std::span<const std::byte> bytes, std::uint64_t off,
                           std::string_view why, bool last, FileSummary& sum) {
  const std::uint64_t rest = bytes.size() - off;
  if (!last) {
    return problem(Errc::corrupt, at(f.name, off) + ": " + std::string(why) + " (expected a record covering seq " +
                                      std::to_string(covered_.value + 1) + "); " + std::to_string(rest) +
                                      " bytes of this segment and the later segments follow: refusing to drop them");
  }
  if (all_zero(bytes.subspan(off))) {
    // The zeroed space the writer keeps ahead of its writes (store/sync_thread.h),
    // left by a broker that did not stop cleanly: nothing was ever written there.
    sum.bytes = off;
    if (mode_ == RecoveryMode::inspect) {
      report_.notes.push_back(at(f.name, off) + ": " + std::to_string(rest) +
                              " bytes of unused zeroed space (start-up cuts them off)");
      return;
    }
    if (auto r = truncate_file(f.path, off); !r) return problem(Errc::io, r.error().message);
    report_.notes.push_back("cut " + std::to_string(rest) + " bytes of unused zeroed space off " + at(f.name, off));
    return;
  }
  if (auto next = valid_record_after(bytes, off, covered_)) {
    return problem(Errc::corrupt, at(f.name, off) + ": " + std::string(why) + " (expected a record covering seq " +
                                      std::to_string(covered_.value + 1) + "), but a valid record (seq " +
                                      std::to_string(next->second.value) + ") follows at offset " +
                                      std::to_string(next->first) + ": damage in the middle of the journal");
  }
  report_.truncated_bytes = rest;
  report_.truncation = at(f.name, off) + ": " + std::string(why) + "; " + std::to_string(rest) + " bytes";
  sum.bytes = off;
  if (mode_ == RecoveryMode::repair) {
    if (auto r = truncate_file(f.path, off); !r) return problem(Errc::io, r.error().message);
  }
}

void Walk::replay_segment(const Listed& f, bool last) {
  auto map = MappedFile::open(f.path);
  if (!map) return problem(Errc::io, map.error().message);
  const auto bytes = map->bytes();
  FileHeader h;
  if (last && decode_file_header(bytes, h) != HeaderCheck::ok && (bytes.size() < kFileHeaderSize || all_zero(bytes))) {
    // Created, but its header never reached the disk: a crash right after a roll.
    return cleanup(f.path, "newest segment with no complete header (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (!check_header(f, bytes, FileKind::segment, h)) return;
  if (h.seq.value != covered_.value + 1) {
    return problem(Errc::corrupt, at(f.name, 40) + ": sequence gap: expected the segment to start at seq " +
                                      std::to_string(covered_.value + 1) + ", found " + std::to_string(h.seq.value));
  }
  const FileNo no = files_.reserve();
  FileSummary sum{f.name, FileKind::segment, h.seq, covered_, h.epoch, 0, bytes.size()};
  std::uint64_t off = kFileHeaderSize;
  while (off < bytes.size()) {
    RecordAt rec;
    const RecordCheck c = read_record(bytes, off, rec);
    if (c != RecordCheck::ok) {
      torn_or_damaged(f, bytes, off, describe(c), last, sum);
      break;
    }
    if (!is_known_record_type(rec.frame.type))
      return problem(Errc::unsupported_version, at(f.name, off) + ": unknown record type " +
                                                    std::to_string(rec.frame.type) + " (written by a newer twinmq?)");
    const Seq first_covered{rec.frame.seq.value - rec.frame.skipped};
    if (rec.frame.skipped > rec.frame.seq.value || first_covered.value != covered_.value + 1) {
      return problem(Errc::corrupt, at(f.name, off) + ": sequence discontinuity: expected a record covering seq " +
                                        std::to_string(covered_.value + 1) + ", found seq " +
                                        std::to_string(rec.frame.seq.value) + " covering from " +
                                        std::to_string(first_covered.value));
    }
    const auto type = static_cast<RecordType>(rec.frame.type);
    if (type == RecordType::checkpoint_end)
      return problem(Errc::corrupt, at(f.name, off) + ": checkpoint_end record inside a segment");
    if (is_event_record(type) && !replay_event(f, rec, off, no)) return;
    report_.last_unjournaled =
        std::max(report_.last_unjournaled, unjournaled_in(rec.frame.seq, rec.frame.skipped, rec.frame.type));
    covered_ = rec.frame.seq;
    ++sum.records;
    off += rec.size;
    if (stopped()) return;
  }
  if (stopped()) return;
  sum.last = covered_;
  report_.records += sum.records;
  report_.bytes += sum.bytes;
  JournalFile& jf = files_.add(FileKind::segment, h.seq, h.epoch, sum.bytes, no);
  jf.last = covered_;
  report_.files.push_back(sum);
}

Result<void> Walk::run() {
  std::vector<Listed> checkpoints, segments;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    auto parsed = parse_file_name(name);
    if (!parsed) continue;
    Listed l{name, entry.path().string(), *parsed};
    if (parsed->temporary) {
      cleanup(l.path, "a checkpoint whose writing was interrupted");
    } else if (parsed->kind == FileKind::checkpoint) {
      checkpoints.push_back(std::move(l));
    } else {
      segments.push_back(std::move(l));
    }
  }
  if (ec) return io_error("listing", dir_, ec.value());
  auto by_seq = [](const Listed& a, const Listed& b) { return a.parsed.seq < b.parsed.seq; };
  std::sort(checkpoints.begin(), checkpoints.end(), by_seq);
  std::sort(segments.begin(), segments.end(), by_seq);

  if (!checkpoints.empty()) {
    for (std::size_t i = 0; i + 1 < checkpoints.size(); ++i)
      cleanup(checkpoints[i].path, "older than checkpoint " + checkpoints.back().name);
    replay_checkpoint(checkpoints.back());
    if (stopped()) return std::unexpected(*first_error_);
  }
  const Seq c = report_.checkpoint_seq;
  std::size_t first_live = 0;
  while (first_live < segments.size() && c && segments[first_live].parsed.seq <= c) ++first_live;
  std::size_t keep_from = first_live;
  if (mode_ == RecoveryMode::repair && retain_.bytes != 0) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    keep_from = first_kept(
        first_live,
        [&](std::size_t i) {
          std::error_code size_ec;
          const auto n = std::filesystem::file_size(segments[i].path, size_ec);
          return size_ec ? ~std::uint64_t{0} : n;
        },
        [&](std::size_t i) { return written_ms(segments[i].path); }, retain_, now);
  }
  for (std::size_t i = 0; i < keep_from; ++i) {
    scan_obsolete(segments[i]);
    if (stopped()) return std::unexpected(*first_error_);
  }
  std::vector<Listed> covered(segments.begin() + static_cast<std::ptrdiff_t>(keep_from),
                              segments.begin() + static_cast<std::ptrdiff_t>(first_live));
  keep_retained(covered);
  if (stopped()) return std::unexpected(*first_error_);
  covered_ = c;
  for (std::size_t i = first_live; i < segments.size(); ++i) {
    const std::size_t problems_before = report_.problems.size();
    replay_segment(segments[i], i + 1 == segments.size());
    if (stopped()) return std::unexpected(*first_error_);
    if (report_.problems.size() != problems_before) {
      // Inspect mode goes on with the next segment: its own checks still say something.
      if (i + 1 < segments.size()) covered_ = Seq{segments[i + 1].parsed.seq.value - 1};
    }
  }
  report_.first_seq = Seq{c.value + 1};
  report_.last_seq = covered_;
  if (changed_dir_ && mode_ == RecoveryMode::repair) {
    if (auto r = sync_dir(dir_); !r) return std::unexpected(r.error());
  }
  return {};
}

}  // namespace

Result<RecoveryReport> recover_store(const std::string& dir, const StoreIdentity& identity,
                                     ReplayTarget& target, SegmentSet& files, RecoveryMode mode,
                                     const RetainPolicy& retain, Bodies bodies) {
  const auto started = std::chrono::steady_clock::now();
  RecoveryReport report;
  Walk walk(dir, identity, target, files, mode, report, retain, bodies);
  if (auto r = walk.run(); !r) return std::unexpected(r.error());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace twinmq::store
