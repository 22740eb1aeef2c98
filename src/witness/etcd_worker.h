// witness/etcd_worker.h — runs etcd jobs on a thread of its own and hands their
// results back to the loop thread.
//
// DESIGN
//  - The witness owns two workers, "lease" (keep-alives) and "kv" (transactions), so
//    a slow transaction never delays a renewal. Each has one thread and one EtcdClient
//    (a blocking client: one call at a time), and runs its jobs in submission order.
//  - submit(job, done): `job` runs on the worker thread with the worker's client and
//    returns a T; `done(T)` runs later on the loop thread. The results come back
//    through a net::AsyncQueue (one uv_async; the loop swaps out everything finished).
//  - Where things are destroyed: a job, its `done` and its result are always
//    destroyed on the loop thread (after `done` ran, or when the worker is closed), so
//    either may capture loop-thread objects.
//  - close() makes the client give up its call in progress at once
//    (EtcdClient::interrupt), joins the thread, and drops every job not yet run and every
//    result not yet delivered: after it, no `done` runs. It may be called from inside a
//    `done`; the worker itself must not be destroyed from inside one (STYLE: never free
//    from a callback).
//
//   loop thread                    worker thread
//   submit ── jobs_ (mutex) ─────▶ job(client) ── finished_ (AsyncQueue) ──▶ done(result)
//
// Lifecycle: constructed, used and destroyed on the loop thread; close it (or destroy
// it) before Loop::shutdown(), as the thread may still push into the AsyncQueue until
// it is joined. The async handle does not keep the loop alive: the witness's timers do.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "net/async_queue.h"
#include "net/loop.h"
#include "witness/etcd_client.h"

namespace twinmq::witness {

class EtcdWorker {
 public:
  // `name` names the thread ("etcd-<name>", cut to 15 characters) and the log lines.
  EtcdWorker(net::Loop& loop, EtcdOptions options, std::string name);
  ~EtcdWorker();  // close()
  EtcdWorker(const EtcdWorker&) = delete;
  EtcdWorker& operator=(const EtcdWorker&) = delete;

  // Loop thread. T is not deduced from lambdas: write submit<Result<LeaseGrant>>(...).
  template <class T>
  void submit(std::function<T(EtcdClient&)> job, std::function<void(T)> done);
  // A job without a result (a revoke, say): `done` takes nothing.
  void submit(std::function<void(EtcdClient&)> job, std::function<void()> done) {
    TWINMQ_ASSERT(job, "EtcdWorker::submit without a job");
    submit<bool>(
        [job = std::move(job)](EtcdClient& c) {
          job(c);
          return true;
        },
        [done = std::move(done)](bool) {
          if (done) done();
        });
  }

  // Jobs submitted whose `done` has not run yet (queued, running, or waiting for the loop).
  std::size_t queued() const { return queued_; }

  // Idempotent; after it, submit() does nothing and no `done` runs. Blocks only until
  // the job in progress sees the interruption (no network wait).
  void close();

  const std::string& name() const { return name_; }

 private:
  // One submitted job with its result and `done`; type-erased for the queues.
  class Call {
   public:
    virtual ~Call() = default;
    virtual void run(EtcdClient& client) = 0;  // worker thread
    virtual void deliver() = 0;                // loop thread, once, after run()
  };
  template <class T>
  class TypedCall;

  void enqueue(std::unique_ptr<Call> call);
  void thread_main();
  void on_finished(std::vector<std::unique_ptr<Call>>& calls);

  std::string name_;
  EtcdClient client_;  // worker thread only (interrupt(): any thread)
  net::HandlePtr<net::AsyncQueue<std::unique_ptr<Call>>> finished_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Call>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::size_t queued_ = 0;                  // loop thread
  bool closed_ = false;                     // loop thread
  std::thread thread_;
};

template <class T>
class EtcdWorker::TypedCall final : public Call {
 public:
  TypedCall(std::function<T(EtcdClient&)> job, std::function<void(T)> done)
      : job_(std::move(job)), done_(std::move(done)) {}

  void run(EtcdClient& client) override { result_.emplace(job_(client)); }

  void deliver() override {
    if (done_) done_(std::move(*result_));
  }

 private:
  std::function<T(EtcdClient&)> job_;
  std::function<void(T)> done_;
  std::optional<T> result_;
};

template <class T>
void EtcdWorker::submit(std::function<T(EtcdClient&)> job, std::function<void(T)> done) {
  TWINMQ_ASSERT(job, "EtcdWorker::submit without a job");
  if (closed_) return;
  enqueue(std::make_unique<TypedCall<T>>(std::move(job), std::move(done)));
}

}  // namespace twinmq::witness
