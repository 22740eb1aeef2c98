// replication/handshake.h — whether a master accepts a slave's Hello, and why not.
//
// A pure function of the Hello and what the master knows about itself, so every
// decision is unit-tested without sockets. In order:
//  1. protocol version;  2. credentials (the master checks the password before it calls
//  decide(), on a worker when it is a hash — auth/password_check.h — and passes the
//  verdict; with no users configured anyone passes, with a warning logged by the caller;
//  with replicationGroup only a member of that group);  3. one slave at a time;  4. the master
//  is not shutting down;  5. both sides persist, or neither, and both fsync before
//  confirming, or neither (what a receipt means must not depend on which side you ask);
//  6. the stores: an empty
//  slave store is always accepted (it adopts the master's identity); otherwise the same
//  store identity, an epoch not newer than the master's, a last sequence not beyond the
//  master's, and a history that is a prefix of the master's — checked with the CRC of
//  the slave's last journaled record against the master's record at that sequence, or,
//  when the master no longer has that record, by equal epochs (a fork always bumps the
//  epoch of the side that promoted itself).
//
// REJOIN: an old master started with --rejoin (Hello.rejoin) has an older epoch. If its
// history is a prefix of the master's up to where the master's own epoch began, it is
// accepted like any slave (and usually catches up: ACROSS AN EPOCH BOUNDARY below). If
// it holds events after that point (it went on accepting work after the takeover) it
// gets Reject{forked_tail, fork_seq}: its SlaveLink then salvages them to a file, cuts
// its store back to the fork and comes again (a catch-up from the fork), or stops,
// when they may have been confirmed (slave_link.h).
//
// An accepted slave gets an initial sync that replaces its store, so these checks are
// exactly what makes that overwrite safe: the slave holds nothing the master lacks.
// Every refusal carries a message that says what happened and what to do.
//
// CATCH-UP instead of a copy (why_full_copy): the slave keeps its state and the master
// streams the events it missed out of its journal, when all of these hold:
//  a. the master journals, and the slave's store is its store at the same epoch;
//  b. the slave's live state is exactly its last journaled record (applied_seq ==
//     last_seq == last_record_seq), and that record is the master's at that sequence
//     (the CRC of its payload matches): the same history up to there; or its state
//     went on past that record only by SENDs consumed before written (CANCELLED TAIL
//     below);
//  c. the master's segments still hold every record after it (not compacted away);
//  d. nothing after it was left out of the journal: no non-persistent event and no
//     non-persistent part of a transaction since (the journal counts them), because a
//     slave cannot get those from disk;
//  e. the master holds no live non-persistent message (a restarted slave lost its own,
//     and could not get them back either), and when the master restarted at or after
//     the slave's seq, the slave holds none either (the master lost its own: the slave's
//     would outlive them, and the ids they had may be handed out again).
// Anything else gets the full copy, and the log says which condition failed.
//
// CANCELLED TAIL (README "Consumed before written"). A cancelled SEND leaves no record
// on either side: the slave's journal and event log only move their numbering on
// (Journal::on_cancelled), and its durable position (last_seq) includes those seqs. So a
// slave whose last applied events were cancelled reports applied_seq S == last_seq
// beyond its last journaled record J. Its live state is then its journal up to J plus
// numbering and the next message id — the state the master had at S — exactly when
// every event in (J, S] was a cancelled one. The master proves that from its own
// journal, and the slave catches up from S when, on top of c..e (c read from J + 1,
// since the master reads (J, S] to prove it):
//  b1. the master's record at J is the slave's (the CRC, as in b);
//  b2. the master's segments hold no record at all in (J, S] (record_after): a record
//      there is an event the slave's journal lacks, or a seq the master reused after a
//      restart that lost the slave's cancelled tail;
//  b3. no event after J was left out of the master's journal (last_unjournaled <= J):
//      with b2, every seq in (J, S] was cancelled. A master that restarted counts the
//      seqs it skipped before (cancelled or not) as unjournaled, so it gives a copy;
//  b4. the master did not restart at or after J while the slave may hold
//      non-persistent messages (e at J: what the slave kept from before the restart,
//      the master lost);
//  b5. the same epoch on both sides: across an epoch boundary a tail past the last
//      record is not compared (a full copy, as before).
// The promise holds: every message the master receipted and that was not consumed is
// a record, at a seq <= J (the slave's journal has it: the same history up to J) or > S
// (the catch-up streams it), and b2 leaves none in between.
//
// ACROSS AN EPOCH BOUNDARY (an old master rejoining the broker that took over): the
// slave's store is at an older epoch than the master's. It still catches up when, on
// top of b..e, the master's segment that holds the slave's last record S is of the
// slave's epoch or older — S is before the point where the master's history left the
// slave's epoch (the fork), so the CRC match of (b) compares the same event, not a
// look-alike written on the other side of a fork. The Welcome then lists where each
// newer epoch begins after S (epoch_starts_after, read off the master's segment
// headers, which carry the epoch they were written in); the slave's journal enters
// each one at the same record, so both stores end with the same epoch and the same
// segment boundaries, and a later rejoin finds the fork in either. An old master whose
// store holds events after the fork gets Reject{forked_tail} (decide, 6b), cuts its
// store back to the fork (slave_link.h) and comes back with S = the fork.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "replication/protocol.h"
#include "store/identity.h"

