// replication/master_link.cc — the master's end of the link (design comment and
// states in replication/master_link.h).
#include "replication/master_link.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>

#include "base/assert.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "net/tcp_connection.h"
#include "auth/challenge.h"
#include "auth/password_check.h"
#include "replication/handshake.h"
#include "replication/pair_marker.h"
#include "store/record_format.h"

namespace twinmq::replication {

namespace {

// Snapshot bytes queued per pump, and never while the output is above its high mark.
constexpr std::size_t kSnapshotBudget = 256u << 10;

// The slave's own replication listener as this master can reach it: a wildcard host
// ("tcp://0.0.0.0:62001") is the address the slave's connection comes from.
std::string listener_as_seen(const std::string& listener, std::string_view peer_address) {
  constexpr std::string_view scheme = "tcp://";
  if (!listener.starts_with(scheme)) return listener;
  const std::string_view rest = std::string_view(listener).substr(scheme.size());
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return listener;
  const std::string_view host = rest.substr(0, colon);
  if (host != "0.0.0.0" && host != "::" && host != "[::]" && !host.empty()) return listener;
  std::string seen(auth::peer_host(peer_address));
  if (seen.find(':') != std::string::npos) seen = "[" + seen + "]";
  return std::string(scheme) + seen + std::string(rest.substr(colon));
}
// The slave connection's watermarks: above kBacklogHigh queued the master stops reading
// clients (MasterLink "Back-pressure"), below kBacklogLow (on_drained) it reads again.
constexpr std::size_t kBacklogHigh = 4u << 20;
constexpr std::size_t kBacklogLow = 1u << 20;

std::string close_reason(int status) {
  if (status == 0) return "closed";
  if (status == UV_EOF) return "the slave closed the connection";
  return std::string("connection error: ") + uv_strerror(status);
}

}  // namespace

// One TCP connection on the replication connector: a candidate until its Hello is
// accepted, then the slave. Self-owned: freed in on_close (the connection's last
// callback). The MasterLink forgets it there, or detaches it first when closing.
class MasterLink::Peer final : public net::ConnectionHandler {
 public:
  Peer(MasterLink* link, net::TcpConnection* conn)
      : link_(link), conn_(conn), reader_(kMaxSlaveFrame), connected_ms_(mono_ms()) {
    last_received_ms_ = last_sent_ms_ = connected_ms_;
  }

  void on_data(std::string_view bytes) override {
    if (link_ == nullptr || closing_) return;
    last_received_ms_ = mono_ms();
    auto r = reader_.feed(
        bytes, [this](const fbr::Frame& f) { return link_ != nullptr && !closing_ && link_->on_frame(*this, f); });
    if (!r && link_ != nullptr && !closing_)
      link_->drop(*this, fbr::RejectReason::other, std::string(errc_name(static_cast<Errc>(r.error().code))) + ": " +
                                                       r.error().message);
  }
  void on_drained() override {
    if (link_ != nullptr && !closing_) link_->on_drained(*this);
  }
  void on_close(int status) override {
    if (check_ != nullptr) check_->cancel();  // its answer then finds nobody to tell
    if (link_ != nullptr) link_->on_peer_closed(*this, status);
    delete this;
  }

  void close_now() {
    closing_ = true;
    conn_->close();
  }
  // Sends what is queued (a Reject, a Shutdown) and closes.
  void close_after_flush() {
    closing_ = true;
    conn_->close_after_flush(1000);
  }
  std::string describe() const { return name_.empty() ? conn_->peer() : "'" + name_ + "' at " + conn_->peer(); }

