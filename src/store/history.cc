#include "store/history.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>

#include "base/crc32c.h"
#include "store/dir_lock.h"
#include "store/errors.h"
#include "store/file_io.h"
#include "store/record_format.h"
#include "store/recovery.h"

namespace twinmq::store {

namespace {

// Recovery in inspect mode checks every record; the history needs none of the events.
class Discard final : public ReplayTarget {
 public:
  void replay(Seq, const broker::Event&, FileNo, std::uint64_t, std::uint32_t) override {}
};

constexpr std::string_view kHistoryMagic = "twinmq-history ";
constexpr std::uint64_t kNoSeq = std::numeric_limits<std::uint64_t>::max();

template <class T>
bool parse_number(std::string_view text, T& out, int base = 10) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out, base);
  return ec == std::errc() && p == end;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::string resolve_store_dir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(join_path(dir, kIdentityFileName), ec)) return dir;
  const std::string nested = join_path(dir, "journal");
  if (std::filesystem::is_regular_file(join_path(nested, kIdentityFileName), ec)) return nested;
  return dir;
}

Result<StoppedStore> open_stopped_store(const std::string& given) {
  const std::string dir = resolve_store_dir(given);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return make_error(Errc::io, dir + " does not exist or is not a directory");
  if (auto pid = DirLock::holder(dir))
    return make_error(Errc::in_use, "data directory " + dir + " is in use by pid " + std::to_string(*pid) +
                                        "; stop that broker first (a live journal changes while it is read)");
  auto identity = load_identity(dir);
  if (!identity) return std::unexpected(identity.error());
  if (!*identity)
    return make_error(Errc::bad_identity, "no identity file in " + dir + ": not a twinmq store, or its identity was lost");
  return StoppedStore{dir, **identity};
}

Result<StoreHistory> load_history(const std::string& given) {
  auto store = open_stopped_store(given);
  if (!store) return std::unexpected(store.error());
  const std::string& dir = store->dir;

  Discard discard;
  SegmentSet files(dir);
  auto rec = recover_store(dir, store->identity, discard, files, RecoveryMode::inspect);
  if (!rec) return std::unexpected(rec.error());
  if (!rec->problems.empty()) {
    std::string text = "the store in " + dir + " is damaged: " + rec->problems.front();
    if (rec->problems.size() > 1)
      text += " (and " + std::to_string(rec->problems.size() - 1) + " more; `twinmq verify-store " + dir +
              "` lists them)";
    return make_error(Errc::corrupt, std::move(text));
  }

  StoreHistory h;
  h.source = dir;
  h.identity = store->identity;
  h.checkpoint_seq = rec->checkpoint_seq;
  h.first_seq = rec->first_seq;
  h.last_seq = rec->last_seq;
  for (const FileSummary& f : rec->files) {
    if (f.kind != FileKind::segment) continue;
    h.segments.push_back(HistorySegment{f.seq, f.last, f.epoch});
    const std::string path = join_path(dir, f.name);
    auto map = MappedFile::open(path);
    if (!map) return std::unexpected(map.error());
    // Up to where recovery found valid records (a torn tail or zeroed space ends it).
    const auto bytes = map->bytes().first(std::min<std::size_t>(map->size(), f.bytes));
    std::uint64_t off = kFileHeaderSize;
    while (off < bytes.size()) {
      RecordAt r;
      if (read_record(bytes, off, r) != RecordCheck::ok)
        return make_error(Errc::corrupt, f.name + " offset " + std::to_string(off) +
                                             ": changed while it was read (is a broker running on " + dir + "?)");
      if (is_event_record(static_cast<RecordType>(r.frame.type))) {
        h.records.push_back(HistoryRecord{r.frame.seq, crc32c(r.payload), r.frame.length, r.frame.type, f.epoch});
      }
      off += r.size;
    }
  }
  return h;
}

