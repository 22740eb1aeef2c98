// replication/slave_apply.cc — the slave link's frames: the handshake answer, the
// initial sync, the event stream and the acknowledgements (design comment and states
// in replication/slave_link.h; connecting and losing the master in slave_link.cc).
#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/clock.h"
#include "replication/handshake.h"
#include "replication/slave_conn.h"
#include "replication/slave_link.h"
#include "store/record_format.h"

namespace twinmq::replication {

namespace {
// Retry delay after a transient Reject (another slave attached, master stopping).
constexpr std::uint32_t kRejectedRetryMs = 1000;
}  // namespace

// SlaveLink "Back-pressure": how far the journal may be behind before the link is not
// read, and where reading resumes.
constexpr std::uint64_t kDiskBehindHigh = 4u << 20;
constexpr std::uint64_t kDiskBehindLow = 1u << 20;

// --- frames -------------------------------------------------------------------------

bool SlaveLink::on_frame(Conn& c, const fbr::Frame& frame) {
  if (&c != conn_) return false;
  last_received_ms_ = mono_ms();
  last_received_boot_ns_ = boot_ns();
  const fbr::Body type = frame.body_type();
  switch (state_) {
    case State::awaiting_welcome:
      if (type == fbr::Body::Welcome) {
        on_welcome(*frame.body_as_Welcome());
      } else if (type == fbr::Body::Challenge) {
        on_challenge(*frame.body_as_Challenge());
      } else if (type == fbr::Body::Reject) {
        on_reject(*frame.body_as_Reject());
      } else {
        break;
      }
      return conn_ == &c;
    case State::awaiting_snapshot:
      if (type == fbr::Body::SnapshotBegin && !receiver_) {
        on_snapshot_begin(*frame.body_as_SnapshotBegin());
      } else if (type == fbr::Body::SnapshotChunk && receiver_) {
        on_snapshot_chunk(*frame.body_as_SnapshotChunk());
      } else if (type == fbr::Body::SnapshotEnd && receiver_) {
        on_snapshot_end(*frame.body_as_SnapshotEnd());
        return conn_ == &c && !installing_;  // installing: the reader holds the rest
      } else if (type == fbr::Body::Heartbeat) {
        master_last_ = std::max(master_last_, Seq{frame.body_as_Heartbeat()->seq()});
      } else if (type == fbr::Body::Reject) {
        on_reject(*frame.body_as_Reject());
      } else {
        break;
      }
      return conn_ == &c;
    case State::awaiting_in_sync:
    case State::streaming:
      switch (type) {
        case fbr::Body::Events:
          on_events(*frame.body_as_Events());
          return conn_ == &c;
        case fbr::Body::Heartbeat: {
          const fbr::Heartbeat* h = frame.body_as_Heartbeat();
          master_last_ = std::max(master_last_, Seq{h->seq()});
          // Echo a probe at once: the answer is this slave's promise (see Heartbeat).
          if (h->probe() != 0) {
            writer_.heartbeat(acknowledged(), conn_->tcp_->output(), 0, h->probe());
            sent();
          }
          return true;
        }
        case fbr::Body::InSync:
          if (state_ != State::awaiting_in_sync) break;
          spdlog::info("[event=in_sync] replication: IN SYNC with master {} at seq {}: this slave takes over if the master fails "
                       "({})",
                       options_.master_uri, frame.body_as_InSync()->seq(),
                       options_.shutdown_on_master_failure ? "shutdownOnMasterFailure=\"true\": it exits instead"
                                                           : "opening its client connectors");
          enter(State::streaming, "master says in sync");
          return true;
        case fbr::Body::Shutdown: {
          const auto* s = frame.body_as_Shutdown();
          const std::string why = "master shut down on purpose (" + (s->reason() ? s->reason()->str() : std::string()) +
                                  "), its last seq " + std::to_string(s->last_seq());
          if (Seq{s->last_seq()} != applied_)
            spdlog::warn("replication: master's last seq {} but this slave applied up to {}", s->last_seq(),
                         applied_.value);
          planned_stop_ = true;  // it stopped serving before it said so: no promise to wait out
          link_lost(why);
          return false;
        }
        case fbr::Body::Reject:
          on_reject(*frame.body_as_Reject());
          return false;
        default:
          break;
      }
      break;
    default:
      return false;
  }
  mirror_failed(std::string("unexpected ") + std::string(body_name(type)) + " frame in state " +
                std::string(state_name(state_)));
  return false;
}

void SlaveLink::on_read_error(Conn& c, const std::string& why) {
  if (&c != conn_) return;
  mirror_failed("unreadable stream from the master: " + why);
}

void SlaveLink::on_reject(const fbr::Reject& r) {
  const std::string text = r.message() ? r.message()->str() : std::string();
  const fbr::RejectReason reason = r.reason();
  if (reason == fbr::RejectReason::forked_tail && options_.rejoin && state_ == State::awaiting_welcome) {
    on_forked_tail(Seq{r.fork_seq()}, text);
    return;
  }
  if (state_ == State::awaiting_welcome && !is_transient(reason) && reason != fbr::RejectReason::slave_dropped) {
    spdlog::error("[event=refused] replication: master {} REFUSED this slave ({}): {}", options_.master_uri, reject_reason_name(reason),
                  text);
    spdlog::error("replication: exiting with code {} (the slave's data directory {} is unchanged); fix the cause "
                  "and start it again",
                  kExitRejected, host_.journal_dir().empty() ? std::string("(none)") : host_.journal_dir());
    close_conn();
    enter(State::exited, "refused by the master");
    host_.exit_process(kExitRejected, "refused by master: " + text);
    return;
  }
  // The master is alive and decided: never a reason to take over.
  spdlog::error("replication: master {} says: {} ({}); not taking over", options_.master_uri, text,
                reject_reason_name(reason));
  retry("refused: " + text, kRejectedRetryMs);
}

void SlaveLink::on_welcome(const fbr::Welcome& w) {
  welcome_ = WelcomeInfo::from(w);
  if (eligible_) {
    eligible_ = false;
    // The master chose (handshake.h why_full_copy): a catch-up keeps this state.
    if (welcome_->catch_up_from != Seq{0})
      spdlog::warn("replication: the master answers again: re-attaching by a catch-up from seq {} (this slave's state "
                   "is kept); it no longer takes over until it is in sync again",
                   welcome_->catch_up_from.value);
    else
      spdlog::warn("replication: the master answers again: re-attaching with a full copy; this slave no longer takes "
                   "over until it is in sync again");
  }
  backoff_ms_ = 0;
  if (welcome_->catch_up_from != Seq{0}) {
    // A catch-up: the local state stays; the events after it stream in.
    const Seq here = host_.broker().event_log().last();
    if (welcome_->catch_up_from != here || host_.journal() == nullptr) {
      mirror_failed("the master offered a catch-up from seq " + std::to_string(welcome_->catch_up_from.value) +
                    " but this slave's state is at seq " + std::to_string(here.value));
      return;
    }
    store::Journal* journal = host_.journal();
    const std::uint64_t final_epoch =
        welcome_->epoch_starts.empty() ? journal->epoch() : welcome_->epoch_starts.back().epoch;
    if (final_epoch != welcome_->epoch) {
      mirror_failed("the master offered a catch-up ending at epoch " + std::to_string(final_epoch) +
                    " but is at epoch " + std::to_string(welcome_->epoch));
      return;
    }
    if (welcome_->epoch_starts.empty())
      spdlog::info("replication: attached to master '{}' (twinmq {}) at {}; catching up from seq {} to {} (this "
                   "slave's state is kept: no copy)",
                   welcome_->master_name, welcome_->software_version, conn_->tcp_->peer(), here.value,
                   welcome_->snapshot_seq.value);
    else
      spdlog::info("[event=rejoin_catch_up] replication: attached to master '{}' (twinmq {}) at {}; catching up "
                   "from seq {} to {} across the epoch boundary (this store's epoch {}, the master's {} from seq {}; "
                   "this store is kept: no copy)",
                   welcome_->master_name, welcome_->software_version, conn_->tcp_->peer(), here.value,
                   welcome_->snapshot_seq.value, journal->epoch(), welcome_->epoch,
                   welcome_->epoch_starts.back().first_seq.value);
    epoch_starts_ = welcome_->epoch_starts;
    next_epoch_start_ = 0;
    applied_ = acked_ = here;
    if (!enter_epochs()) return;
    ack_floor_ = welcome_->snapshot_seq;
    master_last_ = welcome_->snapshot_seq;
    attach_acker();
    enter(State::awaiting_in_sync, "catching up from seq " + std::to_string(here.value));
    if (here >= ack_floor_) {
      // Nothing was missed: acknowledge where we are, as after an installed copy.
      writer_.applied(here, conn_->tcp_->output());
      sent();
    }
    return;
  }
  spdlog::info("replication: attached to master '{}' (twinmq {}) at {}; replacing this slave's state with the "
               "master's as of seq {}",
               welcome_->master_name, welcome_->software_version, conn_->tcp_->peer(), welcome_->snapshot_seq.value);
  ack_floor_ = Seq{0};
  epoch_starts_.clear();
  detach_acker();
  if (options_.persistent && !welcome_->store_id) {
    mirror_failed("the master sent no store identity, but this slave persists messages");
    return;
  }
  std::optional<store::StoreIdentity> identity;
  if (welcome_->store_id) identity = store::StoreIdentity{*welcome_->store_id, welcome_->epoch};
  if (auto r = host_.discard_state(identity); !r) {
    mirror_failed("cannot discard the old local state: " + r.error().message);
    return;
  }
  adopted_ = identity;
  applied_ = acked_ = Seq{0};
  master_last_ = welcome_->snapshot_seq;
  enter(State::awaiting_snapshot, "welcomed by the master");
}

void SlaveLink::on_snapshot_begin(const fbr::SnapshotBegin& b) {
  auto r = SnapshotReceiver::begin(host_.journal_dir(), adopted_.value_or(store::StoreIdentity{}), b, host_.broker());
  if (!r) {
    mirror_failed("cannot start the initial sync: " + r.error().message);
    return;
  }
  receiver_ = std::move(*r);
}

void SlaveLink::on_snapshot_chunk(const fbr::SnapshotChunk& c) {
  if (c.records() == nullptr) return;
  for (const fbr::EventRecord* rec : *c.records()) {
    if (auto r = receiver_->add(*rec); !r) {
      mirror_failed("initial sync: " + r.error().message);
      return;
    }
  }
}

void SlaveLink::on_snapshot_end(const fbr::SnapshotEnd& e) {
  if (auto r = receiver_->finish(e); !r) {
    mirror_failed("initial sync: " + r.error().message);
    return;
  }
  if (!host_.journal_dir().empty()) {
    // Replayed on a worker; the link is not read meanwhile (see DESIGN).
    installing_ = true;
    if (conn_ != nullptr) {
      conn_->reader_.hold();
      conn_->tcp_->pause_reading();
    }
    std::weak_ptr<SlaveLink*> alive = alive_;
    host_.reopen_state_async([alive](Result<void> r) {
      if (auto self = alive.lock(); self && *self != nullptr) (*self)->on_state_reopened(std::move(r));
    });
    return;
  }
  on_state_reopened({});
}

void SlaveLink::on_state_reopened(Result<void> reopened) {
  installing_ = false;
  if (terminal()) return;
  if (!reopened) {
    mirror_failed("cannot reopen the journal after the initial sync: " + reopened.error().message);
    return;
  }
  if (state_ != State::awaiting_snapshot || !receiver_) {
    // The link went meanwhile: the store holds the copy; the next Hello says so.
    receiver_.reset();
    return;
  }
  if (!host_.journal_dir().empty()) {
    if (auto r = receiver_->apply_memory_events(host_.broker()); !r) {
      mirror_failed("initial sync: " + r.error().message);
      return;
    }
  }
  applied_ = receiver_->upto();
  receiver_.reset();
  TWINMQ_ASSERT(host_.broker().event_log().last() == applied_, "event log after the initial sync");
  attach_acker();
  // Without a journal, installing ran on this loop: that was no pause of the process.
  last_check_ms_ = last_received_ms_ = mono_ms();
  enter(State::awaiting_in_sync, "initial sync installed at seq " + std::to_string(applied_.value));
  // The snapshot is durable (its checkpoint was synced): acknowledge it, even at seq 0.
  writer_.applied(applied_, conn_->tcp_->output());
  sent();
  acked_ = applied_;
  if (conn_ != nullptr && !disk_paused_) {
    // The frames after SnapshotEnd: those the reader held, then the socket again.
    conn_->tcp_->resume_reading();
    conn_->release_held();
  }
}

void SlaveLink::on_events(const fbr::Events& e) {
  if (e.records() == nullptr) return;
  broker::Broker& broker = host_.broker();
  store::Journal* journal = host_.journal();
  for (const fbr::EventRecord* rec : *e.records()) {
    const Seq seq{rec->seq()};
    if (next_epoch_start_ < epoch_starts_.size() && !enter_epochs()) return;
    const auto type = static_cast<store::RecordType>(rec->type());
    if (type == store::RecordType::cancelled && seq > applied_) {
      // Seqs up to here carried a SEND consumed before the master wrote it, and its
      // removal: no state, no record (Journal::on_cancelled); the numbering goes on.
      const std::span<const std::byte> p = payload_of(*rec);
      std::uint64_t next_id = 0;
      for (std::size_t i = 0; i < p.size() && i < 8; ++i) next_id |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
      if (next_id > broker.next_message_id()) broker.set_next_message_id(next_id);
      if (journal != nullptr) journal->on_cancelled(seq);
      broker.event_log().reset_last(seq);
      applied_ = seq;
      continue;
    }
    if (seq.value != applied_.value + 1) {
      mirror_failed("sequence gap: expected seq " + std::to_string(applied_.value + 1) + ", received " +
                    std::to_string(seq.value));
      return;
    }
    if (!store::is_known_record_type(rec->type()) || !store::is_event_record(type)) {
      mirror_failed("event of unknown type " + std::to_string(rec->type()) + " at seq " + std::to_string(seq.value));
      return;
    }
    auto ev = decoder_.decode(type, payload_of(*rec));
    if (!ev) {
      mirror_failed("event at seq " + std::to_string(seq.value) + " does not decode: " + ev.error().message);
      return;
    }
    broker.apply(**ev);
    if (journal != nullptr) journal->on_replicated_event(seq, **ev, payload_of(*rec));
    broker.event_log().reset_last(seq);
    applied_ = seq;
  }
  master_last_ = std::max(master_last_, applied_);
  if (next_epoch_start_ < epoch_starts_.size() && !enter_epochs()) return;
  ack();
  check_disk_behind();
}

bool SlaveLink::enter_epochs() {
  store::Journal* journal = host_.journal();
  while (next_epoch_start_ < epoch_starts_.size() &&
         applied_.value + 1 >= epoch_starts_[next_epoch_start_].first_seq.value) {
    const EpochStart start = epoch_starts_[next_epoch_start_++];
    // Before the epoch's first record is journaled: the journal's next segment, like
    // the master's, begins with it and carries the new epoch.
    while (journal != nullptr && journal->epoch() < start.epoch) {
      if (auto r = journal->bump_epoch(); !r) {
        mirror_failed("cannot enter epoch " + std::to_string(start.epoch) + ": " + r.error().message);
        return false;
      }
    }
    spdlog::info("replication: this store enters epoch {} at seq {}, as the master's history did", start.epoch,
                 start.first_seq.value);
  }
  return true;
}

void SlaveLink::check_disk_behind() {
  store::Journal* journal = host_.journal();
  if (journal == nullptr || disk_paused_ || conn_ == nullptr || conn_->tcp_ == nullptr) return;
  if (journal->unwritten_bytes() <= kDiskBehindHigh) return;
  disk_paused_ = true;
  ++disk_pauses_;
  conn_->tcp_->pause_reading();
  const std::int64_t now = mono_ms();
  if (now - disk_logged_ms_ >= 10'000) {
    disk_logged_ms_ = now;
    spdlog::warn("[event=slave_disk_behind] replication: {} KiB wait for this slave's disk: not reading the link until "
                 "they are written (the master holds its clients meanwhile; {} such pauses so far)",
                 journal->unwritten_bytes() >> 10, disk_pauses_);
  }
  std::weak_ptr<SlaveLink*> alive = alive_;
  journal->notify_when_written_below(kDiskBehindLow, [alive] {
    if (auto self = alive.lock(); self && *self != nullptr) (*self)->disk_caught_up();
  });
}

void SlaveLink::disk_caught_up() {
  if (!disk_paused_) return;
  disk_paused_ = false;
  last_received_ms_ = mono_ms();  // we did not read; the master was not silent
  if (conn_ != nullptr && conn_->tcp_ != nullptr) conn_->tcp_->resume_reading();
}

// --- acknowledging ------------------------------------------------------------------

void SlaveLink::attach_acker() {
  detach_acker();
  acker_ = std::make_unique<Acker>(*this);
  acker_broker_ = &host_.broker();
  acker_id_ = acker_broker_->attach(*acker_, "twinmq.replication");
}

void SlaveLink::detach_acker() {
  if (acker_broker_ != nullptr) acker_broker_->detach(acker_id_);
  acker_broker_ = nullptr;
  acker_.reset();
}

void SlaveLink::on_released() { ack(); }

void SlaveLink::update_direct_ack() {
  store::Journal* journal = host_.journal();
  const bool wanted = state_ == State::streaming && conn_ != nullptr && conn_->tcp_ != nullptr && journal != nullptr;
  if (!wanted) {
    direct_ack_.stop();
    return;
  }
  if (direct_ack_.active()) return;
  // A TLS link has no side writer: the loop acknowledges, as before.
  if (auto side = conn_->tcp_->side_writer()) direct_ack_.start(*journal, std::move(side), ack_floor_, acked_);
}

void SlaveLink::ack() {
  if (conn_ == nullptr || (state_ != State::awaiting_in_sync && state_ != State::streaming)) return;
  broker::Broker& broker = host_.broker();
  // The slave's gate has one source, its journal: released() is what is durable (or,
  // without a journal, what is applied).
  const Seq durable = std::min(broker.reply_gate().released(), applied_);
  if (direct_ack_.active()) {
    // What the writer thread sent already is not sent again; a frame the socket took
    // only in part is finished by the connection's next flush (net/side_writer.h).
    acked_ = std::max(acked_, direct_ack_.sent());
    conn_->tcp_->commit_output();
  }
  if (durable > acked_ && durable >= ack_floor_) {
    writer_.applied(durable, conn_->tcp_->output());
    sent();
    acked_ = durable;
  }
  if (acked_ < applied_ && acker_broker_ == &broker) broker.reply_gate().wait(acker_id_);
}

// --- an old master rejoining with a forked tail ---------------------------------------

void SlaveLink::on_forked_tail(Seq fork, const std::string& why) {
  close_conn();
  spdlog::warn("replication: master {} says: {}", options_.master_uri, why);
  if (options_.discard_forked_tail) {
    leave_forked_tail(fork, true, "--discard-forked-tail: the operator accepts dropping them from this store");
    return;
  }
  store::Journal* j = host_.journal();
  if (options_.witness == nullptr || j == nullptr) {
    leave_forked_tail(fork, false, "no witness can show they were never confirmed");
    return;
  }
  enter(State::awaiting_connection, "asking the witness about the forked tail");
  options_.witness->promoted_since(j->epoch(), j->identity().id.to_string(),
                                   [this, fork](bool promoted, const std::string& because) {
                                     if (terminal()) return;
                                     leave_forked_tail(fork, promoted, because);
                                   });
}

void SlaveLink::leave_forked_tail(Seq fork, bool never_confirmed, const std::string& why) {
  auto salvaged = host_.salvage_forked_tail(fork);
  if (!salvaged) {
    mirror_failed("cannot salvage this store's events after seq " + std::to_string(fork.value) + ": " +
                  salvaged.error().message);
    return;
  }
  const std::string kept = salvaged->file.empty()
                               ? std::string("none of them left a message live (nothing to keep)")
                               : "the " + std::to_string(salvaged->messages) + " live message(s) are saved in " +
                                     salvaged->file;
  spdlog::warn("replication: this store holds {} event(s) after seq {} that the pair's history does not:\n{}{}",
               salvaged->events, fork.value, salvaged->listing, kept);
  if (!never_confirmed) {
    spdlog::error("[event=rejoin_refused] replication: NOT rejoining: {}, so they may have been confirmed to clients. This broker's data "
                  "directory is unchanged. Send the saved messages to the pair (`twinmq replay {} --to "
                  "failover:(...)`), then start it again with --rejoin ... --discard-forked-tail; or keep this "
                  "store and recover with twinmq-resync (README \"Recovering the pair\"). Exiting with code {}",
                  why, salvaged->file.empty() ? std::string("<file>") : salvaged->file, kExitRejected);
    enter(State::exited, "forked tail may hold confirmed work");
    host_.exit_process(kExitRejected, "rejoin refused: a forked tail that may hold confirmed work");
    return;
  }
  adopted_.reset();
  receiver_.reset();
  detach_acker();
  // Cut the store back to the fork: it is then a prefix of the master's history and
  // catches up from there, across the epoch boundary (handshake.h).
  auto cut = host_.cut_forked_tail(fork);
  if (!cut) {
    mirror_failed("cannot cut this store back to seq " + std::to_string(fork.value) + ": " + cut.error().message);
    return;
  }
  if (cut->cut) {
    spdlog::warn("replication: rejoining without them ({}); this store was cut back to seq {} and catches up from "
                 "there",
                 why, cut->last_seq.value);
    retry("rejoining from the fork");
    return;
  }
  spdlog::warn("[event=rejoin_full_copy] replication: rejoining without them ({}); this store cannot be cut back to "
               "the fork ({}): it attaches as an empty store and gets a full copy",
               why, cut->why_not);
  retry("rejoining as an empty store");
}

}  // namespace twinmq::replication