  MasterLink* link_;
  net::TcpConnection* conn_;
  FrameReader reader_;
  std::string name_;
  bool hello_seen_ = false;
  bool closing_ = false;
  // While its password is checked on a worker, or its Proof is awaited: the Hello, and
  // the check (self-owned).
  HelloInfo hello_;
  auth::PasswordCheck* check_ = nullptr;
  // After a Challenge (auth/challenge.h): its nonce, the key the Proof must be made
  // with, and whether the user exists (a decoy's key otherwise).
  std::optional<auth::Nonce> challenge_;
  std::string challenge_key_;
  bool challenge_known_ = false;
  std::int64_t connected_ms_;
  std::int64_t last_received_ms_;
  std::int64_t last_sent_ms_;
};

std::string_view MasterLink::state_name(State s) {
  switch (s) {
    case State::awaiting_slave: return "awaiting_slave";
    case State::sending_snapshot: return "sending_snapshot";
    case State::awaiting_catch_up: return "awaiting_catch_up";
    case State::streaming: return "streaming";
    case State::stopped: return "stopped";
  }
  return "unknown";
}

MasterLink::MasterLink(net::Loop& loop, broker::Broker& broker, store::Journal* journal, MasterOptions options,
                       Callbacks callbacks)
    : loop_(loop), broker_(broker), journal_(journal), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

MasterLink::~MasterLink() { close(); }

void MasterLink::enter(State next, std::string_view reason) {
  if (state_ == next) return;
  TWINMQ_ASSERT(state_ != State::stopped, "the stopped state is terminal");
  spdlog::info("replication: link {} -> {} ({})", state_name(state_), state_name(next), reason);
  state_ = next;
  update_backlog();
  if (callbacks_.on_state_change) callbacks_.on_state_change();
}

Result<void> MasterLink::open() {
  auto l = net::TcpListener::listen(loop_, options_.host, options_.port,
                                    [this](net::TcpListener& self) { accept(self); });
  if (!l) return std::unexpected(l.error());
  listener_ = std::move(*l);
  spdlog::info("connector 'replication' listening on {}{} (heart-beat {} ms, link timeout {} ms)", listener_->address(),
               options_.tls ? " (TLS, slave certificate required)" : "", options_.heart_beat_ms, options_.link_timeout_ms);
  std::printf("twinmq: listening replication %s\n", listener_->address().c_str());
  std::fflush(stdout);

  if (journal_ != nullptr) {
    journal_->set_durable_listener(&ack_watch_);
    watching_ = true;
  }
  hook_target_ = std::make_shared<MasterLink*>(this);
  loop_.add_prepare_hook([target = hook_target_] {
    if (*target != nullptr) (*target)->flush();
  }, static_cast<int>(broker::SinkOrder::replication));
  const std::uint64_t every =
      std::max<std::uint64_t>(10, std::min(options_.heart_beat_ms, options_.link_timeout_ms / 4) / 2);
  timer_ = net::Timer::create(loop_);
  last_check_ms_ = mono_ms();
  timer_->start(every, every, [this] { periodic(); });
  timer_->unref();
  broker_.event_log().add_sink(this, broker::SinkOrder::replication);
  sink_ = true;
  if (options_.minimum_replicas >= 1) {
    hold_receipts(broker_.event_log().last());
    spdlog::warn("replication: minimumReplicas=\"1\": receipts for persistent work are held until a slave is in sync");
  }
  if (options_.security == nullptr || !options_.security->users_configured())
    spdlog::warn("replication: no users are configured: any slave that reaches {} is accepted without credentials",
                 listener_->address());
  else if (options_.security->replication_group().empty())
    spdlog::warn("replication: no replicationGroup is configured: any user of <users> may attach as the slave and "
                 "receive a copy of every message (set replicationGroup on <broker>)");
  return {};
}

void MasterLink::accept(net::TcpListener& listener) {
  net::TcpConnection* conn = net::TcpConnection::accept(loop_, listener.stream(), nullptr);
  if (conn == nullptr) return;
  if (options_.tls) conn->start_tls(tls::Engine::create(*options_.tls));
  auto* peer = new Peer(this, conn);
  conn->set_handler(peer);
  conn->set_watermarks(net::Watermarks{kBacklogHigh, kBacklogLow});
  peers_.insert(peer);
  spdlog::info("replication: connection from {}", conn->peer());
}

bool MasterLink::on_frame(Peer& peer, const fbr::Frame& frame) {
  switch (frame.body_type()) {
    case fbr::Body::Hello:
      if (peer.hello_seen_) {
        drop(peer, fbr::RejectReason::other, "a second Hello on the same link");
        return false;
      }
      peer.hello_seen_ = true;
      on_hello(peer, HelloInfo::from(*frame.body_as_Hello()));
      return !peer.closing_;
    case fbr::Body::Proof:
      if (!peer.challenge_) break;
      on_proof(peer, *frame.body_as_Proof());
      return !peer.closing_;
    case fbr::Body::Applied:
      if (&peer != slave_) break;
      on_applied(Seq{frame.body_as_Applied()->seq()});
      return !peer.closing_;
    case fbr::Body::Heartbeat:
      if (&peer != slave_) break;
      // A slave's heart-beat restates its Applied position: when that is all we sent, it
      // is as good as an acknowledgement for "how long since the slave last confirmed
      // everything" (status, /metrics), even while no events flow.
      if (follow_ && Seq{frame.body_as_Heartbeat()->seq()} == applied_ && applied_ == sent_)
        last_applied_ms_ = mono_ms();
      if (const std::uint64_t echo = frame.body_as_Heartbeat()->echo(); echo != 0) on_echo(echo);
      return true;
    default:
      break;
  }
  drop(peer, fbr::RejectReason::other,
       std::string("unexpected ") + std::string(body_name(frame.body_type())) + " frame from " +
           (&peer == slave_ ? "the slave" : "a connection that has not been accepted"));
  return false;
}

RecordMatch MasterLink::record_at(Seq seq, std::uint32_t crc) const {
  if (journal_ == nullptr) return RecordMatch::unavailable;
  auto cursor = journal_->read_from(seq);
  if (!cursor) return RecordMatch::unavailable;
  auto rec = cursor->next();
  if (!rec || !*rec) return RecordMatch::unavailable;
  const store::RecordView& v = **rec;
  // No event record of ours at that seq (a non-persistent event here, a persistent one
  // there) is a difference too.
  if (v.seq != seq || !store::is_event_record(v.type)) return RecordMatch::mismatch;
  return crc32c(v.payload) == crc ? RecordMatch::match : RecordMatch::mismatch;
}

std::optional<Seq> MasterLink::record_after(Seq after, Seq upto) const {
  // The cursor reads only durable records: every record up to `upto` must be among them,
  // or one still in the writer's hands would go unseen.
  if (journal_ == nullptr || journal_->last_durable_seq() < upto) return std::nullopt;
  auto cursor = journal_->read_from(Seq{after.value + 1});
  if (!cursor) return std::nullopt;
  auto rec = cursor->next();
  if (!rec) return std::nullopt;
  if (!*rec || (*rec)->seq > upto) return Seq{0};
  return (*rec)->seq;
}

void MasterLink::on_hello(Peer& peer, const HelloInfo& hello) {
  peer.name_ = hello.slave_name;
  if (options_.witness != nullptr && !options_.witness->serving()) {
    const std::string why = "master '" + options_.broker_name +
                            "' is not serving (it does not hold the pair's witness key); it attaches no slave until "
                            "it serves again";
    spdlog::warn("[event=slave_refused reason=not_serving] replication: refused slave {}: not_serving: {}", peer.describe(), why);
    writer_.reject(fbr::RejectReason::not_serving, why, peer.conn_->output());
    peer.conn_->commit_output();
    peer.close_after_flush();
    return;
  }
  auth::Security* security = options_.security;
  if (security == nullptr || !security->users_configured()) {
    decide_hello(peer, hello, Credentials::not_required);
    return;
  }
  if (security->limiter().blocked_for(auth::peer_host(peer.conn_->peer()), mono_ms()) > 0) {
    decide_hello(peer, hello, Credentials::rate_limited);
    return;
  }
  if (hello.user_name.empty()) {
    security->limiter().failed(auth::peer_host(peer.conn_->peer()), mono_ms());
    decide_hello(peer, hello, Credentials::missing);
    return;
  }
  // A wrong user name costs what a wrong password costs (auth/security.h: the decoy).
  const auth::UserAccount* account = security->find(hello.user_name);
  const auth::StoredPassword& stored = account != nullptr ? account->password : security->decoy();
  if (hello.wants_challenge) {
    // The slave proves the password instead of sending it: a Challenge, then its Proof
    // (on_proof). No slow hash here: the slave computes it.
    peer.hello_ = hello;
    peer.challenge_ = auth::random_nonce();
    peer.challenge_key_ = auth::stored_key(stored);
    peer.challenge_known_ = account != nullptr;
    const std::string setting = account != nullptr ? auth::challenge_setting(stored)
                                                   : auth::unknown_user_setting(stored, hello.user_name);
    writer_.challenge(*peer.challenge_, setting, peer.conn_->output());
    peer.conn_->commit_output();
    return;
  }
  if (!peer.conn_->tls())
    spdlog::warn("[event=plaintext_replication_password] replication: slave {} sent its password in clear over "
                 "tcp:// (a twinmq slave older than the link's challenge-response): upgrade it, or use ssl://",
                 peer.describe());
  if (!stored.hashed()) {
    credentials_checked(peer, hello, account != nullptr && stored.verify(hello.password));
    return;
  }
  // A hash takes tens of milliseconds to check: on a worker, never on the loop.
  peer.hello_ = hello;
  peer.check_ = auth::PasswordCheck::start(loop_, stored, hello.password,
                                           [this, &peer, known = account != nullptr](bool ok) {
                                             peer.check_ = nullptr;
                                             if (peer.link_ == nullptr || peer.closing_) return;
                                             credentials_checked(peer, peer.hello_, known && ok);
                                           });
}

void MasterLink::on_proof(Peer& peer, const fbr::Proof& proof) {
  const auth::Proof expected = auth::challenge_proof(peer.challenge_key_, *peer.challenge_, peer.hello_.user_name);
  const auto* got = proof.proof();
  const bool ok = got != nullptr && got->size() == expected.size() &&
                  auth::same_secret(std::string_view(reinterpret_cast<const char*>(got->data()), got->size()),
                                    std::string_view(reinterpret_cast<const char*>(expected.data()), expected.size()));
  // One proof per challenge: a second Proof is an unexpected frame.
  peer.challenge_.reset();
  OPENSSL_cleanse(peer.challenge_key_.data(), peer.challenge_key_.size());
  peer.challenge_key_.clear();
  credentials_checked(peer, peer.hello_, peer.challenge_known_ && ok);
}

void MasterLink::credentials_checked(Peer& peer, const HelloInfo& hello, bool valid) {
  auth::Security& security = *options_.security;
  const std::string_view address = auth::peer_host(peer.conn_->peer());
  if (!valid) {
    security.limiter().failed(address, mono_ms());
    decide_hello(peer, hello, Credentials::wrong);
    return;
  }
  security.limiter().succeeded(address);
  const std::string& group = security.replication_group();
  const auth::UserAccount* account = security.find(hello.user_name);
  const bool member = group.empty() || (account != nullptr && auth::in_group(account->groups, group));
  decide_hello(peer, hello, member ? Credentials::accepted : Credentials::not_in_group);
}

void MasterLink::decide_hello(Peer& peer, const HelloInfo& hello, Credentials credentials) {
  MasterView view;
  view.name = options_.broker_name;
  view.credentials = credentials;
  if (options_.security != nullptr) view.replication_group = options_.security->replication_group();
  if (slave_ != nullptr) view.attached_slave = slave_->describe();
  view.shutting_down = state_ == State::stopped;
  view.persistent = journal_ != nullptr;
  view.sync_on_write = options_.sync_on_write;
  if (journal_ != nullptr) view.identity = journal_->identity();
  view.last_seq = broker_.event_log().last();
  view.record_at = [this](Seq s, std::uint32_t crc) { return record_at(s, crc); };
  view.last_seq_of_epoch = [this](std::uint64_t epoch) -> std::optional<Seq> {
    if (journal_ == nullptr) return std::nullopt;
    const auto& files = journal_->files().files();
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& f = files[i];
      if (f.kind != store::FileKind::segment || f.epoch <= epoch) continue;
      // The first segment of a newer epoch: the older one ended right before it, if
      // the journal still shows that older epoch's last segment.
      const bool shown = i > 0 && files[i - 1].kind == store::FileKind::segment && files[i - 1].epoch <= epoch;
      if (!shown) return std::nullopt;
      return Seq{f.seq.value - 1};
    }
    // No segment of a newer epoch yet (nothing journaled since the promotion): the older
    // epoch ends where the segments end.
    if (journal_->epoch() > epoch && !files.empty() && files.back().kind == store::FileKind::segment)
      return files.back().last;
    return std::nullopt;
  };
  const Decision d = decide(hello, view);
  if (!d.accepted) {
    spdlog::warn("[event=slave_refused] replication: refused slave {} (store seq {}, epoch {}): {}: {}", peer.describe(),
                 hello.last_seq.value, hello.epoch, reject_reason_name(d.reason), d.message);
    writer_.reject(d.reason, d.message, peer.conn_->output(), d.fork_seq);
    peer.conn_->commit_output();
    peer.close_after_flush();
    return;
  }
  slave_ = &peer;
  slave_facts_ = SlaveFacts{peer.describe(), hello.takes_over, listener_as_seen(hello.replication_listener, peer.conn_->peer())};
  ++slave_generation_;
  naming_ = false;
  attached_ms_ = mono_ms();
  if (!hello.sync_on_write)
    spdlog::warn("replication: slave {} does not say whether it fsyncs before confirming (an older twinmq): run "
                 "the same version on both brokers",
                 peer.describe());
  // The state as of now (this loop turn): a catch-up streams up to here from the
  // journal, a copy sends this cut. Only a copy needs the snapshot (a walk of every
  // message: about a second and 100 MiB for a million of them).
  const Seq upto = broker_.event_log().last();
  std::string full_copy_because = "this master keeps no journal";
  std::vector<EpochStart> epoch_starts;
  if (journal_ != nullptr) {
    CatchUpView v;
    v.journal = true;
    v.identity = journal_->identity();
    v.first_journaled = journal_->first_seq();
    v.retain_bytes = options_.retain_bytes;
    v.retain_ms = options_.retain_ms;
    v.last_unjournaled = journal_->last_unjournaled_seq();
    v.recovered_seq = journal_->recovered_seq();
    v.last_seq = upto;
    v.non_persistent_live = broker_.holds_non_persistent();
    v.record_at = [this](Seq s, std::uint32_t crc) { return record_at(s, crc); };
    v.record_after = [this](Seq after, Seq to) { return record_after(after, to); };
    for (const store::JournalFile& f : journal_->files().files())
      if (f.kind == store::FileKind::segment) {
        v.segments.push_back(SegmentEpoch{f.seq, f.epoch});
        v.segments_end = Seq{f.last.value + 1};
      }
    full_copy_because = why_full_copy(hello, v);
    if (full_copy_because.empty()) epoch_starts = epoch_starts_after(v, hello.applied_seq, hello.epoch);
  }
  const bool catch_up = full_copy_because.empty();
  if (catch_up && !epoch_starts.empty())
    spdlog::info("[event=rejoin_catch_up] replication: slave {} attached (twinmq {}, its store at seq {}, epoch {}); "
                 "it CATCHES UP ACROSS THE EPOCH BOUNDARY from seq {} to {} out of this master's journal (no copy): "
                 "epoch {} began at seq {}",
                 peer.describe(), hello.software_version, hello.last_seq.value, hello.epoch, hello.applied_seq.value,
                 upto.value, epoch_starts.back().epoch, epoch_starts.back().first_seq.value);
  else if (catch_up && hello.last_record_seq < hello.applied_seq)
    spdlog::info("replication: slave {} attached (twinmq {}, its store at seq {}, epoch {}); it CATCHES UP from seq "
                 "{} to {} out of this master's journal (no copy): its state went on past its last journaled record "
                 "(seq {}) only by SENDs consumed before written",
                 peer.describe(), hello.software_version, hello.last_seq.value, hello.epoch, hello.applied_seq.value,
                 upto.value, hello.last_record_seq.value);
  else if (catch_up)
    spdlog::info("replication: slave {} attached (twinmq {}, its store at seq {}, epoch {}); it CATCHES UP from seq "
                 "{} to {} out of this master's journal (no copy)",
                 peer.describe(), hello.software_version, hello.last_seq.value, hello.epoch, hello.applied_seq.value,
                 upto.value);
  else
    spdlog::info("{}replication: slave {} attached (twinmq {}, its store at seq {}, epoch {}); copying this master's "
                 "state as of seq {} to it (a full copy: {})",
                 hello.rejoin ? "[event=rejoin_full_copy] " : "", peer.describe(), hello.software_version,
                 hello.last_seq.value, hello.epoch, upto.value, full_copy_because);
  FrameWriter::Welcome w;
  w.master_name = options_.broker_name;
  store::StoreIdentity identity;
  if (journal_ != nullptr) {
    identity = journal_->identity();
    w.store_id = &identity.id;
    w.epoch = identity.epoch;
  }
  w.snapshot_seq = upto;
  w.heart_beat_ms = options_.heart_beat_ms;
  w.link_timeout_ms = options_.link_timeout_ms;
  if (catch_up) {
    w.catch_up_from = hello.applied_seq;
    w.epoch_starts = epoch_starts;
  }
  writer_.welcome(w, peer.conn_->output());
  // No compaction deletes what the copy or catch-up still reads, up to the events
  // after `upto` read back from the journal (released when the state is queued).
  if (journal_ != nullptr) copy_pin_ = journal_->pin_files();
  if (catch_up)
    sender_ = std::make_unique<JournalSender>(*journal_, hello.applied_seq, upto, peer.describe());
  else if (journal_ != nullptr)
    sender_ = std::make_unique<JournalCopySender>(loop_, *journal_, broker_.take_memory_snapshot(), peer.describe());
  else
    sender_ = std::make_unique<SnapshotSender>(broker_.take_snapshot(), peer.describe());
  sent_ = upto;
  copy_upto_ = upto;
  from_journal_ = false;
  copy_queued_ = false;
  applied_ = Seq{0};
  catch_up_target_ = Seq{0};
  waiting_since_ms_ = mono_ms();
  enter(State::sending_snapshot, "slave " + peer.describe() + " accepted");
  pump_snapshot();
}

