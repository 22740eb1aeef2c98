// tools/bench/runner.cc — see runner.h.
#include "tools/bench/runner.h"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "base/clock.h"
#include "net/async_queue.h"
#include "net/loop.h"
#include "net/posix_signal.h"
#include "net/tcp_connection.h"
#include "net/timer.h"
#include "tools/bench/worker.h"

namespace twinmq::bench {
namespace {

std::int64_t cpu_ns() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ns = [](const timeval& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_usec * 1000; };
  return ns(u.ru_utime) + ns(u.ru_stime);
}

std::string random_run_id() {
  std::random_device rd;
  const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// A body that is not all one byte, so nothing along the way can shortcut it.
std::string make_body(std::uint32_t size) {
  std::string body(size, 'x');
  for (std::uint32_t i = 0; i < size; ++i) body[i] = static_cast<char>('a' + i % 26);
  return body;
}

class Runner {
 public:
  explicit Runner(const BenchOptions& o) : opt_(o), run_(o) {}
  RunResult run();

 private:
  enum class Phase { awaiting_ready, running, awaiting_deliveries, holding, finishing, done };

  void enter(Phase next, const char* reason);
  void lay_out();
  void on_events(std::vector<WorkerEvent>& events);
  void on_event(WorkerEvent& e);
  void maybe_start();
  void on_producers_done();
  void on_signal();
  void check_progress();
  void print_interval(std::int64_t now);
  void finish(const char* reason, bool abort = false);
  RunResult collect();

  const BenchOptions& opt_;
  RunState run_;
  net::Loop loop_;
  net::HandlePtr<net::Timer> hold_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::size_t producer_workers_ = 0, consumer_workers_ = 0;
  std::size_t producers_ready_ = 0, consumers_ready_ = 0, producers_done_ = 0, finished_ = 0;
  Phase phase_ = Phase::awaiting_ready;
  std::uint64_t sent_total_ = 0;
  std::uint64_t expected_ = 0;
  bool expected_known_ = false;
  std::int64_t producers_end_ns_ = 0;
  std::int64_t cpu_start_ns_ = 0, cpu_end_ns_ = 0, wall_start_ns_ = 0, wall_end_ns_ = 0;
  std::uint64_t last_progress_ = 0;
  std::int64_t last_change_ns_ = 0;
  std::int64_t cpu_active_ns_ = 0;  // CPU and wall clock when progress was last seen,
  std::int64_t wall_active_ns_ = 0; // so a drain timeout does not dilute cpu(bench)
  std::uint64_t idle_connected_ = 0;
  std::int64_t interval_start_ns_ = 0;
  std::uint64_t interval_sent_ = 0, interval_delivered_ = 0;
  bool interrupted_ = false;
  std::string error_;
};

void Runner::enter(Phase next, const char*) {
  if (phase_ == Phase::done) return;  // terminal
  phase_ = next;
}

void Runner::lay_out() {
  const std::uint32_t threads = std::max<std::uint32_t>(1, opt_.threads);
  if (opt_.idle_mode()) {
    workers_.push_back(std::make_unique<Worker>(0, run_));
    workers_[0]->add_idle_connections(opt_.idle_connections);
    return;
  }
  std::size_t pw = 0, cw = 0;
  if (opt_.producers && opt_.consumers) {
    if (threads == 1) pw = cw = 1;  // one worker hosts both
    else pw = std::max<std::size_t>(1, threads / 2), cw = threads - pw;
  } else if (opt_.producers) {
    pw = threads;
  } else {
    cw = threads;
  }
  pw = std::min<std::size_t>(pw, std::max<std::uint32_t>(1, opt_.producers));
  cw = std::min<std::size_t>(cw, std::max<std::uint32_t>(1, opt_.consumers));
  const bool shared = opt_.producers && opt_.consumers && threads == 1;
  const std::size_t total = shared ? 1 : (opt_.producers ? pw : 0) + (opt_.consumers ? cw : 0);
  for (std::size_t i = 0; i < total; ++i) workers_.push_back(std::make_unique<Worker>(i, run_));
  for (std::uint32_t p = 0; p < opt_.producers; ++p) workers_[p % pw]->add_producer(p);
  const std::size_t first_consumer_worker = shared ? 0 : (opt_.producers ? pw : 0);
  for (std::uint32_t c = 0; c < opt_.consumers; ++c) workers_[first_consumer_worker + c % cw]->add_consumer(c);
  for (auto& w : workers_) {
    producer_workers_ += w->has_producers();
    consumer_workers_ += w->has_consumers();
  }
  run_.producer_workers = producer_workers_;
}

RunResult Runner::run() {
  auto addr = net::resolve(opt_.host, opt_.port);
  if (!addr) {
    RunResult r;
    r.name = scenario_name(opt_);
    r.error = addr.error().message;
    return r;
  }
  run_.address = *addr;
  if (!opt_.tls_ca.empty()) {
    auto context = tls::Context::create(tls::Role::client, {opt_.tls_cert, opt_.tls_key, opt_.tls_ca});
    if (!context) {
      RunResult r;
      r.name = scenario_name(opt_);
      r.error = context.error().message;
      return r;
    }
    run_.tls = std::move(*context);
  }
  run_.body = make_body(opt_.size);
  run_.run_id = random_run_id();
  auto events = net::AsyncQueue<WorkerEvent>::create(
      loop_, [this](std::vector<WorkerEvent>& evs) { on_events(evs); });
  run_.control = events.get();
  auto sigint = net::Signal::create(loop_, SIGINT, [this](int) { on_signal(); });
  auto sigterm = net::Signal::create(loop_, SIGTERM, [this](int) { on_signal(); });
  auto progress = net::Timer::create(loop_);
  progress->start(100, 100, [this] { check_progress(); });
  last_change_ns_ = mono_ns();

  lay_out();
  for (auto& w : workers_) w->launch();
  for (auto& w : workers_) w->post({CommandKind::connect});
  loop_.run();  // until every worker has finished

  for (auto& w : workers_) w->join();
  progress.reset();
  hold_.reset();
  sigint.reset();
  sigterm.reset();
  events.reset();
  loop_.shutdown();
  return collect();
}

void Runner::on_events(std::vector<WorkerEvent>& events) {
  for (WorkerEvent& e : events) on_event(e);
}

void Runner::on_event(WorkerEvent& e) {
  switch (e.kind) {
    case EventKind::consumers_ready:
      ++consumers_ready_;
      maybe_start();
      break;
    case EventKind::producers_ready:
      ++producers_ready_;
      maybe_start();
      break;
    case EventKind::idle_ready: {
      idle_connected_ = e.value;
      std::printf("idle: connected=%llu failed=%llu%s%s\n", static_cast<unsigned long long>(e.value),
                  static_cast<unsigned long long>(opt_.idle_connections - e.value),
                  e.text.empty() ? "" : " first-failure=", e.text.c_str());
      std::fflush(stdout);
      if (phase_ != Phase::awaiting_ready) break;
      cpu_start_ns_ = cpu_ns();
      wall_start_ns_ = mono_ns();
      enter(Phase::holding, "idle connections up");
      if (opt_.hold_s >= 0) {
        hold_ = net::Timer::create(loop_);
        hold_->start(static_cast<std::uint64_t>(opt_.hold_s * 1000), 0, [this] { finish("held"); });
      }
      break;
    }
    case EventKind::producers_done:
      ++producers_done_;
      sent_total_ += e.value;
      producers_end_ns_ = std::max(producers_end_ns_, e.time_ns);
      if (producers_done_ == producer_workers_) on_producers_done();
      break;
    case EventKind::all_delivered:
      if (phase_ == Phase::awaiting_deliveries) finish("all delivered");
      break;
    case EventKind::failed:
      if (error_.empty()) error_ = e.text;
      finish("a connection failed");
      break;
    case EventKind::finished:
      if (++finished_ == workers_.size()) {
        enter(Phase::done, "all workers finished");
        loop_.stop();
      }
      break;
  }
}

void Runner::maybe_start() {
  if (phase_ != Phase::awaiting_ready) return;
  if (producers_ready_ < producer_workers_ || consumers_ready_ < consumer_workers_) return;
  run_.t0_ns = mono_ns();
  wall_start_ns_ = run_.t0_ns;
  cpu_start_ns_ = cpu_ns();
  last_change_ns_ = run_.t0_ns;
  enter(Phase::running, "everyone connected and subscribed");
  for (auto& w : workers_) w->post({CommandKind::start});
  if (producer_workers_ == 0) {
    // Drain: the queue already holds the messages.
    if (opt_.count) {
      expected_ = opt_.count;
      expected_known_ = true;
      run_.expected.store(expected_);
      if (run_.delivered.load() >= expected_) {
        finish("all delivered");
        return;
      }
    }
    enter(Phase::awaiting_deliveries, "draining");
  }
}

void Runner::on_producers_done() {
  expected_ = opt_.topic() ? sent_total_ * opt_.consumers : sent_total_;
  expected_known_ = true;
  if (consumer_workers_ == 0 || phase_ != Phase::running) {
    finish("producers done");
    return;
  }
  run_.expected.store(expected_);
  if (run_.delivered.load() >= expected_) {
    finish("all delivered");
    return;
  }
  enter(Phase::awaiting_deliveries, "producers done");
}

void Runner::on_signal() {
  if (phase_ == Phase::holding || phase_ == Phase::awaiting_ready) {
    interrupted_ = phase_ == Phase::awaiting_ready;
    finish("signal");
    return;
  }
  if (!interrupted_ && phase_ == Phase::running) {
    interrupted_ = true;
    run_.stop_sending.store(true);  // producers wrap up; consumers take what was sent
    return;
  }
  interrupted_ = true;
  finish("second signal", true);
}

void Runner::check_progress() {
  const std::int64_t now = mono_ns();
  if (phase_ == Phase::awaiting_ready && !opt_.idle_mode()) {
    // Each connect has its own deadline, but a SUBSCRIBE receipt that never comes
    // does not: bound the whole set-up.
    const std::int64_t bound_ms = std::int64_t{opt_.connect_timeout_ms} + opt_.drain_timeout_ms;
    if (now - last_change_ns_ > bound_ms * 1'000'000) {
      if (error_.empty()) {
        error_ = "not every producer connected and consumer subscribed within " +
                 std::to_string(bound_ms) + " ms (--connect-timeout + --drain-timeout)";
      }
      finish("set-up stalled");
    }
    return;
  }
  if (phase_ != Phase::running && phase_ != Phase::awaiting_deliveries) return;
  if (opt_.interval_s > 0) print_interval(now);
  const std::uint64_t p = run_.sent.load(std::memory_order_relaxed) + run_.delivered.load(std::memory_order_relaxed);
  if (p != last_progress_) {
    last_progress_ = p;
    last_change_ns_ = now;
    cpu_active_ns_ = cpu_ns();
    wall_active_ns_ = now;
    return;
  }
  if (now - last_change_ns_ < static_cast<std::int64_t>(opt_.drain_timeout_ms) * 1'000'000) return;
  // The run ended when progress stopped, not now: measure the bench's CPU to there.
  cpu_end_ns_ = cpu_active_ns_;
  wall_end_ns_ = wall_active_ns_;
  if (phase_ == Phase::awaiting_deliveries) {
    finish("deliveries stopped");  // the shortfall is reported as lost
    return;
  }
  if (error_.empty()) {
    error_ = "no message sent or received for " + std::to_string(opt_.drain_timeout_ms) +
             " ms (--drain-timeout); the broker stopped answering";
  }
  finish("stalled");
}

// One line per --interval while running (Artemis perf / RabbitMQ PerfTest style),
// with warm-up marked, so a long run shows how its rate moves.
void Runner::print_interval(std::int64_t now) {
  if (interval_start_ns_ == 0) interval_start_ns_ = run_.t0_ns;
  const double span = static_cast<double>(now - interval_start_ns_) / 1e9;
  if (span < opt_.interval_s) return;
  const std::uint64_t sent = run_.sent.load(std::memory_order_relaxed);
  const std::uint64_t delivered = run_.delivered.load(std::memory_order_relaxed);
  const bool warming = sent < opt_.warmup * opt_.producers;
  std::printf("interval: t=%.1fs sent=%.0f/s received=%.0f/s%s\n",
              static_cast<double>(now - run_.t0_ns) / 1e9,
              static_cast<double>(sent - interval_sent_) / span,
              static_cast<double>(delivered - interval_delivered_) / span, warming ? " warmup" : "");
  std::fflush(stdout);
  interval_start_ns_ = now;
  interval_sent_ = sent;
  interval_delivered_ = delivered;
}

void Runner::finish(const char* reason, bool abort) {
  if (phase_ == Phase::finishing || phase_ == Phase::done) {
    if (abort) for (auto& w : workers_) w->post({CommandKind::abort});
    return;
  }
  if (wall_end_ns_ == 0) {
    cpu_end_ns_ = cpu_ns();
    wall_end_ns_ = mono_ns();
  }
  enter(Phase::finishing, reason);
  for (auto& w : workers_) w->post({abort ? CommandKind::abort : CommandKind::finish});
}

RunResult Runner::collect() {
  RunResult r;
  r.name = scenario_name(opt_);
  r.error = error_;
  r.interrupted = interrupted_;
  if (wall_end_ns_ > wall_start_ns_) {
    r.cpu_percent = 100.0 * static_cast<double>(cpu_end_ns_ - cpu_start_ns_) /
                    static_cast<double>(wall_end_ns_ - wall_start_ns_);
  }
  if (opt_.idle_mode()) {
    r.idle_mode = true;
    r.idle_requested = opt_.idle_connections;
    r.idle_connected = idle_connected_;
    return r;
  }
  Verifier verifier(opt_.topic() ? Verifier::Mode::topic : Verifier::Mode::queue);
  std::vector<std::uint64_t> sent_by_producer(opt_.producers, 0);
  std::int64_t first_send = 0, first_delivery = 0, last_delivery = 0;
  for (auto& w : workers_) {
    WorkerResult& wr = w->result();
    r.latency.merge(wr.latency);
    r.receipt_latency.merge(wr.receipt_latency);
    r.delivered += wr.delivered;
    r.measured += wr.measured_delivered;
    r.stray += wr.stray;
    for (auto [id, n] : wr.sent) {
      sent_by_producer[id] = n;
      r.sent += n;
    }
    auto earliest = [](std::int64_t& acc, std::int64_t v) { if (v && (!acc || v < acc)) acc = v; };
    earliest(first_send, wr.first_measured_send_ns);
    earliest(first_delivery, wr.first_delivery_ns);
    last_delivery = std::max(last_delivery, wr.last_delivery_ns);
    verifier.adopt(std::move(wr.verifier));
  }
  // The measured window: from the first send after warm-up (the start, without
  // warm-up; the first delivery when draining) to the last delivery (the last
  // producer's DISCONNECT receipt when nobody consumes).
  std::int64_t start = opt_.warmup ? first_send : run_.t0_ns;
  if (opt_.producers == 0) start = first_delivery;
  std::int64_t end = opt_.consumers ? last_delivery : producers_end_ns_;
  if (opt_.consumers == 0) {
    r.measured = r.sent > opt_.warmup * opt_.producers ? r.sent - opt_.warmup * opt_.producers : 0;
  }
  if (start && end > start) {
    r.elapsed_s = static_cast<double>(end - start) / 1e9;
    r.rate = static_cast<double>(r.measured) / r.elapsed_s;
  }
  r.expected = expected_known_ ? expected_ : r.delivered;
  if (opt_.consumers == 0) r.expected = 0;
  if (opt_.verify && opt_.consumers) {
    r.verified = true;
    const Verifier::Counts c =
        opt_.producers ? verifier.counts(sent_by_producer) : verifier.counts({});
    r.lost = c.lost;
    r.duplicates = c.duplicates;
    r.out_of_order = c.out_of_order;
    if (opt_.producers == 0 && expected_known_) {
      r.lost = std::max(r.lost, expected_ > r.delivered - c.duplicates ? expected_ - (r.delivered - c.duplicates) : 0);
    }
  } else if (opt_.consumers) {
    r.lost = r.expected > r.delivered ? r.expected - r.delivered : 0;
    r.duplicates = r.delivered > r.expected ? r.delivered - r.expected : 0;
  }
  return r;
}

}  // namespace

RunResult run_scenario(const BenchOptions& options) { return Runner(options).run(); }

}  // namespace twinmq::bench
