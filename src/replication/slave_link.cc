// replication/slave_link.cc — the slave's end of the link (design comment and states
// in replication/slave_link.h).
#include "replication/slave_link.h"

#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "net/tcp_connection.h"
#include "replication/handshake.h"
#include "store/record_format.h"

namespace twinmq::replication {

namespace {

// A failure that keeps repeating is logged again at this interval.
constexpr std::int64_t kRepeatLogMs = 30'000;
// Retry delay after a transient Reject (another slave attached, master stopping).
constexpr std::uint32_t kRejectedRetryMs = 1000;

std::string close_reason(int status) {
  if (status == 0) return "link closed";
  if (status == UV_EOF) return "the master closed the connection";
  return std::string("connection error: ") + uv_strerror(status);
}

struct LocalStore {
  std::optional<store::StoreIdentity> identity;
  Seq last_seq;
  Seq record_seq;
  std::uint32_t record_crc = 0;
};

// Where the local store stands, for the Hello: its identity, last durable seq, and the
// seq and payload CRC of the last event record in its segments (newest segment first).
LocalStore describe_store(store::Journal* j, const std::optional<store::StoreIdentity>& adopted) {
  LocalStore s;
  if (j == nullptr) {
    s.identity = adopted;
    return s;
  }
  s.identity = j->identity();
  s.last_seq = j->last_durable_seq();
  const auto& files = j->files().files();
  for (auto it = files.rbegin(); it != files.rend() && s.record_seq == Seq{0}; ++it) {
    if (it->kind != store::FileKind::segment) continue;
    auto cursor = j->read_from(it->seq);
    if (!cursor) break;
    for (;;) {
      auto rec = cursor->next();
      if (!rec || !*rec) break;
      if (!store::is_event_record((*rec)->type)) continue;
      s.record_seq = (*rec)->seq;
      s.record_crc = crc32c((*rec)->payload);
    }
  }
  return s;
}

}  // namespace

// One connection attempt to the master. Self-owned: freed in on_close; the SlaveLink
// detaches it first when it lets go of it.
class SlaveLink::Conn final : public net::ConnectionHandler {
 public:
  explicit Conn(SlaveLink* link) : link_(link), reader_(kMaxMasterFrame) {}

  void on_connected(int status) override {
    if (link_ != nullptr) link_->on_connected(*this, status);
  }
  void on_data(std::string_view bytes) override {
    if (link_ == nullptr || closing_) return;
    auto r = reader_.feed(bytes, [this](const fbr::Frame& f) { return link_ != nullptr && !closing_ && link_->on_frame(*this, f); });
    if (!r && link_ != nullptr && !closing_)
      link_->on_read_error(*this, std::string(errc_name(static_cast<Errc>(r.error().code))) + ": " + r.error().message);
  }
  void on_close(int status) override {
    if (link_ != nullptr) link_->on_conn_closed(*this, status);
    delete this;
  }
  void close() {
    closing_ = true;
    link_ = nullptr;
    if (tcp_ != nullptr) tcp_->close();
  }

  SlaveLink* link_;
  net::TcpConnection* tcp_ = nullptr;
  FrameReader reader_;
  bool connected_ = false;
  bool closing_ = false;
};

class SlaveLink::Acker final : public broker::Client {
 public:
  explicit Acker(SlaveLink& link) : link_(link) {}
  bool can_accept() const override { return true; }
  void deliver(const broker::Delivery&) override {}  // it never subscribes
  void on_released(Seq) override { link_.on_released(); }