void MasterLink::pump_snapshot() {
  if (slave_ == nullptr || !sender_) return;
  net::TcpConnection& c = *slave_->conn_;
  while (sender_ && !c.above_high_watermark()) {
    const std::size_t before = c.output().size();
    if (sender_->pump(c.output(), kSnapshotBudget)) {
      sender_.reset();
      copy_queued_ = true;
      if (from_journal_) {
        // The events of the copy's time come back out of the journal, up to now; the
        // ones after now are held back again (briefly) until that is queued.
        if (journal_->last_unjournaled_seq() > copy_upto_) {
          drop(*slave_, fbr::RejectReason::slave_dropped,
               "non-persistent events happened during the copy, which only memory held and memory did not keep; "
               "the slave gets a new copy");
          return;
        }
        const Seq now = broker_.event_log().last();
        batch_.clear();  // every event in it is at or before `now`: the journal has it
        sender_ = std::make_unique<JournalSender>(*journal_, copy_upto_, now, slave_->describe());
        copy_upto_ = now;
        from_journal_ = false;
        continue;
      }
      // The events that happened during the copy follow it, in order.
      c.output().append(deferred_);
      std::string().swap(deferred_);
      copy_pin_.release();
      enter(State::awaiting_catch_up, "state queued");
      // The slave may have acknowledged all it needs during the read-back already: no
      // other Applied may come while the master is idle.
      if (follow_ && applied_ >= catch_up_target_ && !naming_) become_in_sync();
    } else if (!sender_->failure().empty()) {
      const std::string why = sender_->failure();
      drop(*slave_, fbr::RejectReason::slave_dropped, why);
      return;
    } else if (c.output().size() == before) {
      break;  // waiting (for the journal's writer): again next loop turn
    }
  }
  send_control(*slave_);
}

