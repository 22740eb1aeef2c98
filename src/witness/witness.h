// witness/witness.h — the pair's third voice: an etcd key that says which broker
// serves, so that a link cut between master and slave never makes two masters.
//
// DESIGN (README "The witness" states the invariant and the timing argument)
//  - The serving broker holds the key K under a lease of `leaseMillis`, renewed every
//    third of it on the "lease" worker thread, and may serve (confirm work, deliver
//    messages) only until   last successful renewal's SEND time + lease - margin
//    by its own boot clock (margin = lease / 10). etcd starts the lease's new TTL when
//    it receives the renewal, which is after we sent it, so by our deadline the lease
//    is alive at etcd and nobody else can hold K. A master with an in-sync slave may
//    also serve on the slave's promise (replication/witness_port.h): that is what keeps
//    a healthy pair serving while etcd is down.
//  - The deadline is enforced twice: a timer fences the broker when it passes (the
//    Runtime closes connectors and sessions with an ERROR), and every client write
//    asks may_write() first (net/write_guard.h), so nothing produced after the deadline
//    leaves the process even if the timer is late (a paused process).
//  - Winning the key is one etcd transaction comparing what the decision read (K
//    absent, the pair record's mod revision): two brokers can never both win. A master
//    wins at its own epoch (it was the holder); a slave wins by promotion (the record
//    names it as replica, its store epoch equals the pair's) and bumps the epoch.
//  - A transaction whose answer was lost may have been applied: every attempt starts
//    by reading K, and a K carrying a lease we were granted is ours.
//  - Work that blocks (HTTP to etcd) runs on two EtcdWorkers, "lease" and "kv", so a
//    slow transaction never delays a renewal; results come back to the loop thread.
//
// STATES
//   idle        a slave: holds nothing, answers take_over() attempts
//   acquiring   wants the key (start-up of a master, or after losing it); retrying
//   holding     holds K (renewing); serving while the deadline is ahead
//   released    planned stop: the lease was revoked (terminal)
//   stale       this store may never serve (a newer epoch at the witness) (terminal)
// Serving is a separate flag: "holding" can outlive the right to serve (renewals fail
// until the deadline passes: fenced, then acquiring again).
//
// Lifecycle: owned by app::Runtime (created before the links and connectors, closed
// after them). Loop thread only; the workers' threads only run the jobs given to them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/loop.h"
#include "net/timer.h"
#include "net/write_guard.h"
#include "replication/witness_port.h"
#include "witness/etcd_client.h"
#include "witness/etcd_worker.h"
#include "witness/pair_record.h"

namespace twinmq::witness {

struct WitnessOptions {
  EtcdOptions etcd;         // endpoints, credentials (timeouts are derived from lease_ms)
  std::string uri;          // as configured, for logs
  std::string key;          // K
  std::uint32_t lease_ms = 3000;
  std::string broker_name;
  bool claim = false;       // --claim-witness: take K at our epoch even if another broker held it
};

// Where this broker's store stands (read again at every attempt: a promotion bumps it).
struct StoreState {
  std::string store_id;     // hex, as store::StoreId::to_string()
  std::uint64_t epoch = 0;
};

class Witness final : public replication::WitnessPort, public net::WriteGuard {
 public:
  struct Callbacks {
    std::function<StoreState()> store;                      // required
    std::function<void(const std::string& why)> on_serving; // the right to serve began (again)
    std::function<void(const std::string& why)> on_fenced;  // it ended: stop serving now
    std::function<void(const std::string& why)> on_stale;   // this store may never serve
  };

  Witness(net::Loop& loop, WitnessOptions options, Callbacks callbacks);
  ~Witness();
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // Master role: win K (at start-up; the witness tries again by itself after a loss).
  void acquire();
  // Planned stop: stop serving, revoke the lease (K goes at once, so the slave need not
  // wait for it to run out), then `done` (also when etcd cannot be reached, bounded).
  void release(std::function<void()> done);
  // Stops the workers and timers; nothing is called back after it.
  void close();

