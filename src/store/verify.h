// store/verify.h — `twinmq verify-store DIR`: checks a (stopped) broker's journal
// without changing it, and says what it holds.
//
// Checks every file header (magic, format version, store identity, epoch), every
// record's CRC-32C and type, sequence continuity (within and across segments, and from
// the checkpoint on), that every record decodes, and replays the events into an index
// to count the live messages per queue and durable subscription. Problems are named
// precisely: file, offset, what was expected and what was found. What start-up
// recovery would clean up by itself (a torn tail at the very end, left-overs of an
// interrupted compaction) is reported as a note, not a problem: it loses nothing that
// was ever acknowledged.
//
// Used by the CLI (src/app) through run_verify_store(), and by the resync tool, which
// checks a copied directory before a broker uses it. Single-threaded, no loop.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "store/identity.h"
#include "store/recovery.h"

namespace twinmq::store {

struct VerifyReport {
  std::string dir;
  std::optional<StoreIdentity> identity;
  Seq checkpoint_seq;  // 0: none
  Seq first_seq;       // first seq held in segments
  Seq last_seq;
  std::uint64_t records = 0;
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::vector<FileSummary> files;
  std::map<std::string, std::uint64_t> messages_per_destination;  // queues and durable keys
  std::uint64_t live_messages = 0;
  std::uint64_t dangling_references = 0;
  std::uint64_t truncated_bytes = 0;
  std::vector<std::string> notes;
  std::vector<std::string> problems;

  bool ok() const { return problems.empty(); }
};

// Errors only when the directory cannot be examined at all (missing, unreadable, or
// in use by a running broker); damage is reported in VerifyReport::problems.
Result<VerifyReport> verify_store(const std::string& dir);

// The report for people: summary on `out`, problems on `err`.
void print_verify_report(const VerifyReport& report, std::FILE* out, std::FILE* err);

// The same facts as one JSON object (`verify-store --json`, read by twinmq-resync):
//   dir, ok, store_id, epoch (null without an identity), checkpoint_seq (0: none),
//   first_seq, last_seq, records, events, bytes, live_messages, dangling_references,
//   truncated_bytes, files [{name, kind "segment"|"checkpoint", seq, last, epoch,
//   records, bytes}], messages_per_destination {name: count}, notes [..], problems [..].
// When the store cannot be examined at all: {"dir", "ok": false, "error"}.
// COMPATIBILITY NOTES: fields are only ever added; a script ignores what it does not know.
std::string verify_report_json(const VerifyReport& report);

// "1.2 KiB", "300 bytes": sizes in the tools' reports.
std::string human_bytes(std::uint64_t n);

// `twinmq verify-store [--json] DIR`: prints the report (text, or JSON on stdout);
// returns the exit code (0 clean, 1 any problem or when the store cannot be examined).
int run_verify_store(const std::string& dir, bool json = false);

}  // namespace twinmq::store