namespace twinmq::replication {

// How the master's journal answers "your record at seq S, is its payload CRC C?".
enum class RecordMatch { match, mismatch, unavailable };

// What the master found of the slave's credentials.
enum class Credentials {
  not_required,  // the master has no users
  accepted,      // a user of the master, with the right password, in replicationGroup if one is set
  missing,       // the master has users and the slave sent no user name
  wrong,         // unknown user or wrong password (the slave is not told which)
  not_in_group,  // a valid user, but not in replicationGroup
  rate_limited,  // too many failed logins from the slave's address (auth/login_limiter.h)
};

struct MasterView {
  std::string name;
  Credentials credentials = Credentials::not_required;
  std::string replication_group;  // named in the not_in_group message
  // Set when another slave is attached: "'name' from ip:port".
  std::optional<std::string> attached_slave;
  bool shutting_down = false;
  bool persistent = true;
  store::StoreIdentity identity;  // meaningful when persistent
  bool sync_on_write = true;      // <journal syncOnWrite> (meaningful when persistent)
  Seq last_seq;                   // the master's event log position
  // Looks up the master's record at a seq; called at most once per decision.
  std::function<RecordMatch(Seq seq, std::uint32_t crc)> record_at;
  // The last seq of `epoch` in the master's history (its journal's first segment of a
  // newer epoch starts right after it); nullopt when the journal no longer shows it.
  std::function<std::optional<Seq>(std::uint64_t epoch)> last_seq_of_epoch;
};

struct Decision {
  bool accepted = false;
  fbr::RejectReason reason = fbr::RejectReason::other;
  std::string message;  // why not, and what to do (empty when accepted)
  Seq fork_seq;         // forked_tail: where the histories part
};

Decision decide(const HelloInfo& hello, const MasterView& master);

// One of the master's journal segments: its first seq and the epoch it was written in.
struct SegmentEpoch {
  Seq first;
  std::uint64_t epoch = 0;
};

// What the master knows about itself for the catch-up decision.
struct CatchUpView {
  bool journal = false;            // the master persists
  store::StoreIdentity identity;
  Seq first_journaled;             // the oldest seq its segments still hold
  std::uint64_t retain_bytes = 0;  // replicationRetainBytes (named when first_journaled is too late)
  std::uint32_t retain_ms = 0;     // replicationRetainPeriod (likewise)
  Seq last_unjournaled;            // the newest seq not (wholly) in its journal
  Seq last_seq;                    // its event log's position
  Seq recovered_seq;               // where its journal's recovery ended at its start
  bool non_persistent_live = false;
  // The master's record at the slave's last record seq against the slave's CRC.
  std::function<RecordMatch(Seq seq, std::uint32_t crc)> record_at;
  // The seq of the first record of any kind its segments hold in (after, upto]; Seq{0}
  // when they hold none there; nullopt when it cannot tell (not durable up to `upto`
  // yet, compacted, unreadable). Asked only for a CANCELLED TAIL.
  std::function<std::optional<Seq>(Seq after, Seq upto)> record_after;
  // Its segments, oldest first (the checkpoint is not one): where its epochs changed.
  std::vector<SegmentEpoch> segments;
  // The seq after the last one its segments cover: where its current epoch begins when
  // no segment of it was written yet.
  Seq segments_end;
};
// Empty when an accepted slave can catch up from hello.applied_seq; otherwise why it
// needs the full copy (for the log).
std::string why_full_copy(const HelloInfo& hello, const CatchUpView& master);

// For a slave that catches up from `from` with its store at `slave_epoch`: where each
// newer epoch of the master begins after `from`, oldest first (see ACROSS AN EPOCH
// BOUNDARY). Empty when the slave is at the master's epoch.
std::vector<EpochStart> epoch_starts_after(const CatchUpView& master, Seq from, std::uint64_t slave_epoch);

// Whether a slave refused for `reason` should try again later (another slave may go,
// a master may come back) rather than exit: the others need an operator.
bool is_transient(fbr::RejectReason reason);

std::string_view reject_reason_name(fbr::RejectReason reason);

}  // namespace twinmq::replication
