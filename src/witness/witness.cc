// witness/witness.cc — the witness (design comment and states in witness/witness.h).
#include "witness/witness.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"

namespace twinmq::witness {

namespace {

using Outcome = Witness::Attempt::Outcome;

// A failure that repeats is logged again after this long (the "once a minute").
constexpr std::int64_t kRepeatLogNs = 60'000'000'000;

std::int64_t ms_to_ns(std::int64_t ms) { return ms * 1'000'000; }

// Everything an attempt needs, copied on the loop thread (the job runs elsewhere).
struct Claimant {
  std::string name;
  StoreState store;
  std::string key;
  std::int64_t ttl_s = 3;
  bool claim = false;            // master: take K at our epoch whoever held it
  std::int64_t known_lease = 0;  // a lease of ours K may carry (lost answer, or ours now)
  std::int64_t known_sent_ns = 0;
};

Witness::Attempt fail(Outcome o, std::string message) {
  Witness::Attempt a;
  a.outcome = o;
  a.message = std::move(message);
  return a;
}

// Reads K and the pair record. nullopt members = absent.
struct Read {
  std::optional<KeyValue> k;
  std::optional<KeyValue> pair;
  std::optional<HolderClaim> claim;
  std::optional<PairRecord> record;
};

Result<Read> read_both(EtcdClient& client, const std::string& key) {
  // One transaction with two gets: one revision, so K and the record agree.
  auto r = client.txn({}, {TxnOp::get(key), TxnOp::get(pair_key(key))}, {});
  if (!r) return std::unexpected(r.error());
  Read out;
  if (r->gets.size() == 2) {
    out.k = r->gets[0];
    out.pair = r->gets[1];
  }
  if (out.k) {
    auto c = decode_claim(out.k->value);
    if (!c) return std::unexpected(c.error());
    out.claim = *c;
  }
  if (out.pair) {
    auto p = decode_pair(out.pair->value);
    if (!p) return std::unexpected(p.error());
    out.record = *p;
  }
  return out;
}

// K carries a lease we were granted: it is ours. Renewing it both proves it is still
// alive and gives the send time the deadline starts from.
Witness::Attempt resume(EtcdClient& client, const Claimant& c, const Read& read) {
  const std::int64_t sent = boot_ns();
  auto ttl = client.keepalive(c.known_lease);
  if (!ttl) return fail(Outcome::unreachable, ttl.error().message);
  if (*ttl <= 0) return fail(Outcome::retry, "our lease on the key has just run out");
  Witness::Attempt a;
  a.outcome = Outcome::won;
  a.lease = c.known_lease;
  a.sent_ns = sent;
  if (read.record) a.pair = *read.record;
  a.message = "the key already carries this broker's lease " + std::to_string(c.known_lease);
  return a;
}

// Grants a lease and runs the transaction that creates K with it (and writes `record`),
// provided K is absent and the pair record is as read (`pair_mod` 0: absent).
Witness::Attempt create_key(EtcdClient& client, const Claimant& c, std::int64_t pair_mod, const PairRecord& record,
                            std::uint64_t claim_epoch) {
  Witness::Attempt a;
  const std::int64_t sent = boot_ns();
  auto grant = client.grant(c.ttl_s);
  if (!grant) return fail(Outcome::unreachable, grant.error().message);
  a.granted = grant->id;
  a.granted_sent_ns = sent;
  const std::string pk = pair_key(c.key);
  std::vector<Compare> compares = {
      Compare{c.key, Compare::Target::create, Compare::Op::equal, 0, {}},
      Compare{pk, pair_mod == 0 ? Compare::Target::create : Compare::Target::mod, Compare::Op::equal, pair_mod, {}}};
  HolderClaim claim{c.name, c.store.store_id, claim_epoch, grant->id};
  auto r = client.txn(compares, {TxnOp::put(c.key, encode(claim), grant->id), TxnOp::put(pk, encode(record))}, {});
  if (!r) {
    a.outcome = Outcome::unreachable;
    a.message = r.error().message;
    return a;
  }
  if (!r->succeeded) {
    a.outcome = Outcome::retry;
    a.message = "the key or the pair record changed while we decided (another broker was quicker)";
    return a;
  }
  a.outcome = Outcome::won;
  a.lease = grant->id;
  a.sent_ns = sent;
  a.pair = record;
  return a;
}

// The master's attempt: win K at this store's epoch.
Witness::Attempt acquire_job(EtcdClient& client, const Claimant& c) {
  auto read = read_both(client, c.key);
  if (!read) {
    const bool bad = read.error().code == static_cast<int>(EtcdErrc::bad_response);
    return fail(bad ? Outcome::stale : Outcome::unreachable, read.error().message);
  }
  // The pair's record first: a stale store must hear so whoever holds the key now.
  if (read->record) {
    const PairRecord& p = *read->record;
    if (p.store_id != c.store.store_id)
      return fail(Outcome::stale, "the witness key " + c.key + " belongs to store " + p.store_id +
                                      ", this broker's store is " + c.store.store_id +
                                      ": another pair uses this key, or this data directory holds another store");
    if (p.epoch > c.store.epoch)
      return fail(Outcome::stale, "the pair's epoch at the witness is " + std::to_string(p.epoch) + " (holder '" +
                                      p.holder + "'), this store's is " + std::to_string(c.store.epoch) +
                                      ": the slave took over since this data was written, so it is stale");
    if (p.epoch == c.store.epoch && p.holder != c.name && !c.claim)
      return fail(Outcome::stale, "'" + p.holder + "' was the last to serve epoch " + std::to_string(p.epoch) +
                                      ", not this broker: this store may be behind");
  }
  if (read->claim) {
    const HolderClaim& h = *read->claim;
    if (c.known_lease != 0 && h.lease == c.known_lease) return resume(client, c, *read);
    if (h.broker == c.name && h.store_id == c.store.store_id) {
      // This broker's previous run (killed, restarted before its lease ran out): we
      // hold the data directory's lock, so that run is gone. Revoke its lease.
      if (auto r = client.revoke(h.lease); !r) return fail(Outcome::unreachable, r.error().message);
      return fail(Outcome::retry, "revoked lease " + std::to_string(h.lease) + " of this broker's previous run");
    }
    return fail(Outcome::held, "the key is held by '" + h.broker + "' (epoch " + std::to_string(h.epoch) +
                                   ", lease " + std::to_string(h.lease) + ")");
  }
  PairRecord next{c.store.epoch, c.name, "", c.store.store_id};
  if (!read->record) return create_key(client, c, 0, next, c.store.epoch);
  return create_key(client, c, read->pair->mod_revision, next, c.store.epoch);
}

// The slave's attempt: promotion, bumping the pair's epoch.
Witness::Attempt take_over_job(EtcdClient& client, const Claimant& c) {
  auto read = read_both(client, c.key);
  if (!read) {
    const bool bad = read.error().code == static_cast<int>(EtcdErrc::bad_response);
    return fail(bad ? Outcome::not_eligible : Outcome::unreachable, read.error().message);
  }
  if (read->claim && c.known_lease != 0 && read->claim->lease == c.known_lease) return resume(client, c, *read);
  if (!read->record)
    return fail(Outcome::not_eligible, "the witness has no record of this pair (" + pair_key(c.key) +
                                           "): its master never held the key");
  const PairRecord& p = *read->record;
  if (p.store_id != c.store.store_id)
    return fail(Outcome::not_eligible, "the pair record names store " + p.store_id + ", this slave holds " +
                                           c.store.store_id);
  if (p.replica != c.name)
    return fail(Outcome::not_eligible,
                p.replica.empty() ? "the witness names no replica: '" + p.holder +
                                        "' confirmed work without this slave since it was in sync"
                                  : "the witness names '" + p.replica + "' as the replica, not this broker");
  if (p.epoch != c.store.epoch)
    return fail(Outcome::not_eligible, "the pair's epoch at the witness is " + std::to_string(p.epoch) +
                                           ", this slave's store is at " + std::to_string(c.store.epoch));
  if (read->claim)
    return fail(Outcome::held, "the key is held by '" + read->claim->broker + "' (lease " +
                                   std::to_string(read->claim->lease) + "): waiting for it to run out");
  PairRecord next{p.epoch + 1, c.name, "", c.store.store_id};
  return create_key(client, c, read->pair->mod_revision, next, p.epoch + 1);
}

struct Renewal {
  std::int64_t lease = 0;
  std::int64_t sent_ns = 0;
  Result<std::int64_t> ttl = 0;
};

}  // namespace

const char* Witness::state_name(State s) {
  switch (s) {
    case State::idle: return "idle";
    case State::acquiring: return "acquiring";
    case State::holding: return "holding";
    case State::released: return "released";
    case State::stale: return "stale";
  }
  return "unknown";
}

Witness::Witness(net::Loop& loop, WitnessOptions options, Callbacks callbacks)
    : loop_(loop), options_(std::move(options)), callbacks_(std::move(callbacks)) {
  EtcdOptions etcd = options_.etcd;
  // A renewal is due every third of the lease; one that cannot finish within a quarter
  // of it is as good as lost. Connecting gets half of that, so a dead endpoint leaves
  // time to try the next one.
  etcd.request_timeout = std::chrono::milliseconds(std::max<std::uint32_t>(200, options_.lease_ms / 4));
  etcd.connect_timeout = std::chrono::milliseconds(std::max<std::uint32_t>(100, options_.lease_ms / 8));
  lease_lane_ = std::make_unique<EtcdWorker>(loop_, etcd, "lease");
  kv_lane_ = std::make_unique<EtcdWorker>(loop_, etcd, "kv");
  renew_timer_ = net::Timer::create(loop_);
  deadline_timer_ = net::Timer::create(loop_);
  retry_timer_ = net::Timer::create(loop_);
}

Witness::~Witness() { close(); }

void Witness::close() {
  if (closed_) return;
  closed_ = true;
  serving_ = false;
  if (lease_lane_) lease_lane_->close();
  if (kv_lane_) kv_lane_->close();
  renew_timer_.reset();
  deadline_timer_.reset();
  retry_timer_.reset();
}

void Witness::enter(State next, const std::string& why) {
  if (state_ == next) return;
  spdlog::info("witness: {} -> {} ({})", state_name(state_), state_name(next), why);
  state_ = next;
}

std::int64_t Witness::margin_ns() const { return ms_to_ns(options_.lease_ms) / 10; }

bool Witness::may_write() const { return serving_ && boot_ns() < deadline_ns(); }

// --- winning the key (master) -------------------------------------------------------

void Witness::acquire() {
  if (closed_ || state_ == State::released || state_ == State::stale) return;
  if (state_ != State::acquiring) enter(State::acquiring, "this broker serves only while it holds " + options_.key);
  attempt_acquire();
}

void Witness::attempt_acquire() {
  if (closed_ || state_ != State::acquiring || acquire_in_flight_) return;
  acquire_in_flight_ = true;
  Claimant c{options_.broker_name, callbacks_.store(), options_.key, options_.lease_ms / 1000, options_.claim,
             granted_, granted_sent_ns_};
  kv_lane_->submit<Attempt>([c](EtcdClient& client) { return acquire_job(client, c); },
                            [this](Attempt a) { on_acquire(std::move(a)); });
}

void Witness::on_acquire(Attempt a) {
  acquire_in_flight_ = false;
  if (a.granted != 0) {
    granted_ = a.granted;
    granted_sent_ns_ = a.granted_sent_ns;
  }
  if (state_ != State::acquiring) return;
  const std::uint32_t again_ms = std::max<std::uint32_t>(50, options_.lease_ms / 6);
  switch (a.outcome) {
    case Outcome::won:
      note_reachable();
      hold(a, "won the key " + options_.key + (a.message.empty() ? std::string() : " (" + a.message + ")"), true);
      return;
    case Outcome::stale:
      note_reachable();
      enter(State::stale, a.message);
      serving_ = false;
      if (callbacks_.on_stale) callbacks_.on_stale(a.message);
      return;
    case Outcome::unreachable:
      note_unreachable(a.message);
      break;
    case Outcome::held:
    case Outcome::not_eligible:
      note_reachable();
      if (a.message != last_note_)
        spdlog::warn("witness: not serving yet: {}; client connectors stay closed, trying again every {} ms",
                     a.message, again_ms);
      break;
    case Outcome::retry:
      note_reachable();
      if (a.message != last_note_) spdlog::info("witness: {}; trying again", a.message);
      retry_timer_->start(0, 0, [this] { attempt_acquire(); });
      last_note_ = a.message;
      return;
  }
  last_note_ = a.message;
  retry_timer_->start(again_ms, 0, [this] { attempt_acquire(); });
}

void Witness::hold(const Attempt& a, const std::string& why, bool notify) {
  lease_ = a.lease;
  pair_ = a.pair;
  replica_ = a.pair.replica;
  last_note_.clear();
  enter(State::holding, why);
  last_renewed_ns_ = a.sent_ns;
  const std::uint64_t every = std::max<std::uint32_t>(50, options_.lease_ms / 3);
  renew_timer_->start(every, every, [this] { renew(); });
  lease_until_ns_ = std::max(lease_until_ns_, a.sent_ns + ms_to_ns(options_.lease_ms) - margin_ns());
  if (!serving_ && boot_ns() < deadline_ns()) {
    serving_ = true;
    spdlog::info("[event=serving] witness: SERVING: this broker holds {} (lease {}, pair epoch {}), renewed every {} ms", options_.key,
                 lease_, pair_.epoch, every);
  }
  // Armed only now that serving_ is set: a broker cut off before its first renewal (and
  // before any promise) must still fence itself at this deadline.
  arm_deadline();
  // Also when it never stopped serving (it lost the lease and won the key back while a
  // slave's promise carried it): winning wrote a record without a replica, and the
  // master names its in-sync slave again from this callback.
  if (serving_ && notify && callbacks_.on_serving) callbacks_.on_serving(why);
}

// --- keeping it ---------------------------------------------------------------------

void Witness::renew() {
  if (closed_ || state_ != State::holding || renew_in_flight_) return;
  renew_in_flight_ = true;
  const std::int64_t lease = lease_;
  lease_lane_->submit<Renewal>(
      [lease](EtcdClient& client) {
        Renewal r;
        r.lease = lease;
        r.sent_ns = boot_ns();
        r.ttl = client.keepalive(lease);
        return r;
      },
      [this](Renewal r) {
        renew_in_flight_ = false;
        if (state_ != State::holding || r.lease != lease_) return;
        if (!r.ttl) {
          note_unreachable(r.ttl.error().message);
          return;
        }
        note_reachable();
        if (*r.ttl <= 0) {
          spdlog::error("witness: the lease {} on {} is gone at etcd (expired or revoked): this broker no longer "
                        "holds the key; it serves only until its deadline, and tries to win the key again",
                        lease_, options_.key);
          renew_timer_->stop();
          enter(State::acquiring, "lease gone");
          attempt_acquire();
          return;
        }
        last_renewed_ns_ = r.sent_ns;
        extend(r.sent_ns + ms_to_ns(options_.lease_ms) - margin_ns());
      });
}

void Witness::promised_until(std::int64_t until_boot_ns) {
  if (until_boot_ns <= promise_until_ns_) return;
  promise_until_ns_ = until_boot_ns;
  arm_deadline();
}

void Witness::extend(std::int64_t until_ns) {
  if (until_ns > lease_until_ns_) lease_until_ns_ = until_ns;
  arm_deadline();
}

void Witness::arm_deadline() {
  if (closed_ || !serving_ || !deadline_timer_) return;
  const std::int64_t left = deadline_ns() - boot_ns();
  // The loop's timers run on the monotonic clock; the check re-reads the boot clock.
  deadline_timer_->start(left <= 0 ? 0 : static_cast<std::uint64_t>(left / 1'000'000), 0, [this] { check_deadline(); });
}

void Witness::check_deadline() {
  if (!serving_) return;
  const std::int64_t now = boot_ns();
  if (now < deadline_ns()) {
    arm_deadline();
    return;
  }
  const std::int64_t since = (now - last_renewed_ns_) / 1'000'000;
  fence("no renewal of the witness lease for " + std::to_string(since) + " ms (" +
        (unreachable_what_.empty() ? std::string("etcd did not answer in time") : unreachable_what_) +
        ") and no promise from an in-sync slave: this broker may be the isolated side of a partition");
}

void Witness::fence(const std::string& why) {
  if (!serving_) return;
  serving_ = false;
  spdlog::error("[event=fenced] witness: FENCED: {}; stopping to serve before the lease can expire at etcd (clients are told to "
                "reconnect elsewhere); the data is kept and this broker serves again only after winning the key",
                why);
  if (callbacks_.on_fenced) callbacks_.on_fenced(why);
  if (state_ == State::holding) {
    renew_timer_->stop();
    enter(State::acquiring, "fenced");
  }
  attempt_acquire();
}

// --- the replica ----------------------------------------------------------------------

void Witness::name_replica(const std::string& slave, std::function<void(bool)> done) {
  write_replica(++replica_generation_, slave, std::move(done));
}

void Witness::clear_replica(std::function<void(bool)> done) {
  write_replica(++replica_generation_, "", std::move(done));
}

void Witness::write_replica(std::uint64_t generation, std::string replica, std::function<void(bool)> done) {
  if (closed_ || generation != replica_generation_) return;
  if (state_ != State::holding) {
    // Not holding the key: nothing may be named; the broker is (or soon is) fenced.
    // The answer still comes later, through the kv lane, as every answer does.
    kv_lane_->submit<bool>([](EtcdClient&) { return false; }, [done](bool) { done(false); });
    return;
  }
  PairRecord next = pair_;
  next.replica = replica;
  const std::string key = options_.key;
  const std::int64_t lease = lease_;
  kv_lane_->submit<Result<TxnResult>>(
      [key, lease, next](EtcdClient& client) {
        return client.txn({Compare{key, Compare::Target::lease, Compare::Op::equal, lease, {}}},
                          {TxnOp::put(pair_key(key), encode(next))}, {});
      },
      [this, generation, next, done = std::move(done)](Result<TxnResult> r) {
        if (closed_ || generation != replica_generation_) return;
        if (!r) {
          note_unreachable(r.error().message);
          const std::uint32_t again_ms = std::max<std::uint32_t>(50, options_.lease_ms / 6);
          retry_timer_->start(again_ms, 0, [this, generation, replica = next.replica, done] {
            write_replica(generation, replica, done);
          });
          return;
        }
        note_reachable();
        if (!r->succeeded) {
          spdlog::error("witness: cannot record the replica: the key {} no longer carries this broker's lease {}",
                        options_.key, lease_);
          done(false);
          return;
        }
        pair_ = next;
        replica_ = next.replica;
        if (next.replica.empty())
          spdlog::warn("witness: the pair record now names NO replica: no slave may take over until one is in sync "
                       "again (this master confirms work alone)");
        else
          spdlog::info("witness: the pair record names '{}' as the replica that may take over", next.replica);
        done(true);
      });
}

// --- taking over (slave) ----------------------------------------------------------------

void Witness::take_over(const TakeOver& request, std::function<void(TakeOverOutcome, const std::string&)> done) {
  if (closed_) return;
  Claimant c{request.broker_name, callbacks_.store(), options_.key, options_.lease_ms / 1000, false, granted_,
             granted_sent_ns_};
  c.store.epoch = request.store_epoch;
  kv_lane_->submit<Attempt>(
      [c](EtcdClient& client) { return take_over_job(client, c); },
      [this, done = std::move(done)](Attempt a) {
        if (a.granted != 0) {
          granted_ = a.granted;
          granted_sent_ns_ = a.granted_sent_ns;
        }
        switch (a.outcome) {
          case Outcome::won:
            note_reachable();
            // The slave link opens the connectors itself, once the promotion is done.
            hold(a, "took over: " + (a.message.empty() ? std::string("won the key") : a.message), false);
            done(TakeOverOutcome::won, "won " + options_.key + " at pair epoch " + std::to_string(a.pair.epoch));
            return;
          case Outcome::not_eligible:
          case Outcome::stale:
            note_reachable();
            done(TakeOverOutcome::not_eligible, a.message);
            return;
          case Outcome::unreachable:
            note_unreachable(a.message);
            done(TakeOverOutcome::unreachable, a.message);
            return;
          case Outcome::held:
          case Outcome::retry:
            note_reachable();
            done(TakeOverOutcome::held, a.message);
            return;
        }
      });
}

void Witness::promoted_since(std::uint64_t epoch, const std::string& store_id,
                             std::function<void(bool, const std::string&)> done) {
  if (closed_) return;
  const std::string key = options_.key;
  kv_lane_->submit<Result<std::optional<KeyValue>>>(
      [key](EtcdClient& client) { return client.get(pair_key(key)); },
      [this, epoch, store_id, done = std::move(done)](Result<std::optional<KeyValue>> r) {
        if (!r) {
          note_unreachable(r.error().message);
          done(false, "the witness cannot be reached: " + r.error().message);
          return;
        }
        note_reachable();
        if (!*r) {
          done(false, "the witness has no record of this pair");
          return;
        }
        auto p = decode_pair((*r)->value);
        if (!p) {
          done(false, p.error().message);
          return;
        }
        if (p->store_id != store_id) {
          done(false, "the witness's record is of store " + p->store_id);
          return;
        }
        if (p->epoch <= epoch) {
          done(false, "the witness records no promotion past epoch " + std::to_string(epoch));
          return;
        }
        done(true, "the witness records that '" + p->holder + "' took over (pair epoch " + std::to_string(p->epoch) +
                       "): every receipt this broker gave at epoch " + std::to_string(epoch) +
                       " waited for that slave, so nothing after the fork was confirmed");
      });
}

// --- giving it up -----------------------------------------------------------------------

void Witness::release(std::function<void()> done) {
  serving_ = false;
  renew_timer_->stop();
  deadline_timer_->stop();
  retry_timer_->stop();
  const std::int64_t lease = state_ == State::holding ? lease_ : 0;
  if (state_ != State::stale) enter(State::released, "planned stop");
  if (lease == 0 || closed_) {
    done();
    return;
  }
  // Keeps the loop alive until the answer (the worker's async handle does not).
  retry_timer_->start(options_.lease_ms, 0, [] {});
  lease_lane_->submit<Result<void>>([lease](EtcdClient& client) { return client.revoke(lease); },
                                    [this, lease, done = std::move(done)](Result<void> r) {
                                      retry_timer_->stop();
                                      if (r)
                                        spdlog::info("witness: released {} (lease {} revoked): the slave may take "
                                                     "over at once",
                                                     options_.key, lease);
                                      else
                                        spdlog::warn("witness: could not revoke lease {} ({}): it runs out by itself "
                                                     "within {} ms",
                                                     lease, r.error().message, options_.lease_ms);
                                      done();
                                    });
}

// --- reporting -------------------------------------------------------------------------

void Witness::note_unreachable(const std::string& what) {
  const std::int64_t now = boot_ns();
  if (unreachable_since_ns_ == 0) unreachable_since_ns_ = now;
  unreachable_what_ = what;
  if (last_unreachable_log_ns_ == 0 || now - last_unreachable_log_ns_ >= kRepeatLogNs) {
    last_unreachable_log_ns_ = now;
    spdlog::warn("witness: cannot reach etcd ({}): {} for {} s; {}", options_.uri, what,
                 (now - unreachable_since_ns_) / 1'000'000'000,
                 state_ == State::holding
                     ? "this broker keeps serving while its lease or its slave's promise lasts; no takeover can "
                       "happen meanwhile"
                     : "no role change can happen until it answers");
  }
}

void Witness::note_reachable() {
  if (unreachable_since_ns_ != 0) {
    spdlog::info("witness: etcd answers again ({} after {} s)", options_.uri,
                 (boot_ns() - unreachable_since_ns_) / 1'000'000'000);
  }
  unreachable_since_ns_ = 0;
  last_unreachable_log_ns_ = 0;
  unreachable_what_.clear();
}

Witness::Summary Witness::summary() const {
  Summary s;
  s.uri = options_.uri;
  s.key = options_.key;
  s.state = state_name(state_);
  s.serving = serving_;
  s.replica = replica_;
  s.reachable = unreachable_since_ns_ == 0;
  if (serving_) s.serving_ms_left = (deadline_ns() - boot_ns()) / 1'000'000;
  return s;
}

std::string Witness::status() const {
  const std::int64_t now = boot_ns();
  auto secs = [](std::int64_t ns) { return fmt::format("{:.1f} s", static_cast<double>(ns) / 1e9); };
  std::string out = "witness: " + options_.uri + " key " + options_.key + ": " + state_name(state_);
  if (state_ == State::holding) out += " (lease " + std::to_string(lease_) + ", renewed " + secs(now - last_renewed_ns_) + " ago)";
  out += "\n";
  if (serving_) {
    out += "witness: serving for " + secs(deadline_ns() - now) + " more without a renewal or promise";
    if (!replica_.empty()) out += "; replica that may take over: " + replica_;
    else out += "; no replica may take over";
    out += "\n";
  } else if (state_ == State::acquiring && !last_note_.empty()) {
    out += "witness: not serving: " + last_note_ + "\n";
  }
  if (unreachable_since_ns_ != 0)
    out += "witness: etcd UNREACHABLE for " + secs(now - unreachable_since_ns_) + ": " + unreachable_what_ +
           " (no takeover can happen)\n";
  return out;
}

}  // namespace twinmq::witness
