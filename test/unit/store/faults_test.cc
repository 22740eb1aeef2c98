// Disk full and I/O errors, through the fault points: the journal never reports
// durable what it did not write, the broker refuses persistent sends with the reason
// meanwhile, and everything resumes (and survives a restart) once writes succeed again.
#include <doctest.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "store/errors.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

JournalOptions quick_retry() {
  JournalOptions o;
  o.retry_interval = std::chrono::milliseconds(5);
  return o;
}

std::vector<std::string> bodies_after_restart(const config::JournalConfig& cfg, const char* queue) {
  Node n(cfg);
  n.subscribe("s", queue);
  std::vector<std::string> out;
  for (const Received& r : n.client.got) out.push_back(r.body);
  return out;
}

}  // namespace

TEST_CASE("disk full: refusal with the reason, no durable advance, then recovery when space returns") {
  FaultGuard faults;
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  {
    Node n(cfg, quick_retry());
    n.send_ok("/queue/a", "before");
    REQUIRE(n.settle());
    arm_fault(FaultPoint::write_enospc, 1 << 30);
    const Seq during = n.send_ok("/queue/a", "during");  // accepted: the failure is not known yet
    REQUIRE(run_until(n.loop, [&] { return n.journal->refusing(); }));
    CHECK(n.journal->refusal().starts_with("journal write failed: No space left on device (writing " +
                                           dir.path() + "/"));
    auto refused = n.send("/queue/a", "refused");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == static_cast<int>(broker::Errc::persistence_unavailable));
    CHECK(refused.error().message == n.journal->refusal());
    n.send_ok("/queue/a", "non-persistent goes on", false);
    // Retries keep failing: still nothing after "before" counts as durable.
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().write_failures >= 5; }));
    CHECK(n.journal->last_durable_seq() < during);
    CHECK(n.broker.reply_gate().released() < during);

    disarm_all_faults();
    REQUIRE(run_until(n.loop, [&] { return !n.journal->refusing() && n.journal->last_durable_seq() == n.journal->last_seq(); }));
    CHECK(n.broker.reply_gate().released() == n.journal->last_seq());
    n.send_ok("/queue/a", "after");
    REQUIRE(n.settle());
  }
  CHECK(bodies_after_restart(cfg, "/queue/a") == std::vector<std::string>{"before", "during", "after"});
}

TEST_CASE("a failed fdatasync is retried by rewriting the batch, then reported durable") {
  FaultGuard faults;
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  {
    Node n(cfg, quick_retry());
    arm_fault(FaultPoint::sync_eio, 2);
    n.send_ok("/queue/a", "m1");
    n.send_ok("/queue/a", "m2");
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().write_failures == 2 && n.journal->last_durable_seq() == n.journal->last_seq(); }));
    CHECK_FALSE(n.journal->refusing());
  }
  CHECK(bodies_after_restart(cfg, "/queue/a") == std::vector<std::string>{"m1", "m2"});
}

TEST_CASE("short writes are completed: every byte lands where it belongs") {
  FaultGuard faults;
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  std::vector<std::string> sent;
  {
    Node n(cfg, no_compaction());
    arm_fault(FaultPoint::write_short, 1 << 30);
    for (int i = 0; i < 40; ++i) {
      sent.push_back(std::string(static_cast<std::size_t>(50 + i * 7), static_cast<char>('a' + i % 26)));
      n.send_ok("/queue/a", sent.back());
      if (i % 5 == 4) REQUIRE(n.settle());
    }
    REQUIRE(n.settle());
    CHECK(n.journal->stats().write_failures == 0);
  }
  disarm_all_faults();
  CHECK(bodies_after_restart(cfg, "/queue/a") == sent);
}

TEST_CASE("a segment that cannot be created (disk full at a roll) is retried like any write") {
  FaultGuard faults;
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  {
    Node n(cfg, quick_retry());
    arm_fault(FaultPoint::create_enospc, 3, /*skip=*/1);  // the first segment is fine
    for (int i = 0; i < 30; ++i) {
      // Long names: a dozen of these fill a 4 KiB segment.
      const std::string name = "/queue/" + std::string(300, 'd') + std::to_string(i);
      n.broker.event_log().append(broker::DestinationAdded{name});
      REQUIRE(run_until(n.loop, [&] { return n.journal->last_durable_seq() == n.journal->last_seq(); }));
    }
    CHECK(n.journal->stats().write_failures == 3);
    CHECK_FALSE(n.journal->refusing());
    CHECK(files_with(dir.path(), ".seg").size() >= 3);
  }
  Node n(cfg);
  CHECK(n.queued().size() == 30);
}

