// tools/bench/report.h — a run's outcome, its one summary line, its JSON file and
// its exit status.
//
// COMPATIBILITY NOTES: the summary line's key=value pairs and the JSON field names
// are read by src/tools/bench/standard_scenarios and by comparison scripts; add
// fields freely, but do not rename or drop one.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/options.h"

namespace twinmq::bench {

struct RunResult {
  std::string name;
  bool idle_mode = false;
  std::uint64_t idle_requested = 0;
  std::uint64_t idle_connected = 0;
  std::uint64_t sent = 0;              // SENDs written, warm-up included
  std::uint64_t delivered = 0;         // this run's messages consumed, warm-up included
  std::uint64_t expected = 0;          // deliveries a complete run has
  std::uint64_t measured = 0;          // deliveries (or sends, with no consumers) after warm-up
  double elapsed_s = 0;                // measured window
  double rate = 0;                     // measured / elapsed: deliveries/s, or sends/s
  LatencyHistogram latency;            // end to end: producer stamp -> consumer
  LatencyHistogram receipt_latency;    // SEND asking a receipt -> its RECEIPT (producer side)
  bool verified = false;
  std::uint64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t stray = 0;             // messages without this run's stamp
  double cpu_percent = 0;              // the bench's own CPU over the run, % of one core
  bool interrupted = false;            // SIGINT/SIGTERM cut it short
  std::string error;                   // first failure; empty = none
};

std::string summary_line(const BenchOptions& o, const RunResult& r);
Result<void> write_json(const std::string& path, const BenchOptions& o, const RunResult& r);
// 0 ok; 1 lost messages (or, with --verify, duplicates / disorder), or an error.
int exit_code(const BenchOptions& o, const RunResult& r);

}  // namespace twinmq::bench
