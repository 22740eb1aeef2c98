// The master's decision on a Hello: every refusal reason, in its order, with a message
// that names what to do; and the codec property the divergence check relies on.
#include <doctest.h>

#include "base/crc32c.h"
#include "broker/broker.h"
#include "replication/handshake.h"
#include "store/event_codec.h"

using namespace twinmq;
using namespace twinmq::replication;
using R = fbr::RejectReason;

namespace {

store::StoreId id_of(std::uint8_t b) {
  store::StoreId id;
  id.bytes.fill(b);
  return id;
}

MasterView master() {
  MasterView m;
  m.name = "m";
  m.identity = store::StoreIdentity{id_of(1), 2};
  m.last_seq = Seq{100};
  return m;
}

HelloInfo hello() {
  HelloInfo h;
  h.protocol_version = kProtocolVersion;
  h.slave_name = "s";
  h.persistent = true;
  h.store_id = id_of(1);
  h.epoch = 2;
  h.last_seq = Seq{50};
  h.last_record_seq = Seq{50};
  h.last_record_crc = 1234;
  return h;
}

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("an empty slave store is always accepted, whatever its identity") {
  HelloInfo h = hello();
  h.last_seq = Seq{0};
  h.store_id = id_of(9);
  h.epoch = 7;
  CHECK(decide(h, master()).accepted);
  h.store_id.reset();
  CHECK(decide(h, master()).accepted);
}

TEST_CASE("protocol version, then credentials, then one slave at a time") {
  HelloInfo h = hello();
  MasterView m = master();
  h.protocol_version = 99;
  m.credentials = Credentials::missing;
  m.attached_slave = "'other' at 1.2.3.4:5";
  Decision d = decide(h, m);
  CHECK(d.reason == R::protocol_version);
  CHECK(contains(d.message, "same twinmq version"));

  h.protocol_version = kProtocolVersion;
  d = decide(h, m);
  CHECK(d.reason == R::bad_credentials);
  CHECK(contains(d.message, "<masterConnector"));
  h.user_name = "replica";
  h.password = "wrong";
  m.credentials = Credentials::wrong;
  d = decide(h, m);
  CHECK(d.reason == R::bad_credentials);
  CHECK(contains(d.message, "user 'replica'"));
  m.credentials = Credentials::accepted;
  d = decide(h, m);
  CHECK(d.reason == R::another_slave);
  CHECK(contains(d.message, "'other' at 1.2.3.4:5"));
  CHECK(is_transient(d.reason));
  m.attached_slave.reset();
  CHECK(decide(h, m).accepted);
}

TEST_CASE("a valid user outside replicationGroup, and a rate-limited address, are refused with the reason") {
  HelloInfo h = hello();
  h.user_name = "system";
  MasterView m = master();
  m.credentials = Credentials::not_in_group;
  m.replication_group = "replicas";
  Decision d = decide(h, m);
  CHECK(d.reason == R::bad_credentials);
  CHECK(contains(d.message, "group 'replicas'"));
  CHECK(contains(d.message, "user 'system'"));
  CHECK_FALSE(is_transient(d.reason));
  m.credentials = Credentials::rate_limited;
  d = decide(h, m);
  CHECK(d.reason == R::bad_credentials);
  CHECK(contains(d.message, "too many failed logins"));
}

TEST_CASE("without users any credentials pass") {
  HelloInfo h = hello();
  h.user_name = "anyone";
  h.password = "x";
  CHECK(decide(h, master()).accepted);
}

TEST_CASE("persistence must match") {
  HelloInfo h = hello();
  h.persistent = false;
  h.last_seq = Seq{0};
  Decision d = decide(h, master());
  CHECK(d.reason == R::persistence_mismatch);
  CHECK(contains(d.message, "persistent=\"true\" on the slave"));
  MasterView m = master();
  m.persistent = false;
  h.persistent = true;
  CHECK(decide(h, m).reason == R::persistence_mismatch);
  h.persistent = false;
  CHECK(decide(h, m).accepted);
}

TEST_CASE("a store of another broker is refused") {
  HelloInfo h = hello();
  h.store_id = id_of(3);
  Decision d = decide(h, master());
  CHECK(d.reason == R::store_identity);
  CHECK(contains(d.message, id_of(3).to_string()));
  CHECK(contains(d.message, id_of(1).to_string()));
  CHECK_FALSE(is_transient(d.reason));
}

TEST_CASE("a slave promoted after this master's data (newer epoch) makes the master the stale one") {
  HelloInfo h = hello();
  h.epoch = 3;
  Decision d = decide(h, master());
  CHECK(d.reason == R::slave_newer_epoch);
  CHECK(contains(d.message, "STALE"));
}

TEST_CASE("a slave ahead of the master is refused") {
  HelloInfo h = hello();
  h.last_seq = Seq{101};
  Decision d = decide(h, master());
  CHECK(d.reason == R::slave_ahead);
  CHECK(contains(d.message, "101"));
}

TEST_CASE("the last record decides between prefix and divergence") {
  HelloInfo h = hello();
  MasterView m = master();
  Seq asked;
  std::uint32_t crc = 0;
  m.record_at = [&](Seq s, std::uint32_t c) {
    asked = s;
    crc = c;
    return RecordMatch::match;
  };
  CHECK(decide(h, m).accepted);
  CHECK(asked == Seq{50});
  CHECK(crc == 1234);
  m.record_at = [](Seq, std::uint32_t) { return RecordMatch::mismatch; };
  Decision d = decide(h, m);
  CHECK(d.reason == R::diverged);
  CHECK(contains(d.message, "sequence 50"));
  // Unavailable (compacted): equal epochs accept, an older slave epoch cannot be checked.
  m.record_at = [](Seq, std::uint32_t) { return RecordMatch::unavailable; };
  CHECK(decide(h, m).accepted);
  h.epoch = 1;
  d = decide(h, m);
  CHECK(d.reason == R::cannot_verify);
  CHECK(contains(d.message, "empty its data directory"));
  // An older epoch with a matching record is a prefix.
  m.record_at = [](Seq, std::uint32_t) { return RecordMatch::match; };
  CHECK(decide(h, m).accepted);
}

TEST_CASE("a shutting-down master refuses, transiently") {
  MasterView m = master();
  m.shutting_down = true;
  Decision d = decide(hello(), m);
  CHECK(d.reason == R::shutting_down);
  CHECK(is_transient(d.reason));
  CHECK(reject_reason_name(R::slave_dropped) == "slave_dropped");
}

// The divergence check compares the CRC of a record's payload on the slave with the
// master's record at the same seq. The slave journals the event it decoded from the
// stream; that must give the master's bytes exactly.
TEST_CASE("re-encoding a decoded event gives the journal's bytes") {
  broker::Broker b(broker::BrokerOptions{"abc123", {}, [] { return std::int64_t{1'700'000'000'000}; }});
  struct Sink final : broker::EventSink {
    store::EventEncoder enc;
    struct Rec {
      store::RecordType type;
      std::vector<std::byte> journal;  // what the master's journal writes
      std::vector<std::byte> wire;     // what the link sends
    };
    std::vector<Rec> records;
    void on_event(Seq, const broker::Event& e) override {
      if (!broker::is_persistent(e)) return;
      auto j = enc.encode(e, true);
      std::vector<std::byte> journal(j.begin(), j.end());
      auto w = enc.encode(e, false);
      records.push_back(Rec{store::record_type_of(e), std::move(journal), std::vector<std::byte>(w.begin(), w.end())});
    }
  } sink;
  b.event_log().add_sink(&sink);
  struct Nobody final : broker::Client {
    bool can_accept() const override { return true; }
    void deliver(const broker::Delivery&) override {}
    void on_released(Seq) override {}
  } client;
  ConnId c = b.attach(client, "cid");
  const broker::HeaderView headers[] = {{"a", "1"}, {"b", std::string_view("x\0y", 3)}};
  broker::SendRequest r;
  r.destination = "/queue/q";
  r.body = "body";
  r.headers = headers;
  r.persistent = true;
  r.priority = 7;
  r.expires_ms = 1'800'000'000'000;
  REQUIRE(b.send(c, r).has_value());
  REQUIRE(b.begin(c, "t").has_value());
  r.transaction = "t";
  REQUIRE(b.send(c, r).has_value());
  r.persistent = false;
  REQUIRE(b.send(c, r).has_value());
  REQUIRE(b.commit(c, "t").has_value());
  b.detach(c);
  REQUIRE(sink.records.size() >= 3);
  store::EventDecoder dec;
  store::EventEncoder enc;
  for (const auto& rec : sink.records) {
    // The slave: decode the wire bytes, journal them.
    auto ev = dec.decode(rec.type, rec.wire);
    REQUIRE(ev.has_value());
    auto again = enc.encode(**ev, true);
    CHECK(crc32c(again) == crc32c(std::span<const std::byte>(rec.journal)));
  }
}

TEST_CASE("syncOnWrite must match: a receipt means a copy on disk on both sides, or on neither") {
  HelloInfo h = hello();
  MasterView m = master();
  m.record_at = [](Seq, std::uint32_t) { return RecordMatch::match; };
  h.sync_on_write = false;
  Decision d = decide(h, m);
  CHECK_FALSE(d.accepted);
  CHECK(d.reason == R::sync_mismatch);
  CHECK(contains(d.message, "master 'm' runs with syncOnWrite=\"true\" but the slave with syncOnWrite=\"false\""));
  CHECK(contains(d.message, "configure <journal syncOnWrite> alike"));
  CHECK_FALSE(is_transient(d.reason));
  h.sync_on_write = true;
  CHECK(decide(h, m).accepted);
  m.sync_on_write = false;
  CHECK(decide(h, m).reason == R::sync_mismatch);
  // An older slave that does not say is accepted (the master logs a warning).
  h.sync_on_write.reset();
  CHECK(decide(h, m).accepted);
  // Without persistence there is nothing to sync.
  m.persistent = false;
  h.persistent = false;
  h.sync_on_write = true;
  CHECK(decide(h, m).accepted);
}

namespace {

CatchUpView journal_at(Seq last) {
  CatchUpView v;
  v.journal = true;
  v.identity = store::StoreIdentity{id_of(1), 2};
  v.first_journaled = Seq{1};
  v.last_unjournaled = Seq{0};
  v.last_seq = last;
  v.record_at = [](Seq s, std::uint32_t crc) {
    return s == Seq{50} && crc == 1234 ? RecordMatch::match : RecordMatch::mismatch;
  };
  return v;
}

HelloInfo resumable() {
  HelloInfo h = hello();  // store 1, epoch 2, durable and last record at 50
  h.applied_seq = Seq{50};
  return h;
}

}  // namespace

TEST_CASE("catch-up: a slave whose state is the master's history up to its last record resumes from there") {
  CHECK(why_full_copy(resumable(), journal_at(Seq{100})).empty());
  CHECK(why_full_copy(resumable(), journal_at(Seq{50})).empty());  // nothing missed
}

TEST_CASE("catch-up: every condition that forces the full copy says which") {
  auto why = [](HelloInfo h, CatchUpView v) { return why_full_copy(h, v); };
  const CatchUpView ok = journal_at(Seq{100});
  {
    CatchUpView v = ok;
    v.journal = false;
    CHECK(why(resumable(), v) == "this master keeps no journal");
  }
  {
    HelloInfo h = resumable();
    h.last_seq = Seq{0};
    CHECK(why(h, ok) == "the slave's store is empty");
  }
  {
    HelloInfo h = resumable();
    h.store_id = id_of(7);
    CHECK(why(h, ok) == "the slave's store is not this master's store");
  }
  {
    HelloInfo h = resumable();
    h.epoch = 3;
    CHECK(why(h, ok) == "the slave's store is at epoch 3, newer than this master's 2");
    h.epoch = 1;  // older: only where the master's segments show seq 50 was written at epoch 1
    CHECK(contains(why(h, ok), "this master's segments no longer hold seq 50"));
  }
  {
    HelloInfo h = resumable();
    h.applied_seq = Seq{0};
    CHECK(contains(why(h, ok), "did not say where its live state is"));
  }
  {
    // Its live state is beyond its durable position (writes still in flight).
    HelloInfo h = resumable();
    h.applied_seq = Seq{51};
    CHECK(why(h, ok) == "the slave's state (seq 51) does not end at its last journaled record (seq 50; durable 50)");
  }
  {
    // Its state went on past its last record by a non-persistent event at 51.
    HelloInfo h = resumable();
    h.applied_seq = Seq{51};
    h.last_seq = Seq{51};
    CatchUpView v = ok;
    v.last_unjournaled = Seq{51};
    CHECK(contains(why(h, v), "past its last journaled record (seq 50), and this master's journal does not hold every "
                              "event in between (seq 51 was not journaled"));
  }
  {
    CHECK(contains(why(resumable(), journal_at(Seq{40})), "beyond this master's 40"));
  }
  {
    CatchUpView v = ok;
    v.first_journaled = Seq{60};
    CHECK(why(resumable(), v) == "this master's journal no longer holds seq 51 (it starts at 60: compacted; it keeps "
              "replicationRetainBytes=0 of journal for a slave that is away, for at most replicationRetainPeriod=0 "
              "ms, and more was written, or more time passed, since this slave left)");
  }
  {
    CatchUpView v = ok;
    v.last_unjournaled = Seq{70};
    CHECK(why(resumable(), v) ==
          "events after seq 50 are not all in the journal (the last non-persistent one is seq 70)");
    v.last_unjournaled = Seq{50};  // up to the slave's own seq is fine
    CHECK(why(resumable(), v).empty());
  }
  {
    CatchUpView v = ok;
    v.non_persistent_live = true;
    CHECK(why(resumable(), v) == "this master holds non-persistent messages, which only a copy carries");
  }
  {
    // The master restarted at seq 80, after the slave's 50: its non-persistent messages
    // are gone; a slave that may hold some must not keep them.
    CatchUpView v = ok;
    v.recovered_seq = Seq{80};
    CHECK(contains(why(resumable(), v), "restarted at seq 80, not before the slave's seq 50"));
    HelloInfo h = resumable();
    h.non_persistent_live = false;  // it holds none (it restarted too)
    CHECK(why(h, v).empty());
    // Restarted at the slave's seq: seq 50 came before the restart, so what the slave
    // holds from then is gone on the master too.
    v.recovered_seq = Seq{50};
    CHECK(contains(why(resumable(), v), "restarted at seq 50, not before the slave's seq 50"));
    CHECK(why(h, v).empty());
    v.recovered_seq = Seq{49};  // restarted before the slave's seq: nothing lost since
    CHECK(why(resumable(), v).empty());
  }
  {
    HelloInfo h = resumable();
    h.last_record_crc = 99;  // another history at the same seq
    CHECK(why(h, ok) == "the slave's record at seq 50 cannot be matched with this master's");
  }
}

TEST_CASE("catch-up across the epoch boundary: an old master whose last record is before the fork resumes") {
  // The master (epoch 2) was promoted after seq 60: its segments of epoch 1 end there.
  CatchUpView v = journal_at(Seq{100});
  v.segments = {{Seq{1}, 1}, {Seq{40}, 1}, {Seq{61}, 2}};
  v.segments_end = Seq{101};
  HelloInfo h = resumable();  // at seq 50
  h.epoch = 1;
  h.rejoin = true;
  CHECK(why_full_copy(h, v).empty());
  CHECK(epoch_starts_after(v, Seq{50}, 1) == std::vector<EpochStart>{{2, Seq{61}}});
  // At the master's epoch there is nothing to enter.
  CHECK(epoch_starts_after(v, Seq{50}, 2).empty());
  // Two promotions since: both epochs, in order.
  v.identity.epoch = 3;
  v.segments.push_back({Seq{80}, 3});
  CHECK(epoch_starts_after(v, Seq{50}, 1) == std::vector<EpochStart>{{2, Seq{61}}, {3, Seq{80}}});
  // Promoted, but nothing journaled since: the new epoch begins after the segments.
  v.segments = {{Seq{1}, 1}};
  v.segments_end = Seq{61};
  v.identity.epoch = 2;
  CHECK(epoch_starts_after(v, Seq{50}, 1) == std::vector<EpochStart>{{2, Seq{61}}});
  CHECK(epoch_starts_after(v, Seq{60}, 1) == std::vector<EpochStart>{{2, Seq{61}}});
}

TEST_CASE("catch-up across the epoch boundary: a record written after the fork is not the same history") {
  // The master's seq 50 was written at epoch 2 (after it took over at 40): the slave's
  // record there, from epoch 1, matches by CRC only by chance.
  CatchUpView v = journal_at(Seq{100});
  v.segments = {{Seq{1}, 1}, {Seq{41}, 2}};
  v.segments_end = Seq{101};
  HelloInfo h = resumable();
  h.epoch = 1;
  CHECK(why_full_copy(h, v) ==
        "the slave's store is at epoch 1, but this master's seq 50 was written at epoch 2: the slave's history is not "
        "a prefix of this master's there");
}

namespace {

// A slave whose last applied events were SENDs consumed before written: its journal's
// last record is at 50, its state (and durable position) at 53.
HelloInfo cancelled_tail() {
  HelloInfo h = resumable();
  h.applied_seq = Seq{53};
  h.last_seq = Seq{53};
  h.non_persistent_live = false;
  return h;
}

// The master's journal: records at 50 and then from `next` on; asked only in (after, upto].
CatchUpView records_from(Seq next, std::vector<std::pair<Seq, Seq>>* asked = nullptr) {
  CatchUpView v = journal_at(Seq{100});
  v.recovered_seq = Seq{10};
  v.record_after = [next, asked](Seq after, Seq upto) -> std::optional<Seq> {
    if (asked != nullptr) asked->emplace_back(after, upto);
    if (after < Seq{50}) return Seq{50};
    return next > upto ? Seq{0} : next;
  };
  return v;
}

}  // namespace

TEST_CASE("catch-up after a cancelled tail: a slave whose state went on past its last record only by SENDs consumed before written resumes from its state") {
  std::vector<std::pair<Seq, Seq>> asked;
  CHECK(why_full_copy(cancelled_tail(), records_from(Seq{54}, &asked)).empty());
  // The master was asked about exactly (J, S].
  CHECK(asked == std::vector<std::pair<Seq, Seq>>{{Seq{50}, Seq{53}}});
  // Nothing after it at all on the master (S is its last seq, or only cancelled seqs follow).
  CHECK(why_full_copy(cancelled_tail(), records_from(Seq{0})).empty());
  CatchUpView at_s = records_from(Seq{0});
  at_s.last_seq = Seq{53};
  CHECK(why_full_copy(cancelled_tail(), at_s).empty());
  // A non-persistent event exactly at J is before the tail: fine.
  CatchUpView v = records_from(Seq{54});
  v.last_unjournaled = Seq{50};
  CHECK(why_full_copy(cancelled_tail(), v).empty());
}

TEST_CASE("catch-up after a cancelled tail: refused, with the reason, unless the master proves the tail was only cancelled SENDs") {
  auto why = [](HelloInfo h, CatchUpView v) { return why_full_copy(h, v); };
  {
    // b2: the master journaled an event in (J, S] (or reused the seq after a restart).
    CHECK(why(cancelled_tail(), records_from(Seq{52})) ==
          "the slave's state (seq 53) went on past its last journaled record (seq 50), but this master's journal holds "
          "a record at seq 52 in between: not the same history there");
    CHECK(contains(why(cancelled_tail(), records_from(Seq{53})), "holds a record at seq 53 in between"));
    CHECK(contains(why(cancelled_tail(), records_from(Seq{51})), "holds a record at seq 51 in between"));
  }
  {
    // b2: the master cannot tell (not durable that far, compacted, unreadable) or was not asked.
    CatchUpView v = records_from(Seq{54});
    v.record_after = [](Seq, Seq) -> std::optional<Seq> { return std::nullopt; };
    CHECK(contains(why(cancelled_tail(), v), "cannot read its journal up to seq 53"));
    v.record_after = nullptr;
    CHECK(contains(why(cancelled_tail(), v), "cannot read its journal up to seq 53"));
  }
  {
    // b3: a non-persistent event (or a seq skipped before a restart) in (J, S].
    CatchUpView v = records_from(Seq{54});
    v.last_unjournaled = Seq{51};
    CHECK(why(cancelled_tail(), v) ==
          "the slave's state (seq 53) went on past its last journaled record (seq 50), and this master's journal does "
          "not hold every event in between (seq 51 was not journaled: a non-persistent event, or a seq skipped before "
          "a restart), so that tail is not only SENDs consumed before written");
    v.last_unjournaled = Seq{53};
    CHECK(contains(why(cancelled_tail(), v), "(seq 53 was not journaled"));
    v.last_unjournaled = Seq{60};  // after S: condition d, as before
    CHECK(why(cancelled_tail(), v) ==
          "events after seq 53 are not all in the journal (the last non-persistent one is seq 60)");
  }
  {
    // b1: the master's record at J is another one.
    HelloInfo h = cancelled_tail();
    h.last_record_crc = 99;
    CHECK(why(h, records_from(Seq{54})) == "the slave's record at seq 50 cannot be matched with this master's");
    // No record at all in the slave's segments: nothing to match.
    h = cancelled_tail();
    h.last_record_seq = Seq{0};
    CHECK(why(h, records_from(Seq{54})) == "the slave's record at seq 0 cannot be matched with this master's");
  }
  {
    // b4: the master restarted at or after J; the slave may hold non-persistent messages it lost.
    CatchUpView v = records_from(Seq{54});
    v.recovered_seq = Seq{50};
    HelloInfo h = cancelled_tail();
    h.non_persistent_live = true;
    CHECK(why(h, v) ==
          "this master restarted at seq 50, not before the slave's last journaled record (seq 50), and lost its "
          "non-persistent messages, which the slave may still hold");
    h.non_persistent_live.reset();  // an older slave that does not say
    CHECK(contains(why(h, v), "restarted at seq 50"));
    h.non_persistent_live = false;  // it holds none
    CHECK(why(h, v).empty());
  }
  {
    // b5: across an epoch boundary the tail is not compared.
    HelloInfo h = cancelled_tail();
    h.epoch = 1;
    CHECK(why(h, records_from(Seq{54})) ==
          "the slave's state (seq 53) went on past its last journaled record (seq 50) and its store is at epoch 1, this "
          "master's at 2: such a tail is compared only within one epoch");
  }
  {
    // c from J + 1: the master reads (J, S] to prove the tail.
    CatchUpView v = records_from(Seq{54});
    v.first_journaled = Seq{52};
    CHECK(contains(why(cancelled_tail(), v), "this master's journal no longer holds seq 51 (it starts at 52"));
    v.first_journaled = Seq{51};
    CHECK(why(cancelled_tail(), v).empty());
  }
  {
    // The durable position is not the live state, or the last record lies beyond it.
    HelloInfo h = cancelled_tail();
    h.last_seq = Seq{52};
    CHECK(contains(why(h, records_from(Seq{54})), "does not end at its last journaled record (seq 50; durable 52)"));
    h = cancelled_tail();
    h.last_record_seq = Seq{54};
    CHECK(contains(why(h, records_from(Seq{55})), "does not end at its last journaled record (seq 54; durable 53)"));
  }
  {
    // Beyond the master, as before.
    CatchUpView v = records_from(Seq{0});
    v.last_seq = Seq{52};
    CHECK(why(cancelled_tail(), v) == "the slave is at seq 53, beyond this master's 52");
  }
}