std::string format_history(const StoreHistory& h) {
  std::string out;
  out.reserve(128 + h.segments.size() * 40 + h.records.size() * 40);
  out += "twinmq-history 1\n";
  out += "store-id " + h.identity.id.to_string() + "\n";
  out += "epoch " + std::to_string(h.identity.epoch) + "\n";
  out += "checkpoint " + std::to_string(h.checkpoint_seq.value) + "\n";
  out += "first " + std::to_string(h.first_seq.value) + "\n";
  out += "last " + std::to_string(h.last_seq.value) + "\n";
  for (const HistorySegment& s : h.segments) {
    out += "segment " + std::to_string(s.first.value) + " " + std::to_string(s.last.value) + " " +
           std::to_string(s.epoch) + "\n";
  }
  char crc[16];
  for (const HistoryRecord& r : h.records) {
    std::snprintf(crc, sizeof(crc), "%08x", r.crc);
    out += "record " + std::to_string(r.seq.value) + " " + std::to_string(r.type) + " " +
           std::to_string(r.length) + " " + crc + " " + std::to_string(r.epoch) + "\n";
  }
  out += "end " + std::to_string(h.records.size()) + "\n";
  return out;
}

Result<StoreHistory> parse_history(std::string_view text, const std::string& name) {
  StoreHistory h;
  h.source = name;
  std::size_t line_no = 0;
  bool ended = false, have_id = false;
  auto bad = [&](const std::string& why) {
    return make_error(Errc::corrupt, name + ":" + std::to_string(line_no) + ": " + why +
                                         " (not a history written by `twinmq compare-stores --history`?)");
  };
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("the last line has no newline: the file is cut short");
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    if (ended) return bad("text after the end line");
    const auto w = words(line);
    if (line_no == 1) {
      if (w.size() != 2 || w[0] != "twinmq-history") return bad("does not start with 'twinmq-history 1'");
      if (w[1] != "1") return bad("history format " + std::string(w[1]) + ", this twinmq reads format 1");
      continue;
    }
    if (w.empty()) return bad("empty line");
    std::uint64_t n = 0;
    if (w[0] == "store-id" && w.size() == 2) {
      auto id = StoreId::parse(w[1]);
      if (!id) return bad("bad store id");
      h.identity.id = *id;
      have_id = true;
    } else if ((w[0] == "epoch" || w[0] == "checkpoint" || w[0] == "first" || w[0] == "last") && w.size() == 2) {
      if (!parse_number(w[1], n)) return bad("bad number '" + std::string(w[1]) + "'");
      if (w[0] == "epoch") h.identity.epoch = n;
      if (w[0] == "checkpoint") h.checkpoint_seq = Seq{n};
      if (w[0] == "first") h.first_seq = Seq{n};
      if (w[0] == "last") h.last_seq = Seq{n};
    } else if (w[0] == "segment" && w.size() == 4) {
      HistorySegment s;
      if (!parse_number(w[1], s.first.value) || !parse_number(w[2], s.last.value) || !parse_number(w[3], s.epoch))
        return bad("bad segment line");
      h.segments.push_back(s);
    } else if (w[0] == "record" && w.size() == 6) {
      HistoryRecord r;
      if (!parse_number(w[1], r.seq.value) || !parse_number(w[2], r.type) || !parse_number(w[3], r.length) ||
          !parse_number(w[4], r.crc, 16) || !parse_number(w[5], r.epoch))
        return bad("bad record line");
      if (!h.records.empty() && r.seq <= h.records.back().seq) return bad("records out of seq order");
      h.records.push_back(r);
    } else if (w[0] == "end" && w.size() == 2) {
      if (!parse_number(w[1], n) || n != h.records.size())
        return bad("the end line counts " + std::string(w[1]) + " records, the file holds " +
                   std::to_string(h.records.size()));
      ended = true;
    } else {
      return bad("unknown line '" + std::string(line.substr(0, 40)) + "'");
    }
  }
  if (line_no == 0) return make_error(Errc::corrupt, name + ": empty file, not a history");
  if (!ended) return bad("no end line: the file is cut short");
  if (!have_id) return bad("no store-id line");
  return h;
}

bool is_history_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return false;
  char head[kHistoryMagic.size()];
  const ssize_t n = ::pread(fd->get(), head, sizeof(head), 0);
  return n == static_cast<ssize_t>(sizeof(head)) && std::string_view(head, sizeof(head)) == kHistoryMagic;
}