 private:
  SlaveLink& link_;
};

std::string_view SlaveLink::state_name(State s) {
  switch (s) {
    case State::awaiting_connection: return "awaiting_connection";
    case State::awaiting_welcome: return "awaiting_welcome";
    case State::awaiting_snapshot: return "awaiting_snapshot";
    case State::awaiting_in_sync: return "awaiting_in_sync";
    case State::streaming: return "streaming";
    case State::promoted: return "promoted";
    case State::exited: return "exited";
    case State::stopped: return "stopped";
  }
  return "unknown";
}

SlaveLink::SlaveLink(net::Loop& loop, SlaveHost& host, SlaveOptions options)
    : loop_(loop),
      host_(host),
      options_(std::move(options)),
      role_(Role::slave, "masterConnectorURI " + options_.master_uri) {}

SlaveLink::~SlaveLink() {
  close_conn();
  detach_acker();
}

void SlaveLink::enter(State next, std::string_view reason) {
  if (state_ == next) return;
  TWINMQ_ASSERT(!terminal(), "a terminal slave state cannot be left");
  spdlog::info("replication: link {} -> {} ({})", state_name(state_), state_name(next), reason);
  state_ = next;
}

void SlaveLink::start() {
  spdlog::info("replication: this broker is a slave of {}; its client connectors stay closed until it has mirrored "
               "the master and the master fails",
               options_.master_uri);
  timer_ = net::Timer::create(loop_);
  const std::uint64_t every = std::max<std::uint64_t>(10, std::min(options_.heart_beat_ms, options_.link_timeout_ms / 4) / 2);
  last_check_ms_ = mono_ms();
  timer_->start(every, every, [this] { periodic(); });
  dial();
}

void SlaveLink::close() {
  if (!terminal()) enter(State::stopped, "shutting down");
  close_conn();
  detach_acker();
  timer_.reset();
}

void SlaveLink::close_conn() {
  if (conn_ == nullptr) return;
  conn_->close();
  conn_ = nullptr;
}

// --- connecting -------------------------------------------------------------------

void SlaveLink::dial() {
  if (state_ != State::awaiting_connection || conn_ != nullptr) return;
  ++attempts_;
  attempt_started_ms_ = mono_ms();
  // Names resolve with getaddrinfo, which blocks: acceptable here, since a slave that
  // is not in sync serves nobody.
  auto addr = net::resolve(options_.master_host, options_.master_port);
  if (!addr) {
    retry(addr.error().message);
    return;
  }
  conn_ = new Conn(this);
  conn_->tcp_ = net::TcpConnection::connect(loop_, reinterpret_cast<const sockaddr*>(&*addr), conn_);
}

void SlaveLink::on_connected(Conn& c, int status) {
  if (&c != conn_) return;
  if (status != 0) return;  // on_close follows with the reason
  c.connected_ = true;
  c.tcp_->set_watermarks(net::Watermarks{1u << 20, 256u << 10});
  last_received_ms_ = mono_ms();
  welcome_.reset();
  paused_ = false;
  send_hello();
  enter(State::awaiting_welcome, "connected to " + c.tcp_->peer());
}

void SlaveLink::send_hello() {
  const LocalStore local = describe_store(host_.journal(), adopted_);
  FrameWriter::Hello h;
  h.slave_name = options_.broker_name;
  h.user_name = options_.user_name;
  h.password = options_.password;
  h.persistent = options_.persistent;
  if (local.identity) {
    h.store_id = &local.identity->id;
    h.epoch = local.identity->epoch;
  }
  h.last_seq = local.last_seq;
  h.last_record_seq = local.record_seq;
  h.last_record_crc = local.record_crc;
  writer_.hello(h, conn_->tcp_->output());
  sent();
}

void SlaveLink::sent() {
  if (conn_ == nullptr || conn_->tcp_ == nullptr) return;
  conn_->tcp_->commit_output();
  last_sent_ms_ = mono_ms();
}

void SlaveLink::retry(const std::string& reason, std::uint32_t at_least_ms) {
  close_conn();
  if (terminal()) return;
  if (state_ != State::awaiting_connection) enter(State::awaiting_connection, reason);
  backoff_ms_ = backoff_ms_ == 0 ? options_.min_backoff_ms : std::min(backoff_ms_ * 2, options_.max_backoff_ms);
  const std::uint32_t delay = std::max(backoff_ms_, at_least_ms);
  next_attempt_ms_ = mono_ms() + delay;
  const std::int64_t now = mono_ms();
  if (reason != last_failure_ || now - last_failure_log_ms_ >= kRepeatLogMs) {
    spdlog::warn("replication: cannot mirror master {}: {}; retrying every {} ms or less, client connectors stay "
                 "closed (attempt {})",
                 options_.master_uri, reason, options_.max_backoff_ms, attempts_);
    last_failure_ = reason;
    last_failure_log_ms_ = now;
  }
}

// --- frames -------------------------------------------------------------------------

bool SlaveLink::on_frame(Conn& c, const fbr::Frame& frame) {
  if (&c != conn_) return false;
  last_received_ms_ = mono_ms();
  const fbr::Body type = frame.body_type();
  switch (state_) {
    case State::awaiting_welcome:
      if (type == fbr::Body::Welcome) {
        on_welcome(*frame.body_as_Welcome());
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
        case fbr::Body::Heartbeat:
          master_last_ = std::max(master_last_, Seq{frame.body_as_Heartbeat()->seq()});
          return true;
        case fbr::Body::InSync:
          if (state_ != State::awaiting_in_sync) break;
          synced_ms_ = wall_ms();
          spdlog::info("replication: IN SYNC with master {} at seq {}: this slave takes over if the master fails "
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
  if (state_ == State::awaiting_welcome && !is_transient(reason) && reason != fbr::RejectReason::slave_dropped) {
    spdlog::error("replication: master {} REFUSED this slave ({}): {}", options_.master_uri, reject_reason_name(reason),
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
  spdlog::info("replication: attached to master '{}' (twinmq {}) at {}; replacing this slave's state with the "
               "master's as of seq {}",
               welcome_->master_name, welcome_->software_version, conn_->tcp_->peer(), welcome_->snapshot_seq.value);
  backoff_ms_ = 0;
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
    if (auto r = host_.reopen_state(); !r) {
      mirror_failed("cannot reopen the journal after the initial sync: " + r.error().message);
      return;
    }
    if (auto r = receiver_->apply_memory_events(host_.broker()); !r) {
      mirror_failed("initial sync: " + r.error().message);
      return;
    }
  }
  applied_ = receiver_->upto();
  receiver_.reset();
  TWINMQ_ASSERT(host_.broker().event_log().last() == applied_, "event log after the initial sync");
  attach_acker();
  // Installing blocked this loop: that was no pause of the process.
  last_check_ms_ = last_received_ms_ = mono_ms();
  enter(State::awaiting_in_sync, "initial sync installed at seq " + std::to_string(applied_.value));
  // The snapshot is durable (its checkpoint was synced): acknowledge it, even at seq 0.
  writer_.applied(applied_, conn_->tcp_->output());
  sent();
  acked_ = applied_;
}

void SlaveLink::on_events(const fbr::Events& e) {
  if (e.records() == nullptr) return;
  broker::Broker& broker = host_.broker();
  store::Journal* journal = host_.journal();
  for (const fbr::EventRecord* rec : *e.records()) {
    const Seq seq{rec->seq()};
    if (seq.value != applied_.value + 1) {
      mirror_failed("sequence gap: expected seq " + std::to_string(applied_.value + 1) + ", received " +
                    std::to_string(seq.value));
      return;
    }
    const auto type = static_cast<store::RecordType>(rec->type());
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
    if (journal != nullptr) journal->on_event(seq, **ev);
    broker.event_log().reset_last(seq);
    applied_ = seq;
  }
  master_last_ = std::max(master_last_, applied_);
  ack();
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

void SlaveLink::ack() {
  if (conn_ == nullptr || (state_ != State::awaiting_in_sync && state_ != State::streaming)) return;
  broker::Broker& broker = host_.broker();
  // The slave's gate has one source, its journal: released() is what is durable (or,
  // without a journal, what is applied).
  const Seq durable = std::min(broker.reply_gate().released(), applied_);
  if (durable > acked_) {
    writer_.applied(durable, conn_->tcp_->output());
    sent();
    acked_ = durable;
  }
  if (acked_ < applied_ && acker_broker_ == &broker) broker.reply_gate().wait(acker_id_);
}

// --- losing the master --------------------------------------------------------------

void SlaveLink::on_conn_closed(Conn& c, int status) {
  if (&c != conn_) return;
  conn_ = nullptr;
  if (!c.connected_) {
    retry("cannot connect to " + options_.master_host + ":" + std::to_string(options_.master_port) + ": " +
          (status == 0 ? std::string("closed") : std::string(uv_strerror(status))));
    return;
  }
  link_lost(close_reason(status));
}

void SlaveLink::link_lost(const std::string& reason) {
  if (terminal()) return;
  if (state_ == State::streaming) {
    if (paused_) {
      spdlog::error("replication: link to master lost ({}) after this slave was itself paused longer than the "
                    "master's link timeout: the master has dropped it and is alive; not taking over",
                    reason);
      receiver_.reset();
      retry(reason);
      return;
    }
    master_lost(reason);
    return;
  }
  if (state_ == State::awaiting_snapshot || state_ == State::awaiting_in_sync)
    spdlog::error("replication: link to master lost before this slave was in sync ({}); not taking over (it does "
                  "not hold everything clients were told is safe); reconnecting to resync",
                  reason);
  receiver_.reset();
  retry(reason);
}

void SlaveLink::master_lost(const std::string& reason) {
  close_conn();
  if (options_.shutdown_on_master_failure) {
    spdlog::error("replication: master {} lost: {}; shutdownOnMasterFailure=\"true\": exiting with code {} without "
                  "taking over; this slave's copy (applied up to seq {}) is kept in {}",
                  options_.master_uri, reason, kExitMasterFailed, applied_.value,
                  host_.journal_dir().empty() ? std::string("memory only (persistent=\"false\")") : host_.journal_dir());
    enter(State::exited, "master lost, shutdownOnMasterFailure");
    detach_acker();
    host_.exit_process(kExitMasterFailed, "master lost: " + reason);
    return;
  }
  promote(reason);
}

void SlaveLink::promote(const std::string& reason) {
  close_conn();
  detach_acker();
  enter(State::promoted, reason);
  const std::string why = "master " + options_.master_uri + " lost: " + reason;
  role_.enter(Role::promoted, why);
  std::uint64_t epoch = 0;
  if (store::Journal* j = host_.journal()) {
    if (auto e = j->bump_epoch(); e) {
      epoch = *e;
    } else {
      spdlog::error("replication: cannot start a new store epoch ({}); serving anyway — a later resync of the old "
                    "master must be done by the recovery procedure, never by attaching it as a slave",
                    e.error().message);
      epoch = j->epoch();
    }
  }
  const std::size_t flagged = host_.broker().mark_all_redelivered();
  spdlog::warn("replication: PROMOTED to master: {}; last applied seq {} (durable {}), store epoch {}, {} messages "
               "flagged redelivered; opening client connectors",
               why, applied_.value,
               host_.journal() != nullptr ? host_.journal()->last_durable_seq().value : applied_.value, epoch,
               flagged);
  host_.promote(why);
}

void SlaveLink::mirror_failed(const std::string& why) {
  if (terminal()) return;
  spdlog::error("replication: this slave cannot mirror master {}: {}", options_.master_uri, why);
  spdlog::error("replication: not taking over (its copy is incomplete); exiting with code {}: restart it to resync "
                "(if this repeats, master and slave run incompatible versions)",
                kExitMirrorFailed);
  close_conn();
  receiver_.reset();
  detach_acker();
  enter(State::exited, "cannot mirror");
  host_.exit_process(kExitMirrorFailed, "cannot mirror the master: " + why);
}

// --- the periodic check -------------------------------------------------------------

void SlaveLink::periodic() {
  const std::int64_t now = mono_ms();
  const std::int64_t gap = now - last_check_ms_;
  last_check_ms_ = now;
  if (terminal()) return;
  const std::int64_t master_timeout =
      welcome_ && welcome_->link_timeout_ms != 0 ? welcome_->link_timeout_ms : options_.link_timeout_ms;
  // A late check means this process did not run (SIGSTOP, a VM pause): the silence is
  // ours, not the master's. If it lasted about as long as the master's timeout, the
  // master has dropped us already: then never take over on this link.
  if (gap > std::min<std::int64_t>(options_.link_timeout_ms, master_timeout) / 2) {
    const bool synced = state_ == State::awaiting_in_sync || state_ == State::streaming;
    if (conn_ != nullptr && synced && gap >= master_timeout - static_cast<std::int64_t>(options_.heart_beat_ms)) {
      paused_ = true;
      spdlog::warn("replication: this slave did not run for {} ms (paused?); the master may have dropped it", gap);
    }
    last_received_ms_ = now;
    return;
  }
  switch (state_) {
    case State::awaiting_connection:
      if (conn_ == nullptr && now >= next_attempt_ms_) {
        dial();
      } else if (conn_ != nullptr && now - attempt_started_ms_ > options_.link_timeout_ms) {
        retry("no connection within " + std::to_string(options_.link_timeout_ms) + " ms");
      }
      return;
    default:
      break;
  }
  // The master takes its snapshot before it answers, and copies it at the pace of the
  // link: silence is tolerated longer until the copy is installed.
  const bool syncing = state_ == State::awaiting_welcome || state_ == State::awaiting_snapshot;
  const std::int64_t limit = syncing ? sync_timeout_ms(options_.link_timeout_ms) : options_.link_timeout_ms;
  if (now - last_received_ms_ > limit) {
    link_lost("nothing heard from the master for " + std::to_string(now - last_received_ms_) +
              " ms (heart-beat timeout " + std::to_string(limit) + " ms)");
    return;
  }
  if (conn_ != nullptr && now - last_sent_ms_ >= options_.heart_beat_ms) {
    writer_.heartbeat(acked_, conn_->tcp_->output());
    sent();
  }
}

LinkStatus SlaveLink::status() {
  LinkStatus s;
  s.role = role_.role();
  s.role_reason = role_.reason();
  s.role_since_ms = role_.since_ms();
  s.link_state = std::string(state_name(state_));
  s.peer = (welcome_ ? "master '" + welcome_->master_name + "' at " : std::string("master at ")) + options_.master_host +
           ":" + std::to_string(options_.master_port);
  s.last_seq = host_.broker().event_log().last();
  s.sent = applied_;
  s.applied = acked_;
  s.peer_last_seq = master_last_;
  s.in_sync = state_ == State::streaming;
  if (state_ == State::awaiting_connection && !last_failure_.empty()) s.note = "cannot mirror: " + last_failure_;
  return s;
}

}  // namespace twinmq::replication
