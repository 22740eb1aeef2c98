// replication/handshake.cc — the master's decision on a Hello (design comment in
// replication/handshake.h). The texts go to the slave's log as they are: each names
// what was found and what an operator does about it.
#include "replication/handshake.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/printable.h"

namespace twinmq::replication {

namespace {

Decision reject(fbr::RejectReason reason, std::string message) {
  return Decision{false, reason, std::move(message), Seq{0}};
}

constexpr std::string_view kRecovery = "(README: \"Recovering the pair\")";

}  // namespace

std::string_view reject_reason_name(fbr::RejectReason reason) {
  const auto i = static_cast<std::size_t>(reason);
  if (i > static_cast<std::size_t>(fbr::RejectReason::MAX)) return "unknown";
  return fbr::EnumNamesRejectReason()[i];
}

bool is_transient(fbr::RejectReason reason) {
  return reason == fbr::RejectReason::another_slave || reason == fbr::RejectReason::shutting_down ||
         reason == fbr::RejectReason::not_serving;
}

Decision decide(const HelloInfo& h, const MasterView& m) {
  using R = fbr::RejectReason;
  // 1. Protocol.
  if (h.protocol_version != kProtocolVersion)
    return reject(R::protocol_version,
                  fmt::format("the slave speaks replication protocol {}, master '{}' speaks {}: run the same twinmq "
                              "version on both brokers",
                              h.protocol_version, m.name, kProtocolVersion));
  // 2. Credentials.
  switch (m.credentials) {
    case Credentials::not_required:
    case Credentials::accepted:
      break;
    case Credentials::missing:
      return reject(R::bad_credentials,
                    fmt::format("master '{}' requires credentials but the slave sent none: configure "
                                "<services><masterConnector remoteURI=\"...\" userName=\"...\" password=\"...\"/>"
                                "</services> on the slave with a user of the master's <users>",
                                m.name));
    case Credentials::wrong:
      return reject(R::bad_credentials,
                    fmt::format("master '{}' does not accept user '{}' with that password: set userName and "
                                "password of the slave's <masterConnector> to a user of the master's <users>",
                                m.name, shown(h.user_name)));
    case Credentials::not_in_group:
      return reject(R::bad_credentials,
                    fmt::format("master '{}' accepts only members of group '{}' as its slave (replicationGroup), and "
                                "user '{}' is not one: add the group to that user's groups on the master, or log "
                                "in as a user who has it",
                                m.name, m.replication_group, shown(h.user_name)));
    case Credentials::rate_limited:
      return reject(R::bad_credentials,
                    fmt::format("master '{}' refused the login without checking it: too many failed logins from "
                                "the slave's address; fix the slave's <masterConnector> credentials",
                                m.name));
  }
  // 3. One slave at a time.
  if (m.attached_slave)
    return reject(R::another_slave,
                  fmt::format("another slave ({}) is attached to master '{}'; a master has one slave at a time. "
                              "This slave keeps retrying and attaches when that one goes",
                              *m.attached_slave, m.name));
  // 4.
  if (m.shutting_down) return reject(R::shutting_down, fmt::format("master '{}' is shutting down", m.name));
  // 5. Persistence on both sides, or on neither.
  if (m.persistent != h.persistent) {
    if (m.persistent)
      return reject(R::persistence_mismatch,
                    fmt::format("the slave runs with persistent=\"false\" but master '{}' journals persistent "
                                "messages: a receipt promises a durable copy on both brokers, so the slave must "
                                "persist too (set persistent=\"true\" on the slave)",
                                m.name));
    return reject(R::persistence_mismatch,
                  fmt::format("master '{}' runs with persistent=\"false\" but the slave journals messages: "
                              "configure both brokers alike",
                              m.name));
  }
  // 5b. fsync on both sides, or on neither. An older slave does not say: accepted.
  if (m.persistent && h.sync_on_write && *h.sync_on_write != m.sync_on_write)
    return reject(R::sync_mismatch,
                  fmt::format("master '{}' runs with syncOnWrite=\"{}\" but the slave with syncOnWrite=\"{}\": a "
                              "receipt promises a copy on disk on both brokers, so configure <journal syncOnWrite> "
                              "alike on both",
                              m.name, m.sync_on_write ? "true" : "false", *h.sync_on_write ? "true" : "false"));
  // 6. The stores. An empty slave store simply receives the master's state.
  if (!m.persistent || h.last_seq == Seq{0}) return Decision{true, R::other, {}, Seq{0}};
  const std::string master_id = m.identity.id.to_string();
  if (!h.store_id || *h.store_id != m.identity.id)
    return reject(R::store_identity,
                  fmt::format("the slave's store {} is not master '{}''s store {}: its data directory belongs to "
                              "another broker or pair. If it holds nothing you need, empty it and restart the "
                              "slave (it then copies this master's state); otherwise point the slave at its own "
                              "master",
                              h.store_id ? h.store_id->to_string() : std::string("(none)"), m.name, master_id));
  if (h.epoch > m.identity.epoch)
    return reject(R::slave_newer_epoch,
                  fmt::format("the slave's store is at epoch {} but master '{}' is at epoch {}: the slave was "
                              "promoted after this master's data was written, so THIS MASTER'S DATA IS STALE. Do "
                              "not let it serve: stop it, copy the promoted broker's data directory over this "
                              "master's, then restart master and slave {}",
                              h.epoch, m.name, m.identity.epoch, kRecovery));
  // 6b. An old master rejoining: where did the master's history leave its epoch?
  if (h.rejoin && h.epoch < m.identity.epoch) {
    const std::optional<Seq> fork = m.last_seq_of_epoch ? m.last_seq_of_epoch(h.epoch) : std::nullopt;
    if (!fork)
      return reject(R::cannot_verify,
                    fmt::format("master '{}' no longer knows where its history left epoch {} (its journal was "
                                "compacted since): this old master cannot rejoin by itself; use twinmq-resync {}",
                                m.name, h.epoch, kRecovery));
    if (h.last_seq > *fork) {
      Decision d = reject(R::forked_tail,
                          fmt::format("this store holds events after seq {}, where master '{}' went on without it "
                                      "(epoch {} began at seq {}); they are not in the pair's history",
                                      fork->value, m.name, m.identity.epoch, fork->value + 1));
      d.fork_seq = *fork;
      return d;
    }
  }
  if (h.last_seq > m.last_seq)
    return reject(R::slave_ahead,
                  fmt::format("the slave's store reaches sequence {} but master '{}' only {} (same store, epoch "
                              "{}): the master lost its last writes (a crash before they were synced; those were "
                              "never acknowledged) or its data was restored from an older copy. To keep the "
                              "slave's data, copy the slave's data directory over the master's; to drop it, empty "
                              "the slave's data directory and restart the slave {}",
                              h.last_seq.value, m.name, m.last_seq.value, h.epoch, kRecovery));
  RecordMatch match = RecordMatch::unavailable;
  if (h.last_record_seq != Seq{0} && m.record_at) match = m.record_at(h.last_record_seq, h.last_record_crc);
  if (match == RecordMatch::match) return Decision{true, R::other, {}, Seq{0}};
  if (match == RecordMatch::mismatch)
    return reject(R::diverged,
                  fmt::format("the slave's history differs from master '{}''s at sequence {} (the records there "
                              "are not the same): the two stores split and each may hold messages the other lacks. "
                              "Nothing was overwritten. Decide whose data to keep, copy that data directory over "
                              "the other's, then restart the pair {}",
                              m.name, h.last_record_seq.value, kRecovery));
  if (h.epoch == m.identity.epoch) return Decision{true, R::other, {}, Seq{0}};
  return reject(R::cannot_verify,
                fmt::format("the slave's store (epoch {}, sequence {}) is older than master '{}''s epoch {} and "
                            "its last record is no longer in the master's journal, so it cannot be checked to be "
                            "part of the master's history; overwriting it could lose messages. If the slave's "
                            "data is not needed, empty its data directory and restart it {}",
                            h.epoch, h.last_seq.value, m.name, m.identity.epoch, kRecovery));
}

std::string why_full_copy(const HelloInfo& h, const CatchUpView& m) {
  const Seq s = h.applied_seq;
  if (!m.journal) return "this master keeps no journal";
  if (h.last_seq == Seq{0}) return "the slave's store is empty";
  if (!h.store_id || *h.store_id != m.identity.id) return "the slave's store is not this master's store";
  if (h.epoch > m.identity.epoch)
    return fmt::format("the slave's store is at epoch {}, newer than this master's {}", h.epoch, m.identity.epoch);
  if (s == Seq{0}) return "the slave did not say where its live state is (an older version)";
  // b. Its durable position is its live state, and its last record is not beyond it.
  const Seq j = h.last_record_seq;
  if (s != h.last_seq || j > s)
    return fmt::format("the slave's state (seq {}) does not end at its last journaled record (seq {}; durable {})",
                       s.value, j.value, h.last_seq.value);
  // Past its last record: only a tail of cancelled SENDs may be (CANCELLED TAIL).
  const bool cancelled_tail = j < s;
  if (cancelled_tail && h.epoch != m.identity.epoch)
    return fmt::format("the slave's state (seq {}) went on past its last journaled record (seq {}) and its store is at "
                       "epoch {}, this master's at {}: such a tail is compared only within one epoch",
                       s.value, j.value, h.epoch, m.identity.epoch);
  if (s > m.last_seq) return fmt::format("the slave is at seq {}, beyond this master's {}", s.value, m.last_seq.value);
  // c. The first seq read from the journal: after S, or after J to prove the tail.
  const Seq first_read = cancelled_tail ? Seq{j.value + 1} : Seq{s.value + 1};
  if (first_read < m.first_journaled)
    return fmt::format("this master's journal no longer holds seq {} (it starts at {}: compacted; it keeps "
                       "replicationRetainBytes={} of journal for a slave that is away, for at most "
                       "replicationRetainPeriod={} ms, and more was written, or more time passed, since this slave "
                       "left)",
                       first_read.value, m.first_journaled.value, m.retain_bytes, m.retain_ms);
  if (m.last_unjournaled > s)
    return fmt::format("events after seq {} are not all in the journal (the last non-persistent one is seq {})",
                       s.value, m.last_unjournaled.value);
  // b3. Nothing between J and S left out of the journal.
  if (cancelled_tail && m.last_unjournaled > j)
    return fmt::format("the slave's state (seq {}) went on past its last journaled record (seq {}), and this master's "
                       "journal does not hold every event in between (seq {} was not journaled: a non-persistent "
                       "event, or a seq skipped before a restart), so that tail is not only SENDs consumed before "
                       "written",
                       s.value, j.value, m.last_unjournaled.value);
  if (m.non_persistent_live) return "this master holds non-persistent messages, which only a copy carries";
  // A restart at S itself counts: seq S came before it, so what the slave holds from
  // then was the old process's (and its ids may be handed out again).
  if (s <= m.recovered_seq && h.non_persistent_live.value_or(true))
    return fmt::format("this master restarted at seq {}, not before the slave's seq {}, and lost its non-persistent "
                       "messages, which the slave may still hold",
                       m.recovered_seq.value, s.value);
  // b4. As (e), from the slave's last record: the tail after it may predate the restart.
  if (cancelled_tail && j <= m.recovered_seq && h.non_persistent_live.value_or(true))
    return fmt::format("this master restarted at seq {}, not before the slave's last journaled record (seq {}), and "
                       "lost its non-persistent messages, which the slave may still hold",
                       m.recovered_seq.value, j.value);
  if (h.epoch < m.identity.epoch) {
    // The slave's last record must lie before the master's history left its epoch.
    const SegmentEpoch* holder = nullptr;
    for (const SegmentEpoch& seg : m.segments)
      if (seg.first <= s) holder = &seg;
    if (holder == nullptr)
      return fmt::format("the slave's store is at epoch {}, this master's at {}, and this master's segments no longer "
                         "hold seq {} to show which epoch it belongs to",
                         h.epoch, m.identity.epoch, s.value);
    if (holder->epoch > h.epoch)
      return fmt::format("the slave's store is at epoch {}, but this master's seq {} was written at epoch {}: the "
                         "slave's history is not a prefix of this master's there",
                         h.epoch, s.value, holder->epoch);
  }
  if (!m.record_at || m.record_at(h.last_record_seq, h.last_record_crc) != RecordMatch::match)
    return fmt::format("the slave's record at seq {} cannot be matched with this master's", h.last_record_seq.value);
  // b2. No record of the master's between the slave's last record and its state.
  if (cancelled_tail) {
    const std::optional<Seq> found = m.record_after ? m.record_after(j, s) : std::nullopt;
    if (!found)
      return fmt::format("the slave's state (seq {}) went on past its last journaled record (seq {}), and this master "
                         "cannot read its journal up to seq {} to show that nothing but SENDs consumed before written "
                         "lie in between",
                         s.value, j.value, s.value);
    if (*found != Seq{0})
      return fmt::format("the slave's state (seq {}) went on past its last journaled record (seq {}), but this "
                         "master's journal holds a record at seq {} in between: not the same history there",
                         s.value, j.value, found->value);
  }
  return {};
}

std::vector<EpochStart> epoch_starts_after(const CatchUpView& m, Seq from, std::uint64_t slave_epoch) {
  std::vector<EpochStart> out;
  std::uint64_t current = slave_epoch;
  for (const SegmentEpoch& seg : m.segments) {
    if (seg.epoch <= current) continue;
    // A segment of a newer epoch that begins after `from` is where that epoch began;
    // one that began before it (impossible once why_full_copy passed) is no boundary
    // the slave crosses.
    current = seg.epoch;
    if (seg.first > from) out.push_back(EpochStart{seg.epoch, seg.first});
  }
  if (m.identity.epoch > current) out.push_back(EpochStart{m.identity.epoch, std::max(m.segments_end, Seq{from.value + 1})});
  return out;
}

}  // namespace twinmq::replication