  bool holding() const { return state_ == State::holding; }
  // Lines for `twinmq status`.
  std::string status() const;
  // The same facts as fields, for /status and /metrics (admin endpoint).
  struct Summary {
    std::string uri, key;
    std::string state;             // idle, acquiring, holding, released, stale
    bool serving = false;
    std::string replica;           // the slave that may take over ("" = none)
    bool reachable = true;         // false while etcd cannot be reached
    std::int64_t serving_ms_left = 0;  // serving: time left without a renewal or promise
  };
  Summary summary() const;

  // net::WriteGuard: serving, and the deadline is still ahead.
  bool may_write() const override;

  // replication::WitnessPort
  bool serving() const override { return serving_; }
  void name_replica(const std::string& slave, std::function<void(bool)> done) override;
  void clear_replica(std::function<void(bool)> done) override;
  void promised_until(std::int64_t until_boot_ns) override;
  void take_over(const TakeOver& request,
                 std::function<void(TakeOverOutcome, const std::string& why)> done) override;
  void promoted_since(std::uint64_t epoch, const std::string& store_id,
                      std::function<void(bool, const std::string& why)> done) override;

  // What one attempt to win the key found (public for the jobs in witness.cc).
  struct Attempt {
    enum class Outcome { won, held, retry, not_eligible, stale, unreachable } outcome = Outcome::retry;
    std::string message;
    std::int64_t lease = 0;     // won: the lease now attached to K
    std::int64_t sent_ns = 0;   // won: when the request that started its TTL was sent
    std::int64_t granted = 0;   // a lease granted by this attempt (whatever the outcome)
    std::int64_t granted_sent_ns = 0;
    PairRecord pair;            // won: the record as written
  };

 private:
  enum class State { idle, acquiring, holding, released, stale };
  static const char* state_name(State s);
  void enter(State next, const std::string& why);

  void attempt_acquire();
  void on_acquire(Attempt a);
  // `notify`: call on_serving (a master's win; a slave's promotion opens its connectors itself).
  void hold(const Attempt& a, const std::string& why, bool notify);
  void renew();
  void extend(std::int64_t until_ns);
  void arm_deadline();
  void check_deadline();
  void fence(const std::string& why);
  void write_replica(std::uint64_t generation, std::string replica, std::function<void(bool)> done);
  void note_unreachable(const std::string& what);
  void note_reachable();
  std::int64_t margin_ns() const;
  std::int64_t deadline_ns() const { return lease_until_ns_ > promise_until_ns_ ? lease_until_ns_ : promise_until_ns_; }

  net::Loop& loop_;
  const WitnessOptions options_;
  const Callbacks callbacks_;
  std::unique_ptr<EtcdWorker> lease_lane_;
  std::unique_ptr<EtcdWorker> kv_lane_;
  net::HandlePtr<net::Timer> renew_timer_;
  net::HandlePtr<net::Timer> deadline_timer_;
  net::HandlePtr<net::Timer> retry_timer_;

  State state_ = State::idle;
  bool serving_ = false;
  bool closed_ = false;
  bool renew_in_flight_ = false;
  bool acquire_in_flight_ = false;
  std::int64_t lease_ = 0;             // the lease attached to K while holding
  std::int64_t granted_ = 0;           // the last lease granted to us (an answer may have been lost)
  std::int64_t granted_sent_ns_ = 0;
  std::int64_t lease_until_ns_ = 0;    // serving allowed by the lease until (boot clock)
  std::int64_t promise_until_ns_ = 0;  // ... by the in-sync slave's promise until
  std::int64_t last_renewed_ns_ = 0;
  PairRecord pair_;                    // as we last wrote it while holding
  std::uint64_t replica_generation_ = 0;
  std::string replica_;                // the replica the pair record names (as we wrote it)
  std::string last_note_;              // why we are not holding / last failure
  std::int64_t unreachable_since_ns_ = 0;
  std::int64_t last_unreachable_log_ns_ = 0;
  std::string unreachable_what_;
};

}  // namespace twinmq::witness