void MasterLink::on_drained(Peer& peer) {
  if (&peer != slave_) return;
  if (state_ == State::sending_snapshot) pump_snapshot();
  update_backlog();
}

bool MasterLink::backlogged() const {
  if (slave_ == nullptr || slave_->closing_) return false;
  if (state_ == State::sending_snapshot) return !from_journal_ && deferred_.size() > options_.copy_memory;
  if (state_ != State::awaiting_catch_up && state_ != State::streaming) return false;
  // Hysteresis: held from the high watermark (which also arms on_drained) down to the
  // low one.
  return backlog_hold_ ? slave_->conn_->queued_bytes() >= kBacklogLow : slave_->conn_->above_high_watermark();
}

void MasterLink::update_backlog() {
  const bool hold = backlogged();
  if (hold == backlog_hold_) return;
  backlog_hold_ = hold;
  const std::int64_t now = mono_ms();
  if (hold) {
    backlog_since_ms_ = now;
    ++backlog_episodes_;
    // Under a steady overload this flips many times a second: say it once in a while.
    if (now - backlog_logged_ms_ >= 10'000) {
      backlog_logged_ms_ = now;
      spdlog::warn("[event=slave_behind] replication: {} KiB wait to be sent to slave {}: clients are not read until it "
                   "catches up (the slave's disk or network is slower than the load; {} such pauses, {} ms in all so far)",
                   (state_ == State::sending_snapshot ? deferred_.size() : slave_->conn_->queued_bytes()) >> 10,
                   slave_->describe(), backlog_episodes_, backlog_total_ms_);
    }
  } else {
    backlog_total_ms_ += now - backlog_since_ms_;
  }
  if (callbacks_.on_backlog) callbacks_.on_backlog(hold);
}

