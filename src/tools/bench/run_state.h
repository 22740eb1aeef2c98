// tools/bench/run_state.h — what the runner (control thread) and the workers (one
// event loop each) share during a run, and the messages they exchange.
//
// Threads: the runner owns a RunState and outlives every worker. Fields written
// before the workers are told to start (address, body, t0_ns) are read-only after;
// the atomics are the only state touched by several threads at once. Everything
// else goes through AsyncQueues: WorkerCommand down, WorkerEvent up.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "net/async_queue.h"
#include "tls/context.h"
#include "tools/bench/options.h"

namespace twinmq::bench {

// Header names of the bench's stamp on every message: producer-side monotonic time
// (ns, same machine), producer index, sequence number, run id. Plain identifiers,
// so any broker passes them through as message properties.
inline constexpr std::string_view kStampTime = "benchTs";
inline constexpr std::string_view kStampProducer = "benchProducer";
inline constexpr std::string_view kStampSeq = "benchSeq";
inline constexpr std::string_view kStampRun = "benchRun";

enum class EventKind {
  consumers_ready,  // every consumer of the worker is subscribed (with receipt)
  producers_ready,  // every producer of the worker is connected
  producers_done,   // every producer finished; value = messages sent, time_ns = last end
  all_delivered,    // a consumer saw delivered reach expected
  idle_ready,       // idle connections settled; value = connected, text = first failure
  failed,           // text says what
  finished,         // the worker's loop is shut down; its results may be read
};

struct WorkerEvent {
  EventKind kind;
  std::size_t worker = 0;
  std::uint64_t value = 0;
  std::int64_t time_ns = 0;
  std::string text;
};

enum class CommandKind {
  connect,  // open every connection this worker hosts
  start,    // producers begin (RunState::t0_ns is set)
  finish,   // acknowledge what is pending, DISCONNECT everything, stop
  abort,    // close everything now, stop
};

struct WorkerCommand {
  CommandKind kind;
};

struct RunState {
  static constexpr std::uint64_t kUnknown = std::numeric_limits<std::uint64_t>::max();

  explicit RunState(const BenchOptions& o) : options(o) {}

  const BenchOptions& options;
  sockaddr_storage address{};
  // --tls-ca: every connection speaks TLS with this client context (SSL_CTX may be
  // shared by the worker threads; each connection has its own SSL). Null = plain TCP.
  std::shared_ptr<tls::Context> tls;
  std::string body;                   // every SEND carries this payload
  std::string run_id;                 // benchRun value of this run
  std::size_t producer_workers = 0;   // how many workers pace the --rate between them
  std::int64_t t0_ns = 0;             // the start, on the monotonic clock

  std::atomic<std::uint64_t> delivered{0};       // this run's messages consumed (all consumers)
  std::atomic<std::uint64_t> expected{kUnknown}; // deliveries that complete the run
  std::atomic<std::uint64_t> sent{0};            // SENDs written (progress, --interval)
  std::atomic<bool> stop_sending{false};         // SIGINT: producers wrap up

  net::AsyncQueue<WorkerEvent>* control = nullptr;
};

}  // namespace twinmq::bench
