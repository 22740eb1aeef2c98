// tools/bench/main.cc — twinmq-bench: a STOMP load generator for twinmq or any
// STOMP broker. Parses the options, echoes the scenario, runs it, prints one
// summary line (and --json), exits 0 / 1 (lost messages or an error) / 2 (usage).
//
// Module map: options (command line) -> runner (phases, threads) -> worker (one
// event loop) -> producer / consumer / idle_connections (one STOMP connection
// each, on client::StompConnection) -> latency_histogram, verifier -> report.
#include <malloc.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tools/bench/options.h"
#include "tools/bench/report.h"
#include "tools/bench/runner.h"

namespace {

// Thousands of idle connections need as many descriptors; the soft limit is
// often 1024 while the hard limit allows far more.
void raise_fd_limit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
    l.rlim_cur = l.rlim_max;
    setrlimit(RLIMIT_NOFILE, &l);
  }
}

// Large buffers (output batches, split-frame copies, the verifier's bitsets) come
// and go during a run. Left to glibc, each one above 128 KiB is a fresh mmap and a
// freed heap top is trimmed, so the next one page-faults its way in again (once
// measured at most of the bench's CPU). Keeping freed memory in the process makes
// the next allocation a free-list hit.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace twinmq::bench;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = parse_options(args);
  if (!options) {
    std::fprintf(stderr, "twinmq-bench: %s\n", options.error().message.c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  raise_fd_limit();
  keep_freed_memory();
  std::printf("%s\n", describe(*options).c_str());
  std::fflush(stdout);

  const RunResult result = run_scenario(*options);
  if (!result.error.empty()) std::fprintf(stderr, "twinmq-bench: %s\n", result.error.c_str());
  std::printf("%s\n", summary_line(*options, result).c_str());
  std::fflush(stdout);
  if (!options->json_file.empty()) {
    if (auto written = write_json(options->json_file, *options, result); !written) {
      std::fprintf(stderr, "twinmq-bench: %s\n", written.error().message.c_str());
      return 1;
    }
  }
  return exit_code(*options, result);
}