void MasterLink::on_applied(Seq seq) {
  // While events of the copy's time are read back from the journal (still
  // sending_snapshot), the slave has installed the copy and acknowledges what it
  // applies: up to what the read-back goes to (copy_upto_).
  const bool copy_out = state_ != State::sending_snapshot || copy_queued_;
  if (!copy_out || seq > (state_ == State::sending_snapshot ? copy_upto_ : sent_)) {
    drop(*slave_, fbr::RejectReason::slave_dropped,
         "the slave acknowledged seq " + std::to_string(seq.value) + ", which it has not been sent");
    return;
  }
  // The first Applied (the installed snapshot, possibly seq 0) always counts.
  if (follow_ && seq <= applied_) return;
  applied_ = seq;
  ack_watch_.acknowledged(seq);  // before the journal's reports are taken (slave_ack_watch.h)
  waiting_since_ms_ = last_applied_ms_ = mono_ms();
  while (!unacked_batches_.empty() && unacked_batches_.front().first <= seq) {
    unacked_bytes_ -= unacked_batches_.front().second;
    unacked_batches_.pop_front();
  }
  // What our own journal made durable meanwhile may not have woken us
  // (replication/slave_ack_watch.h): take it first, so this Applied releases it all.
  if (journal_ != nullptr) journal_->take_reports();
  broker::ReplyGate& gate = broker_.reply_gate();
  if (!follow_) {
    // The first Applied after the snapshot: from now on no reply passes the slave; it
    // is in sync once it covers every reply released without it.
    catch_up_target_ = std::max(gate.released(), gate.released_non_persistent());
    follow_ = gate.add_source(seq);
    ack_watch_.following(true);
    // The hold ends: persistent work up to `seq` is on the slave, later work waits for it.
    release_hold();
  } else if (gate.advance(*follow_, seq)) {
    broker_.notify_released();
  }
  if (state_ == State::awaiting_catch_up && applied_ >= catch_up_target_ && !naming_) become_in_sync();
}

