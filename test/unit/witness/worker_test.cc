// EtcdWorker: jobs run on the worker's thread, results come back on the loop thread,
// in order; close() with a job in flight is prompt and leaves no handle behind.
#include <doctest.h>

#include <atomic>
#include <thread>

#include "support.h"
#include "support/wait_until.h"
#include "witness/etcd_worker.h"

using namespace twinmq;
using namespace twinmq::witness;
using namespace twinmq::witness_test;
using unit_test::run_until;

namespace {

// Handles still open on the loop, once pending close callbacks have run (the loop's
// own prepare handle excluded).
int open_handles(net::Loop& loop) {
  uv_run(loop.uv(), UV_RUN_NOWAIT);
  int n = 0;
  uv_walk(
      loop.uv(),
      [](uv_handle_t* h, void* arg) {
        if (h->type != UV_PREPARE && !uv_is_closing(h)) ++*static_cast<int*>(arg);
      },
      &n);
  return n;
}

}  // namespace

TEST_CASE("etcd worker: the job runs on the worker thread, done on the loop thread") {
  net::Loop loop;
  const auto loop_thread = std::this_thread::get_id();
  {
    EtcdWorker worker(loop, shared_options(), "kv");
    std::thread::id job_thread;
    std::thread::id done_thread;
    std::optional<Result<LeaseGrant>> got;
    worker.submit<Result<LeaseGrant>>(
        [&](EtcdClient& c) {
          job_thread = std::this_thread::get_id();
          return c.grant(5);
        },
        [&](Result<LeaseGrant> r) {
          done_thread = std::this_thread::get_id();
          got = std::move(r);
        });
    CHECK(worker.queued() == 1);
    REQUIRE(run_until(loop, [&] { return got.has_value(); }));
    CHECK(worker.queued() == 0);
    CHECK(done_thread == loop_thread);
    CHECK(job_thread != loop_thread);
    REQUIRE_MESSAGE(got->has_value(), error_text(got->error()));
    CHECK((*got)->ttl_s == 5);

    // A job without a result: the revoke as the witness's lease lane would do it.
    bool revoked = false;
    std::atomic<bool> revoke_ok{false};
    const std::int64_t id = (*got)->id;
    worker.submit([id, &revoke_ok](EtcdClient& c) { revoke_ok = c.revoke(id).has_value(); },
                        [&] { revoked = true; });
    REQUIRE(run_until(loop, [&] { return revoked; }));
    CHECK(revoke_ok.load());
  }
  CHECK(open_handles(loop) == 0);
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("etcd worker: results come back in submission order") {
  net::Loop loop;
  EtcdWorker worker(loop, shared_options(), "kv");
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) {
    worker.submit<Result<std::optional<KeyValue>>>(
        [](EtcdClient& c) { return c.get("/worker-test/order/missing"); },
        [&order, i](Result<std::optional<KeyValue>> r) {
          CHECK(r.has_value());
          order.push_back(i);
        });
  }
  CHECK(worker.queued() == 5);
  REQUIRE(run_until(loop, [&] { return order.size() == 5; }));
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  worker.close();
  CHECK(open_handles(loop) == 0);
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("etcd worker: close() with a job in flight is prompt; no done runs after it") {
  net::Loop loop;
  SilentEndpoint silent;  // the job's request never gets an answer
  EtcdOptions o = options_for({silent.port()});
  o.request_timeout = 30s;  // so only the interruption can end it in time
  EtcdWorker worker(loop, o, "lease");
  std::atomic<bool> started{false};
  std::atomic<bool> job_returned{false};
  bool done_ran = false;
  worker.submit<Result<std::int64_t>>(
      [&](EtcdClient& c) {
        started = true;
        auto r = c.keepalive(1);
        job_returned = true;
        return r;
      },
      [&](Result<std::int64_t>) { done_ran = true; });
  // A second job still queued behind it is dropped unrun.
  bool second_ran = false;
  worker.submit<Result<std::int64_t>>([&](EtcdClient&) -> Result<std::int64_t> {
    second_ran = true;
    return 0;
  }, [&](Result<std::int64_t>) { done_ran = true; });
  REQUIRE(test::wait_until(5s, [&] { return started.load(); }, "the job to start"));

  const auto start = std::chrono::steady_clock::now();
  worker.close();
  CHECK(ms_since(start) < 5000);  // far below the 30 s request timeout
  CHECK(job_returned.load());
  CHECK_FALSE(second_ran);
  CHECK(worker.queued() == 0);
  worker.close();  // idempotent
  worker.submit([](EtcdClient&) {}, [&] { done_ran = true; });  // ignored
  CHECK(worker.queued() == 0);

  run_until(loop, [] { return false; }, 50);  // give a stray delivery its chance
  CHECK_FALSE(done_ran);
  CHECK(open_handles(loop) == 0);
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("etcd worker: destroying the worker with a job in flight is clean") {
  net::Loop loop;
  SilentEndpoint silent;
  EtcdOptions o = options_for({silent.port()});
  o.request_timeout = 30s;
  std::atomic<bool> started{false};
  {
    EtcdWorker worker(loop, o, "kv");
    worker.submit<Result<std::optional<KeyValue>>>(
        [&](EtcdClient& c) {
          started = true;
          return c.get("/worker-test/never");
        },
        [](Result<std::optional<KeyValue>>) { FAIL("done ran after the worker was destroyed"); });
    REQUIRE(test::wait_until(5s, [&] { return started.load(); }, "the job to start"));
  }
  CHECK(open_handles(loop) == 0);
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("etcd worker: a done that closes the worker stops later deliveries") {
  net::Loop loop;
  EtcdWorker worker(loop, shared_options(), "kv");
  int delivered = 0;
  // Often both results arrive in one drain of the queue; either way the first closes.
  worker.submit<int>([](EtcdClient&) { return 1; }, [&](int) {
    ++delivered;
    worker.close();
  });
  worker.submit<int>([](EtcdClient&) { return 2; }, [&](int) { ++delivered; });
  run_until(loop, [&] { return delivered > 0; });
  run_until(loop, [] { return false; }, 50);
  CHECK(delivered == 1);
  CHECK(worker.queued() == 0);
  CHECK(open_handles(loop) == 0);
  CHECK(loop.shutdown() == 0);
}
