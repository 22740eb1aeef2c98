// tools/bench/worker.h — one bench thread: an event loop hosting some producers,
// consumers or idle connections.
//
// DESIGN
//  - Sending flat out: an IdleTicker runs while some producer can send; each turn
//    it lets every such producer pump() a socket's worth (up to the high
//    watermark), and the loop's prepare hook writes each connection's batch in one
//    write. A producer whose socket is still full is parked; the turn hook (run in
//    the prepare phase of every turn, i.e. after every I/O event) un-parks it once
//    its output has drained, so a blocked bench sleeps in epoll instead of spinning.
//  - Sending at a fixed rate: a PreciseTimer wakes at the next intended send time;
//    every message whose time has come goes out stamped with its intended time, on
//    the next producer in round-robin that can send. Late sends therefore show up
//    in the latency (no coordinated omission).
//  - Consumers in client mode acknowledge cumulatively once per turn (the turn hook),
//    client-individual once per message.
//  - Connects go out at most kConnectWindow at a time, so thousands of connections
//    do not overflow the broker's listen backlog (a dropped SYN costs a 1 s retry).
//
// Lifecycle: created and filled (add_*) by the Runner on the control thread, then
// launch()ed; from then on everything but post() runs on the worker's own thread,
// until it posts EventKind::finished. The Runner reads result() after join().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/async_queue.h"
#include "net/loop.h"
#include "net/timer.h"
#include "tools/bench/latency_histogram.h"
#include "tools/bench/loop_handles.h"
#include "tools/bench/run_state.h"
#include "tools/bench/verifier.h"

namespace twinmq::bench {

class Producer;
class Consumer;
class IdleConnections;

struct WorkerResult {
  LatencyHistogram latency;              // measured deliveries only
  LatencyHistogram receipt_latency;      // SEND (or COMMIT) asking a receipt -> its RECEIPT, measured only
  Verifier verifier{Verifier::Mode::queue};
  std::vector<std::pair<std::uint32_t, std::uint64_t>> sent;  // (producer id, messages)
  std::uint64_t delivered = 0;           // this run's messages, warm-up included
  std::uint64_t measured_delivered = 0;  // after each producer's warm-up
  std::uint64_t stray = 0;               // messages without this run's stamp
  std::int64_t first_measured_send_ns = 0;
  std::int64_t first_delivery_ns = 0;
  std::int64_t last_delivery_ns = 0;
};

class Worker {
 public:
  static constexpr std::size_t kConnectWindow = 128;

  Worker(std::size_t index, RunState& run);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Control thread, before launch().
  void add_producer(std::uint32_t id);
  void add_consumer(std::uint32_t id);
  void add_idle_connections(std::uint32_t n);
  bool has_producers() const { return !producers_.empty(); }
  bool has_consumers() const { return !consumers_.empty(); }
  void launch();
  // Any thread.
  void post(WorkerCommand c) { inbox_->push(c); }
  // Control thread, after EventKind::finished.
  void join();
  WorkerResult& result() { return result_; }

  // --- loop thread: called by the connections this worker hosts ---
  net::Loop& loop() { return loop_; }
  const client::ConnectOptions& connect_options() const { return connect_options_; }
  void connection_settled();           // a connect attempt finished (either way)
  void connection_closed();            // a hosted connection is gone
  void producer_connected();
  void producer_finished();
  void consumer_subscribed();
  void idle_settled(std::uint32_t connected, const std::string& first_failure);
  void wake();                         // a producer may be able to send again
  void park(Producer* p);              // socket full: check it after writes complete
  void ack_at_turn_end(Consumer* c);
  void all_delivered();
  void fail(std::string text);
  Verifier& verifier() { return result_.verifier; }
  LatencyHistogram& latency() { return result_.latency; }
  WorkerResult& live_result() { return result_; }
  bool finishing() const { return finishing_; }

 private:
  void thread_main();
  void emit(EventKind kind, std::uint64_t value = 0, std::int64_t time_ns = 0, std::string text = {});
  void on_commands(std::vector<WorkerCommand>& commands);
  void connect_next();
  void on_tick();
  void on_turn_end();
  void pace();
  void finish(bool abort);
  void maybe_stop();
  void collect_results();

  std::size_t index_;
  RunState& run_;
  const BenchOptions& opt_;
  client::ConnectOptions connect_options_;
  net::Loop loop_;
  net::HandlePtr<net::AsyncQueue<WorkerCommand>> inbox_;
  net::HandlePtr<IdleTicker> ticker_;
  net::HandlePtr<PreciseTimer> pacer_;
  net::HandlePtr<net::Timer> finish_guard_;
  std::vector<std::unique_ptr<Producer>> producers_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::unique_ptr<IdleConnections> idle_;
  std::vector<std::function<void()>> openers_;  // connect queue (set-up only)
  std::size_t next_opener_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t live_ = 0;                       // connections opened and not yet closed
  std::size_t producers_connected_ = 0;
  std::size_t producers_finished_ = 0;
  std::size_t consumers_subscribed_ = 0;
  std::vector<Producer*> parked_;
  std::vector<Consumer*> acks_due_;
  std::size_t round_robin_ = 0;
  std::int64_t next_due_ns_ = 0;               // fixed rate: the next intended send time
  std::int64_t period_ns_ = 0;
  bool started_ = false;
  bool finishing_ = false;
  bool stopped_ = false;
  WorkerResult result_;
  std::thread thread_;
};

}  // namespace twinmq::bench