void MasterLink::become_in_sync() {
  if (options_.witness == nullptr) {
    finish_in_sync();
    return;
  }
  // The slave may take over only once the witness names it: record that first, then
  // tell the slave (InSync). Meanwhile every reply already waits for it.
  if (naming_) return;
  naming_ = true;
  const std::uint64_t generation = slave_generation_;
  options_.witness->name_replica(slave_->name_, [this, generation](bool ok) {
    if (generation != slave_generation_ || slave_ == nullptr || state_ != State::awaiting_catch_up) return;
    naming_ = false;
    if (ok) finish_in_sync();
    // Not ok: this broker lost the key and is being fenced; witness_regained() retries.
  });
}

void MasterLink::witness_regained() {
  if (options_.witness == nullptr) return;
  if (slave_ == nullptr) {
    // The slave was lost while this broker could not clear it at the witness (etcd away,
    // then fenced): winning the key wrote a record without a replica, so the clear now
    // succeeds at once and the held receipts go. Without this they stayed held for good.
    if (state_ == State::awaiting_slave && clearing_replica_) {
      const LostSlave lost = *clearing_replica_;
      clear_replica_then_serve_alone(lost.who, lost.reason);
    }
    return;
  }
  if (state_ == State::awaiting_catch_up && applied_ >= catch_up_target_) {
    become_in_sync();
  } else if (state_ == State::streaming) {
    // Winning the key again wrote a record without a replica; the slave is still in sync.
    const std::uint64_t generation = slave_generation_;
    options_.witness->name_replica(slave_->name_, [this, generation](bool ok) {
      if (ok && generation == slave_generation_)
        spdlog::info("replication: slave {} named again as the replica at the witness", slave_->describe());
    });
  }
}

void MasterLink::on_echo(std::uint64_t echo) {
  // Only an in-sync slave's promise matters (only it could take over), and only one
  // about a probe we sent (its value is our boot clock at the time).
  if (state_ != State::streaming || options_.witness == nullptr) return;
  const auto sent = static_cast<std::int64_t>(echo);
  if (sent > boot_ns()) return;
  const std::int64_t promise = static_cast<std::int64_t>(options_.link_timeout_ms) * 1'000'000;
  options_.witness->promised_until(sent + promise - promise / 10);
}

void MasterLink::finish_in_sync() {
  const double secs = static_cast<double>(mono_ms() - attached_ms_) / 1000.0;
  spdlog::info("[event=slave_in_sync] replication: slave {} is IN SYNC at seq {} ({:.2f} s after it attached); every receipt now waits "
               "for it, and it takes over if this master fails",
               slave_->describe(), applied_.value, secs);
  enter(State::streaming, "slave in sync");
  writer_.in_sync(applied_, slave_->conn_->output());
  send_control(*slave_);
  if (journal_ != nullptr) {
    PairMarker m{journal_->identity(), slave_->describe(), wall_ms()};
    if (auto r = write_pair_marker(journal_->directory(), m); !r)
      spdlog::error("replication: cannot record the pairing in {}: {} (a restart of this master will not know that "
                    "its slave may have taken over)",
                    pair_marker_path(journal_->directory()), r.error().message);
  }
  if (callbacks_.on_in_sync) callbacks_.on_in_sync();
}

bool MasterLink::streams_events() const {
  return slave_ != nullptr &&
         (state_ == State::sending_snapshot || state_ == State::awaiting_catch_up || state_ == State::streaming);
}

bool MasterLink::can_cancel(Seq enqueued) const {
  // Not yet queued for the slave: the last record of the turn's batch (a batch that
  // filled up mid-turn went out already). With no slave getting events, nothing left.
  return !streams_events() || (!batch_.empty() && batch_.last() == enqueued);
}

void MasterLink::cancel(const broker::Cancellation& c) {
  if (!streams_events()) return;
  const bool dropped = batch_.drop_last(c.enqueued);
  TWINMQ_ASSERT(dropped, "the link asked to cancel an event it queued already");
  if (c.replacement != nullptr) {
    const auto journaled = journal_ != nullptr ? journal_->encoded(c.enqueued) : std::nullopt;
    batch_.add(c.enqueued, static_cast<std::uint16_t>(store::record_type_of(*c.replacement)),
               journaled ? *journaled : encoder_.encode(*c.replacement));
  }
  batch_.add_cancelled(c.removed, c.next_message_id);
  if (batch_.full()) finish_batch();
}

void MasterLink::on_event(Seq seq, const broker::Event& event) {
  if (streams_events()) {
    // The journal, the sink before us, usually has the very bytes already.
    const auto journaled = journal_ != nullptr ? journal_->encoded(seq) : std::nullopt;
    batch_.add(seq, static_cast<std::uint16_t>(store::record_type_of(event)),
               journaled ? *journaled : encoder_.encode(event));
    if (batch_.full()) finish_batch();
  }
}

void MasterLink::finish_batch() {
  if (batch_.empty() || slave_ == nullptr) return;
  const Seq last = batch_.last();
  if (state_ == State::sending_snapshot) {
    if (from_journal_) {
      batch_.clear();  // read back from the journal once the copy is out
      sent_ = last;
      return;
    }
    batch_.finish_events(deferred_);
    if (deferred_.size() > options_.copy_memory && journal_ != nullptr &&
        journal_->last_unjournaled_seq() <= copy_upto_) {
      spdlog::info("replication: more than {} KiB of events arrived during the copy to slave {}: they are read back "
                   "from the journal after it instead of held in memory",
                   options_.copy_memory >> 10, slave_->describe());
      std::string().swap(deferred_);
      from_journal_ = true;
    } else if (deferred_.size() > options_.max_backlog && pending_drop_.empty())
      pending_drop_ = "more than " + std::to_string(options_.max_backlog >> 20) +
                      " MiB of events arrived during the initial sync although clients were not read";
  } else {
    net::TcpConnection& c = *slave_->conn_;
    const std::size_t before = c.output().size();
    batch_.finish_events(c.output());
    const std::uint64_t bytes = c.output().size() - before;
    unacked_batches_.emplace_back(last, bytes);
    unacked_bytes_ += bytes;
    if (applied_ == sent_) waiting_since_ms_ = mono_ms();
    send_control(*slave_);
    if (c.queued_bytes() > options_.max_backlog && pending_drop_.empty())
      pending_drop_ = "the slave fell more than " + std::to_string(options_.max_backlog >> 20) +
                      " MiB behind although clients were not read";
  }
  sent_ = last;
  update_backlog();
}