Result<StoreHistory> read_history_file(const std::string& path) {
  auto map = MappedFile::open(path);
  if (!map) return std::unexpected(map.error());
  const auto bytes = map->bytes();
  return parse_history(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

namespace {

// The first seq of the first segment of `h` whose epoch the other store never had.
std::uint64_t own_history_from(const StoreHistory& h, const StoreHistory& other) {
  for (const HistorySegment& s : h.segments) {
    if (s.epoch > other.identity.epoch) return s.first.value;
  }
  return kNoSeq;
}

std::string type_name(std::uint16_t type) {
  return is_known_record_type(type) ? std::string(record_type_name(static_cast<RecordType>(type)))
                                    : "type " + std::to_string(type);
}

}  // namespace

ForkPoint find_fork(const StoreHistory& a, const StoreHistory& b) {
  ForkPoint f;
  // 1. The window both still hold in segments.
  const std::uint64_t lo = std::max(a.first_seq.value, b.first_seq.value);
  const std::uint64_t hi = std::min(a.last_seq.value, b.last_seq.value);
  // 2. It ends before either store's own epoch begins.
  const std::uint64_t own_a = own_history_from(a, b);
  const std::uint64_t own_b = own_history_from(b, a);
  std::uint64_t end = hi;
  if (own_a != kNoSeq && own_a - 1 < end) {
    end = own_a - 1;
    f.why = "A's records from seq " + std::to_string(own_a) + " on are in its epoch " + std::to_string(a.identity.epoch) +
            " (it was promoted there), which B never had";
  }
  if (own_b != kNoSeq && own_b - 1 < end) {
    end = own_b - 1;
    f.why = "B's records from seq " + std::to_string(own_b) + " on are in its epoch " + std::to_string(b.identity.epoch) +
            " (it was promoted there), which A never had";
  }
  if (end == hi && f.why.empty()) {
    f.why = a.last_seq.value == hi ? "A's history ends at seq " + std::to_string(hi)
                                   : "B's history ends at seq " + std::to_string(hi);
    if (a.last_seq == b.last_seq) f.why = "both histories end at seq " + std::to_string(hi);
  }
  f.window_first = Seq{lo};
  f.window_last = Seq{end};
  f.seq = Seq{end};

  // 3. Walk the window.
  auto in_window = [&](const std::vector<HistoryRecord>& rs) {
    return std::lower_bound(rs.begin(), rs.end(), Seq{lo},
                            [](const HistoryRecord& r, Seq s) { return r.seq < s; });
  };
  auto ia = in_window(a.records), ib = in_window(b.records);
  while (lo <= end) {
    const std::uint64_t sa = (ia != a.records.end() && ia->seq.value <= end) ? ia->seq.value : kNoSeq;
    const std::uint64_t sb = (ib != b.records.end() && ib->seq.value <= end) ? ib->seq.value : kNoSeq;
    if (sa == kNoSeq && sb == kNoSeq) break;
    if (sa == sb) {
      if (ia->type == ib->type && ia->length == ib->length && ia->crc == ib->crc) {
        ++f.agreed;
        ++ia;
        ++ib;
        continue;
      }
      f.seq = Seq{sa - 1};
      f.why = "the stores hold different records at seq " + std::to_string(sa) + " (A: " + type_name(ia->type) +
              ", B: " + type_name(ib->type) + (ia->type == ib->type ? " with other contents)" : ")");
      break;
    }
    const std::uint64_t s = std::min(sa, sb);
    f.seq = Seq{s - 1};
    f.why = std::string(s == sa ? "A" : "B") + " holds an event at seq " + std::to_string(s) + " (" +
            type_name(s == sa ? ia->type : ib->type) + ") where " + (s == sa ? "B" : "A") + " holds none";
    break;
  }
  // 4. Exact only if something before the fork was actually compared (or nothing
  //    before the window was ever compacted away).
  f.exact = lo <= 1 || f.agreed > 0;
  if (f.seq.value + 1 < lo && lo > 1) f.exact = false;
  return f;
}

std::uint64_t records_after(const StoreHistory& h, Seq seq) {
  const auto it = std::upper_bound(h.records.begin(), h.records.end(), seq,
                                   [](Seq s, const HistoryRecord& r) { return s < r.seq; });
  return static_cast<std::uint64_t>(h.records.end() - it);
}

}  // namespace twinmq::store