TEST_CASE("closing while writes fail keeps the unwritten receipts held and loses nothing acknowledged") {
  FaultGuard faults;
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  {
    Node n(cfg, quick_retry());
    n.send_ok("/queue/a", "kept");
    REQUIRE(n.settle());
    arm_fault(FaultPoint::write_eio, 1 << 30);
    const Seq lost = n.send_ok("/queue/a", "never acknowledged");
    REQUIRE(run_until(n.loop, [&] { return n.journal->refusing(); }));
    n.journal->close();
    CHECK(n.journal->last_durable_seq() < lost);
    CHECK(n.broker.reply_gate().released() < lost);
  }
  disarm_all_faults();
  CHECK(bodies_after_restart(cfg, "/queue/a") == std::vector<std::string>{"kept"});
}

TEST_CASE("TWINMQ_FAULT arms points for a broker process") {
  FaultGuard faults;
  ::setenv("TWINMQ_FAULT", "write_eio:2@1,sync_eio:1", 1);
  REQUIRE(arm_faults_from_env().has_value());
  CHECK_FALSE(fault_fires(FaultPoint::write_eio));  // skipped
  CHECK(fault_fires(FaultPoint::write_eio));
  CHECK(fault_fires(FaultPoint::write_eio));
  CHECK_FALSE(fault_fires(FaultPoint::write_eio));
  CHECK(fault_fires(FaultPoint::sync_eio));
  CHECK_FALSE(fault_fires(FaultPoint::sync_eio));
  ::setenv("TWINMQ_FAULT", "write_eio:2,bogus:1", 1);
  auto bad = arm_faults_from_env();
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "TWINMQ_FAULT: 'bogus:1' is not <point>:<count>[@<skip>] with a known point");
  ::unsetenv("TWINMQ_FAULT");
  for (int i = 0; i < kFaultPointCount; ++i) {
    const auto p = static_cast<FaultPoint>(i);
    CHECK(fault_point_by_name(fault_point_name(p)) == p);
  }
}

namespace {

// A DurableListener that records what the writer thread told it. `may_wait` decides
// whether the loop is spared the wake-up (its report then waits for the next turn).
struct RecordingListener final : DurableListener {
  std::mutex mu;
  std::vector<Seq> covers;  // guarded by mu
  bool may_wait = false;
  void durable(Seq cover) noexcept override {
    std::lock_guard lock(mu);
    covers.push_back(cover);
  }
  bool loop_may_wait(Seq, Seq) noexcept override { return may_wait; }
  std::vector<Seq> told() {
    std::lock_guard lock(mu);
    return covers;
  }
};

}  // namespace

TEST_CASE("durable listener: told on the writer thread only once a group's fdatasync succeeded, with the cover the loop reports") {
  FaultGuard faults;
  TempDir dir;
  Node n(journal_config(dir.path()), quick_retry());
  RecordingListener listener;
  n.journal->set_durable_listener(&listener);
  const Seq first = n.send_ok("/queue/l", "first");
  REQUIRE(run_until(n.loop, [&] { return n.journal->last_durable_seq() >= first; }));
  REQUIRE(listener.told().size() == 1);
  CHECK(listener.told().back() == first);
  CHECK(listener.told().back() <= n.journal->last_durable_seq());

  // Every fdatasync fails: the group is written, not synced, and the listener (the
  // slave's Applied) hears nothing of it.
  arm_fault(FaultPoint::sync_eio, 1 << 30);
  const Seq second = n.send_ok("/queue/l", "second");
  REQUIRE(run_until(n.loop, [&] { return n.journal->stats().write_failures >= 3; }));
  CHECK(listener.told().size() == 1);
  CHECK(n.journal->last_durable_seq() < second);

  disarm_all_faults();
  REQUIRE(run_until(n.loop, [&] { return n.journal->last_durable_seq() >= second; }));
  REQUIRE(listener.told().size() == 2);
  CHECK(listener.told().back() == second);
  n.journal->set_durable_listener(nullptr);
}

TEST_CASE("durable listener: a report that spares the loop its wake-up is still taken at the loop's next turn") {
  TempDir dir;
  Node n(journal_config(dir.path()));
  RecordingListener listener;
  listener.may_wait = true;
  n.journal->set_durable_listener(&listener);
  for (int i = 0; i < 20; ++i) {
    const Seq s = n.send_ok("/queue/q", "m" + std::to_string(i));
    // The writer told the listener without waking the loop...
    REQUIRE(run_until(n.loop, [&] { return !listener.told().empty() && listener.told().back() >= s; }));
    // ...and the report was taken by a later turn (run_until's own timer wakes it):
    // durable, the receipt released, the spare buffer back.
    REQUIRE(run_until(n.loop, [&] { return n.journal->last_durable_seq() >= s; }));
    CHECK(n.broker.reply_gate().released() >= s);
  }
  n.journal->set_durable_listener(nullptr);
}