void MasterLink::send_control(Peer& peer) {
  peer.conn_->commit_output();
  peer.last_sent_ms_ = mono_ms();
}

void MasterLink::hold_receipts(Seq position) {
  if (!hold_) hold_ = broker_.reply_gate().add_source(position, broker::ReplyGate::Gates::persistent_work);
}

void MasterLink::release_hold() {
  if (!hold_) return;
  broker_.reply_gate().remove_source(*hold_);
  hold_.reset();
  broker_.notify_released();
}

void MasterLink::flush() {
  if (!pending_drop_.empty()) {
    const std::string why = std::exchange(pending_drop_, {});
    if (slave_ != nullptr) drop(*slave_, fbr::RejectReason::slave_dropped, why);
  }
  finish_batch();
  if (state_ == State::sending_snapshot) pump_snapshot();
}

void MasterLink::periodic() {
  const std::int64_t now = mono_ms();
  // A check that comes late proves that this process was not running (SIGSTOP, a VM
  // pause), not that the peer was silent: let the I/O that waited be read first.
  const bool late = now - last_check_ms_ > static_cast<std::int64_t>(options_.link_timeout_ms) / 2;
  last_check_ms_ = now;
  std::vector<Peer*> all(peers_.begin(), peers_.end());
  for (Peer* p : all) {
    if (!peers_.contains(p) || p->closing_) continue;
    if (late) {
      p->last_received_ms_ = now;
      continue;
    }
    const std::int64_t silent = now - p->last_received_ms_;
    if (p != slave_) {
      if (silent > options_.link_timeout_ms)
        drop(*p, fbr::RejectReason::other,
             std::string(p->challenge_ ? "no Proof" : "no Hello") + " within " +
                 std::to_string(options_.link_timeout_ms) + " ms");
      continue;
    }
    // Until its first Applied the slave installs the copy (writes, syncs and replays a
    // checkpoint, blocking its loop): it gets longer, and nothing waits for it yet.
    const std::int64_t limit = follow_ ? options_.link_timeout_ms : sync_timeout_ms(options_.link_timeout_ms);
    if (silent > limit) {
      drop(*p, fbr::RejectReason::slave_dropped,
           "nothing heard from the slave for " + std::to_string(silent) + " ms (heart-beat timeout " +
               std::to_string(limit) + " ms)");
      continue;
    }
    if (follow_ && applied_ < sent_ && now - waiting_since_ms_ > options_.link_timeout_ms) {
      drop(*p, fbr::RejectReason::slave_dropped,
           "the slave acknowledged nothing for " + std::to_string(now - waiting_since_ms_) + " ms while " +
               std::to_string(sent_.value - applied_.value) + " events wait (applied up to seq " +
               std::to_string(applied_.value) + ")");
      continue;
    }
    if (options_.witness != nullptr && state_ == State::streaming) {
      // A probe every interval, busy or not: each echo renews the slave's promise.
      if (now - last_probe_ms_ >= options_.heart_beat_ms) {
        last_probe_ms_ = now;
        writer_.heartbeat(sent_, p->conn_->output(), static_cast<std::uint64_t>(boot_ns()));
        send_control(*p);
      }
    } else if (now - p->last_sent_ms_ >= options_.heart_beat_ms) {
      writer_.heartbeat(sent_, p->conn_->output());
      send_control(*p);
    }
  }
}

void MasterLink::drop(Peer& peer, fbr::RejectReason reason, const std::string& why) {
  if (peer.closing_) return;
  if (&peer != slave_) {
    spdlog::warn("replication: closing connection {}: {}", peer.describe(), why);
    peer.close_now();
    return;
  }
  spdlog::error("[event=slave_dropped] replication: dropping slave {}: {}", peer.describe(), why);
  // Tell it (best effort: a frozen slave will not read it), so that it does not take
  // over: its master is alive and applies its policy.
  peer.conn_->output().clear();
  writer_.reject(reason == fbr::RejectReason::other ? fbr::RejectReason::slave_dropped : reason,
                 "master '" + options_.broker_name + "' dropped this slave: " + why, peer.conn_->output());
  peer.conn_->commit_output();
  peer.close_after_flush();
  lose_slave(why);
}

void MasterLink::on_peer_closed(Peer& peer, int status) {
  peers_.erase(&peer);
  if (&peer == slave_) lose_slave(close_reason(status));
}

