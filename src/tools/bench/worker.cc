// tools/bench/worker.cc — see worker.h.
#include "tools/bench/worker.h"

#include <sys/prctl.h>

#include <algorithm>

#include "base/clock.h"
#include "tools/bench/consumer.h"
#include "tools/bench/idle_connections.h"
#include "tools/bench/producer.h"

namespace twinmq::bench {

Worker::Worker(std::size_t index, RunState& run) : index_(index), run_(run), opt_(run.options) {
  connect_options_.login = opt_.login;
  connect_options_.passcode = opt_.passcode;
  connect_options_.virtual_host = opt_.vhost;
  connect_options_.timeout = std::chrono::milliseconds(opt_.connect_timeout_ms);
  result_.verifier = Verifier(opt_.topic() ? Verifier::Mode::topic : Verifier::Mode::queue);
  inbox_ = net::AsyncQueue<WorkerCommand>::create(
      loop_, [this](std::vector<WorkerCommand>& commands) { on_commands(commands); });
  ticker_ = IdleTicker::create(loop_, [this] { on_tick(); });
  loop_.add_prepare_hook([this] { on_turn_end(); });
}

Worker::~Worker() {
  if (thread_.joinable()) thread_.join();
}

void Worker::add_producer(std::uint32_t id) {
  producers_.push_back(std::make_unique<Producer>(*this, run_, id));
  Producer* p = producers_.back().get();
  openers_.push_back([p] { p->open(); });
}

void Worker::add_consumer(std::uint32_t id) {
  consumers_.push_back(std::make_unique<Consumer>(*this, run_, id));
  Consumer* c = consumers_.back().get();
  openers_.push_back([c] { c->open(); });
}

void Worker::add_idle_connections(std::uint32_t n) {
  idle_ = std::make_unique<IdleConnections>(*this, run_, n);
  for (std::uint32_t i = 0; i < n; ++i) openers_.push_back([this, i] { idle_->open(i); });
}

void Worker::launch() {
  thread_ = std::thread([this] { thread_main(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::thread_main() {
  // Timer slack is per thread; the default 50 us would be added to every paced send.
  if (opt_.rate > 0 && has_producers()) prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  loop_.run();
  collect_results();
  // Teardown on the loop thread: connections first, then our handles, then the loop.
  producers_.clear();
  consumers_.clear();
  idle_.reset();
  ticker_.reset();
  pacer_.reset();
  finish_guard_.reset();
  inbox_.reset();
  loop_.shutdown();
  emit(EventKind::finished);
}

void Worker::emit(EventKind kind, std::uint64_t value, std::int64_t time_ns, std::string text) {
  run_.control->push(WorkerEvent{kind, index_, value, time_ns, std::move(text)});
}

void Worker::on_commands(std::vector<WorkerCommand>& commands) {
  for (const WorkerCommand& c : commands) {
    switch (c.kind) {
      case CommandKind::connect:
        live_ = openers_.size();
        connect_next();
        break;
      case CommandKind::start:
        if (finishing_ || started_) break;
        started_ = true;
        for (auto& p : producers_) p->start();
        if (opt_.rate > 0 && !producers_.empty()) {
          const double per_worker = opt_.rate / static_cast<double>(std::max<std::size_t>(1, run_.producer_workers));
          period_ns_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(1e9 / per_worker));
          next_due_ns_ = run_.t0_ns;
          auto timer = PreciseTimer::create(loop_, [this] { pace(); });
          if (!timer) {
            fail(timer.error().message);
            break;
          }
          pacer_ = std::move(*timer);
          pace();
        } else {
          wake();
        }
        break;
      case CommandKind::finish:
        finish(false);
        break;
      case CommandKind::abort:
        finish(true);
        break;
    }
  }
}

void Worker::connect_next() {
  while (in_flight_ < kConnectWindow && next_opener_ < openers_.size()) {
    ++in_flight_;
    openers_[next_opener_++]();
  }
}

void Worker::connection_settled() {
  if (in_flight_) --in_flight_;
  if (!finishing_) connect_next();
}

void Worker::connection_closed() {
  if (live_) --live_;
  maybe_stop();
}

void Worker::producer_connected() {
  if (++producers_connected_ == producers_.size()) emit(EventKind::producers_ready);
}

void Worker::producer_finished() {
  if (++producers_finished_ != producers_.size()) return;
  std::uint64_t sent = 0;
  std::int64_t end = 0;
  for (auto& p : producers_) {
    sent += p->sent();
    end = std::max(end, p->end_ns());
  }
  emit(EventKind::producers_done, sent, end);
}

void Worker::consumer_subscribed() {
  if (++consumers_subscribed_ == consumers_.size()) emit(EventKind::consumers_ready);
}

void Worker::idle_settled(std::uint32_t connected, const std::string& first_failure) {
  emit(EventKind::idle_ready, connected, 0, first_failure);
}

void Worker::all_delivered() { emit(EventKind::all_delivered, 0, mono_ns()); }

void Worker::fail(std::string text) {
  if (finishing_) return;
  emit(EventKind::failed, 0, 0, std::move(text));
}

void Worker::wake() {
  if (!finishing_) ticker_->start();
}

void Worker::park(Producer* p) {
  if (std::ranges::find(parked_, p) == parked_.end()) parked_.push_back(p);
}

void Worker::ack_at_turn_end(Consumer* c) { acks_due_.push_back(c); }

void Worker::on_tick() {
  if (opt_.rate > 0) {
    // Fixed rate: the pacer owns the sending; a wake only means "retry what is due".
    ticker_->stop();
    if (pacer_) pace();
    return;
  }
  bool any = false;
  for (auto& p : producers_) {
    if (p->can_send()) {
      p->pump();
      any = true;
    }
  }
  // Nobody could send: every producer waits for a receipt, a drained socket (the
  // turn hook) or is done. Stop ticking so the loop can block in epoll.
  if (!any) ticker_->stop();
}

void Worker::on_turn_end() {
  for (Consumer* c : acks_due_) c->flush_ack();
  acks_due_.clear();
  if (parked_.empty()) return;
  bool any = false;
  std::erase_if(parked_, [&](Producer* p) {
    if (!p->sending()) return true;
    if (!p->can_send()) return false;
    any = true;
    return true;
  });
  if (any) wake();
}

void Worker::pace() {
  if (finishing_ || !pacer_) return;
  const std::int64_t now = mono_ns();
  const std::size_t n = producers_.size();
  while (next_due_ns_ <= now) {
    Producer* chosen = nullptr;
    for (std::size_t k = 0; k < n; ++k) {
      Producer* p = producers_[(round_robin_ + k) % n].get();
      if (p->wrapped_up_if_done(now) || !p->sending()) continue;
      if (p->can_send()) {
        chosen = p;
        round_robin_ = (round_robin_ + k + 1) % n;
        break;
      }
      park(p);
    }
    if (!chosen) {
      // Everyone is blocked (a receipt, a full socket) or done. A receipt or the
      // turn hook wakes us; the overdue sends then go out late and say so.
      return;
    }
    chosen->send_one(next_due_ns_);
    next_due_ns_ += period_ns_;
  }
  const bool any_left = std::ranges::any_of(producers_, [](const auto& p) {
    return p->sending() || p->state() == Producer::State::awaiting_receipt;
  });
  if (any_left) pacer_->arm_at(next_due_ns_);
}

void Worker::finish(bool abort) {
  auto close_everything = [this] {
    for (auto& p : producers_) p->close();
    for (auto& c : consumers_) c->close();
    if (idle_) idle_->close_all();
  };
  if (finishing_) {
    if (abort) close_everything();
    return;
  }
  finishing_ = true;
  // Connections never opened will never report a close.
  live_ -= std::min(live_, openers_.size() - next_opener_);
  next_opener_ = openers_.size();
  ticker_->stop();
  pacer_.reset();
  if (abort) {
    close_everything();
  } else {
    for (auto& p : producers_) {
      if (p->state() != Producer::State::awaiting_disconnect) p->close();
    }
    for (auto& c : consumers_) c->finish();
    if (idle_) idle_->close_all();
  }
  // A broker that never answers the DISCONNECTs must not keep the bench alive.
  finish_guard_ = net::Timer::create(loop_);
  finish_guard_->start(3000, 0, close_everything);
  maybe_stop();
}

void Worker::maybe_stop() {
  if (finishing_ && live_ == 0 && !stopped_) {
    stopped_ = true;
    loop_.stop();
  }
}

void Worker::collect_results() {
  for (auto& p : producers_) {
    result_.sent.emplace_back(p->id(), p->sent());
    const std::int64_t first = p->first_measured_ns();
    if (first && (!result_.first_measured_send_ns || first < result_.first_measured_send_ns)) {
      result_.first_measured_send_ns = first;
    }
  }
}

}  // namespace twinmq::bench
