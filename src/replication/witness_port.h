// replication/witness_port.h — what the two ends of the link ask of the pair's witness
// (the etcd key that says which broker serves; witness/witness.h implements it, and
// app::Runtime hands it to the links). Without a witness the links get nullptr and
// behave as before.
//
// DESIGN (README "The witness" has the whole argument)
//  - The master may confirm work and deliver messages only while it surely holds the
//    right to serve: its lease at the witness, or the in-sync slave's promise not to
//    take over (the echo of a heart-beat probe, valid for the master's link timeout).
//    The master feeds the promises in (promised_until); the witness keeps the deadline.
//  - Which slave may take over is recorded at the witness before the slave is told it
//    may (name_replica, before InSync), and cleared before the master confirms anything
//    without it (clear_replica, before held receipts go): so a slave that missed work
//    can never win the key, whatever happens to the master afterwards.
//  - A slave that lost an in-sync link takes over only through take_over(): after its
//    promise ran out, once the master's key is gone, with a compare-and-swap that bumps
//    the pair's epoch at the witness. Attempts are one-shot, so the slave can go on
//    dialling its master between them (a master that answers is alive: resync).
// Every callback runs on the loop thread, later (never inside the call).
//
// Lifecycle: the implementation is owned by app::Runtime and outlives both links.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace twinmq::replication {

class WitnessPort {
 public:
  // --- master ----------------------------------------------------------------------
  // False while this broker does not hold the right to serve (before the key is won,
  // after it was lost): the master then attaches no slave (Reject not_serving).
  virtual bool serving() const = 0;
  // Records `slave` as the broker that may take over; `done(true)` once the witness
  // holds it. `done(false)` if this broker no longer holds the key (it is being fenced).
  // While the witness cannot be reached it keeps trying (done is not called).
  virtual void name_replica(const std::string& slave, std::function<void(bool)> done) = 0;
  // Records that no slave may take over (before the master confirms work alone).
  virtual void clear_replica(std::function<void(bool)> done) = 0;
  // The in-sync slave promised not to take over before `until_boot_ns` (boot clock, a
  // safety margin already taken off): this broker may serve until then.
  virtual void promised_until(std::int64_t until_boot_ns) = 0;

  // --- slave -------------------------------------------------------------------------
  struct TakeOver {
    std::string broker_name;    // this slave
    std::uint64_t store_epoch;  // its store's epoch (must equal the pair's)
  };
  enum class TakeOverOutcome {
    won,           // this broker now holds the key; the pair's epoch is store_epoch + 1
    held,          // another broker's lease holds the key: try again later
    not_eligible,  // this slave may not take over (the reason says why): resync first
    unreachable,   // the witness did not answer: try again later
  };
  // One attempt. The caller makes it only after its own promise ran out (a link
  // timeout after it last heard from its master, or at once after a Shutdown).
  virtual void take_over(const TakeOver& request,
                         std::function<void(TakeOverOutcome, const std::string& why)> done) = 0;

  // --- an old master rejoining (twinmq --rejoin) ----------------------------------------
  // Whether the witness records a promotion past `epoch` for this store: then every
  // receipt the old master gave at that epoch waited for the slave that took over, and
  // its events after the fork were never confirmed. `done(false, why)` when it does not
  // (or cannot be reached: why says so).
  virtual void promoted_since(std::uint64_t epoch, const std::string& store_id,
                              std::function<void(bool, const std::string& why)> done) = 0;

 protected:
  ~WitnessPort() = default;
};

}  // namespace twinmq::replication