void MasterLink::lose_slave(const std::string& reason) {
  TWINMQ_ASSERT(slave_ != nullptr, "losing a slave that is not attached");
  const bool was_in_sync = state_ == State::streaming;
  const std::string who = slave_->describe();
  slave_ = nullptr;
  ++slave_generation_;
  naming_ = false;
  sender_.reset();
  copy_pin_.release();
  std::string().swap(deferred_);
  batch_.clear();
  update_backlog();  // nothing waits for a lost slave: clients are read again
  last_loss_ = reason;
  ++slave_losses_;
  unacked_batches_.clear();
  unacked_bytes_ = 0;
  last_applied_ms_ = 0;
  if (state_ == State::stopped) return;
  enter(State::awaiting_slave, "slave " + who + " lost: " + reason);
  if (options_.shutdown_on_slave_failure && was_in_sync) {
    // Replies stay held: nothing the slave has not confirmed is ever acknowledged.
    fatal_ = true;
    spdlog::error("[event=slave_lost_exit] replication: slave {} lost ({}); shutdownOnSlaveFailure=\"true\": stopping this master so the pair "
                  "never diverges (exit code {})",
                  who, reason, kExitSlaveLost);
    if (callbacks_.on_fatal) callbacks_.on_fatal("slave " + who + " lost: " + reason);
    return;
  }
  broker::ReplyGate& gate = broker_.reply_gate();
  if (options_.minimum_replicas >= 1) {
    // Persistent work stays held where the slave left it; other replies go.
    hold_receipts(follow_ ? applied_ : broker_.event_log().last());
    if (follow_) {
      gate.remove_source(*follow_);
      follow_.reset();
      ack_watch_.following(false);
      broker_.notify_released();
    }
    spdlog::error("replication: slave {} lost ({}); minimumReplicas=\"1\": receipts for persistent work are HELD "
                  "until a slave is back in sync (restart the slave; it re-attaches and resyncs)",
                  who, reason);
    return;
  }
  if (options_.witness != nullptr) {
    // Before anything is confirmed without the slave, the witness must stop naming it
    // as the replica: else it could take over later without what we confirmed alone.
    // Until then every reply stays held where the slave left it.
    spdlog::warn("replication: slave {} lost ({}); receipts stay held until the witness no longer names it as the "
                 "replica, then this master serves alone",
                 who, reason);
    clear_replica_then_serve_alone(who, reason);
    return;
  }
  serve_alone(who, reason);
}

void MasterLink::clear_replica_then_serve_alone(const std::string& who, const std::string& reason) {
  clearing_replica_ = LostSlave{who, reason};
  const std::uint64_t generation = slave_generation_;
  options_.witness->clear_replica([this, generation, who, reason](bool ok) {
    if (generation != slave_generation_ || state_ != State::awaiting_slave) return;
    if (!ok) {
      spdlog::error("replication: the witness could not be told that slave {} is gone: this broker does not hold "
                    "the key; receipts stay held until it wins the key again",
                    who);
      return;  // witness_regained() asks again
    }
    clearing_replica_.reset();
    serve_alone(who, reason);
  });
}

void MasterLink::serve_alone(const std::string& who, const std::string& reason) {
  if (follow_) {
    broker::ReplyGate& gate = broker_.reply_gate();
    gate.remove_source(*follow_);
    follow_.reset();
    ack_watch_.following(false);
    broker_.notify_released();
  }
  spdlog::error("[event=serving_alone] replication: slave {} lost ({}); this master now serves ALONE: receipts no longer wait for a copy "
                "(minimumReplicas=\"0\"). Restart the slave to re-attach it (it resyncs)",
                who, reason);
}

void MasterLink::shutdown(std::string_view reason) {
  if (state_ == State::stopped) return;
  if (slave_ != nullptr && (state_ == State::streaming || state_ == State::awaiting_catch_up)) {
    finish_batch();
    writer_.shutdown(reason, broker_.event_log().last(), slave_->conn_->output());
    send_control(*slave_);
    spdlog::info("replication: told slave {} that this master stops ({}); last seq {}", slave_->describe(), reason,
                 broker_.event_log().last().value);
  }
  enter(State::stopped, std::string(reason));
  listener_.reset();
  std::vector<Peer*> all(peers_.begin(), peers_.end());
  for (Peer* p : all)
    if (!p->closing_) p->close_after_flush();
}

void MasterLink::close() {
  if (watching_) {
    journal_->remove_durable_listener(&ack_watch_);
    watching_ = false;
  }
  if (sink_) {
    broker_.event_log().remove_sink(this);
    sink_ = false;
  }
  if (hook_target_) *hook_target_ = nullptr;
  timer_.reset();
  listener_.reset();
  for (Peer* p : peers_) {
    p->link_ = nullptr;
    if (!p->closing_) p->close_now();
  }
  peers_.clear();
  slave_ = nullptr;
}

std::optional<MasterLink::SlaveFacts> MasterLink::slave_facts() const {
  if (slave_ == nullptr) return std::nullopt;
  return slave_facts_;
}

LinkStatus MasterLink::status() const {
  LinkStatus s;
  s.role = Role::master;
  s.link_state = std::string(state_name(state_));
  if (slave_ != nullptr) {
    s.peer = "slave " + slave_->describe();
    s.peer_address = slave_->conn_->peer();
    s.last_heard_ms_ago = mono_ms() - slave_->last_received_ms_;
  }
  if (last_applied_ms_ != 0) s.last_ack_ms_ago = mono_ms() - last_applied_ms_;
  s.lag_bytes = unacked_bytes_;
  s.peer_losses = slave_losses_;
  s.last_seq = broker_.event_log().last();
  s.sent = sent_;
  s.applied = applied_;
  s.in_sync = state_ == State::streaming;
  s.behind_pauses = backlog_episodes_;
  s.behind_ms = backlog_total_ms_ + (backlog_hold_ ? mono_ms() - backlog_since_ms_ : 0);
  if (fatal_) {
    s.note = "slave lost with shutdownOnSlaveFailure: stopping";
  } else if (hold_) {
    s.note = "minimumReplicas=1: receipts for persistent work held until a slave is in sync";
  } else if (slave_ == nullptr && !last_loss_.empty()) {
    s.note = "serving alone since the slave was lost: " + last_loss_;
  }
  return s;
}

}  // namespace twinmq::replication
