#include "store/verify.h"

#include <filesystem>

#include "base/json_writer.h"
#include "store/dir_lock.h"
#include "store/errors.h"
#include "store/history.h"
#include "store/live_set.h"

namespace twinmq::store {

namespace {

// Replays into an index only: no broker, nothing kept but counts.
class Counter final : public ReplayTarget {
 public:
  void replay(Seq seq, const broker::Event& e, FileNo file, std::uint64_t offset,
              std::uint32_t frame_bytes) override {
    live.apply(seq, e, file, offset, frame_bytes);
  }
  LiveSet live;
};

}  // namespace

std::string human_bytes(std::uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%.1f GiB", static_cast<double>(n) / (1ull << 30));
  } else if (n >= (1ull << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(n) / (1ull << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof(buf), "%llu bytes", static_cast<unsigned long long>(n));
  }
  return buf;
}

Result<VerifyReport> verify_store(const std::string& given) {
  // What people type is the broker's dataDirectory; the store is its journal/ inside.
  const std::string dir = resolve_store_dir(given);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return make_error(Errc::io, "data directory " + dir + " does not exist or is not a directory");
  if (auto pid = DirLock::holder(dir))
    return make_error(Errc::in_use, "data directory " + dir + " is in use by pid " + std::to_string(*pid) +
                                        "; stop that broker first (a live journal changes while it is read)");
  VerifyReport report;
  report.dir = dir;
  auto identity = load_identity(dir);
  if (!identity) {
    report.problems.push_back(identity.error().message);
    return report;
  }
  if (!*identity) {
    report.problems.push_back("no identity file in " + dir + ": not a twinmq store, or its identity was lost");
    return report;
  }
  report.identity = **identity;

  Counter counter;
  SegmentSet files(dir);
  auto rec = recover_store(dir, **identity, counter, files, RecoveryMode::inspect);
  if (!rec) return std::unexpected(rec.error());
  report.checkpoint_seq = rec->checkpoint_seq;
  report.first_seq = rec->first_seq;
  report.last_seq = rec->last_seq;
  report.records = rec->records;
  report.events = rec->events;
  report.bytes = rec->bytes;
  report.files = std::move(rec->files);
  report.truncated_bytes = rec->truncated_bytes;
  if (!rec->truncation.empty())
    report.notes.push_back("torn tail at " + rec->truncation + " (a write cut short by a crash, never "
                           "acknowledged; start-up truncates it)");
  for (std::string& n : rec->notes) report.notes.push_back(std::move(n));
  report.problems = std::move(rec->problems);
  report.messages_per_destination = counter.live.messages_per_location();
  report.live_messages = counter.live.live_messages();
  report.dangling_references = counter.live.dangling_references();
  if (report.dangling_references != 0)
    report.notes.push_back(std::to_string(report.dangling_references) +
                           " events name a message or destination the journal does not hold (replay ignores them)");
  return report;
}

void print_verify_report(const VerifyReport& r, std::FILE* out, std::FILE* err) {
  std::fprintf(out, "store        %s\n", r.dir.c_str());
  if (r.identity) {
    std::fprintf(out, "identity     %s\n", r.identity->id.to_string().c_str());
    std::fprintf(out, "epoch        %llu\n", static_cast<unsigned long long>(r.identity->epoch));
  }
  std::fprintf(out, "sequence     first %llu, last %llu", static_cast<unsigned long long>(r.first_seq.value),
               static_cast<unsigned long long>(r.last_seq.value));
  if (r.checkpoint_seq) std::fprintf(out, " (checkpoint up to %llu)", static_cast<unsigned long long>(r.checkpoint_seq.value));
  std::fprintf(out, "\n");
  std::fprintf(out, "records      %llu (%llu events), %s\n", static_cast<unsigned long long>(r.records),
               static_cast<unsigned long long>(r.events), human_bytes(r.bytes).c_str());
  std::fprintf(out, "files        %zu\n", r.files.size());
  for (const FileSummary& f : r.files) {
    std::fprintf(out, "  %-28s %s seq %llu..%llu  epoch %llu  %llu records  %s\n", f.name.c_str(),
                 f.kind == FileKind::checkpoint ? "checkpoint" : "segment   ",
                 static_cast<unsigned long long>(f.kind == FileKind::checkpoint ? 1 : f.seq.value),
                 static_cast<unsigned long long>(f.last.value), static_cast<unsigned long long>(f.epoch),
                 static_cast<unsigned long long>(f.records), human_bytes(f.bytes).c_str());
  }
  std::fprintf(out, "messages     %llu live\n", static_cast<unsigned long long>(r.live_messages));
  for (const auto& [name, count] : r.messages_per_destination)
    std::fprintf(out, "  %-40s %llu\n", name.c_str(), static_cast<unsigned long long>(count));
  for (const std::string& n : r.notes) std::fprintf(out, "note: %s\n", n.c_str());
  if (r.ok()) {
    std::fprintf(out, "OK\n");
  } else {
    for (const std::string& p : r.problems) std::fprintf(err, "problem: %s\n", p.c_str());
    std::fprintf(err, "%zu problem%s found in %s\n", r.problems.size(), r.problems.size() == 1 ? "" : "s",
                 r.dir.c_str());
  }
}

std::string verify_report_json(const VerifyReport& r) {
  JsonWriter j;
  j.begin_object();
  j.key("dir").value(r.dir);
  j.key("ok").value(r.ok());
  if (r.identity) {
    j.key("store_id").value(r.identity->id.to_string());
    j.key("epoch").value(r.identity->epoch);
  } else {
    j.key("store_id").null();
    j.key("epoch").null();
  }
  j.key("checkpoint_seq").value(r.checkpoint_seq.value);
  j.key("first_seq").value(r.first_seq.value);
  j.key("last_seq").value(r.last_seq.value);
  j.key("records").value(r.records);
  j.key("events").value(r.events);
  j.key("bytes").value(r.bytes);
  j.key("live_messages").value(r.live_messages);
  j.key("dangling_references").value(r.dangling_references);
  j.key("truncated_bytes").value(r.truncated_bytes);
  j.key("files").begin_array();
  for (const FileSummary& f : r.files) {
    j.begin_object();
    j.key("name").value(f.name);
    j.key("kind").value(f.kind == FileKind::checkpoint ? "checkpoint" : "segment");
    j.key("seq").value(f.seq.value);
    j.key("last").value(f.last.value);
    j.key("epoch").value(f.epoch);
    j.key("records").value(f.records);
    j.key("bytes").value(f.bytes);
    j.end_object();
  }
  j.end_array();
  j.key("messages_per_destination").begin_object();
  for (const auto& [name, count] : r.messages_per_destination) j.key(name).value(count);
  j.end_object();
  j.key("notes").begin_array();
  for (const std::string& n : r.notes) j.value(n);
  j.end_array();
  j.key("problems").begin_array();
  for (const std::string& p : r.problems) j.value(p);
  j.end_array();
  j.end_object();
  return j.finish();
}

int run_verify_store(const std::string& dir, bool json) {
  auto report = verify_store(dir);
  if (!report) {
    if (json) {
      JsonWriter j;
      j.begin_object().key("dir").value(dir).key("ok").value(false).key("error").value(report.error().message);
      j.end_object();
      std::fputs(j.finish().c_str(), stdout);
    }
    std::fprintf(stderr, "verify-store: %s\n", report.error().message.c_str());
    return 1;
  }
  if (json) {
    std::fputs(verify_report_json(*report).c_str(), stdout);
    for (const std::string& p : report->problems) std::fprintf(stderr, "problem: %s\n", p.c_str());
  } else {
    print_verify_report(*report, stdout, stderr);
  }
  return report->ok() ? 0 : 1;
}

}  // namespace twinmq::store
