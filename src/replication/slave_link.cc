// replication/slave_link.cc — the slave's end of the link (design comment and states
// in replication/slave_link.h).
#include "replication/slave_link.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "auth/challenge.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "net/tcp_connection.h"
#include "replication/slave_conn.h"
#include "store/record_format.h"

namespace twinmq::replication {

namespace {

// A failure that keeps repeating is logged again at this interval.
constexpr std::int64_t kRepeatLogMs = 30'000;

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
  *alive_ = nullptr;
  close_conn();
  detach_acker();
}

void SlaveLink::enter(State next, std::string_view reason) {
  if (state_ == next) return;
  TWINMQ_ASSERT(!terminal(), "a terminal slave state cannot be left");
  spdlog::info("replication: link {} -> {} ({})", state_name(state_), state_name(next), reason);
  state_ = next;
  update_direct_ack();
  host_.link_changed();
}

void SlaveLink::start() {
  spdlog::info("replication: this broker is a slave of {}; its client connectors stay closed until it has mirrored "
               "the master and the master fails",
               options_.master_uri);
  timer_ = net::Timer::create(loop_);
  const std::uint64_t every =
      std::max<std::uint64_t>(10, std::min(options_.heart_beat_ms, options_.link_timeout_ms / 4) / 2);
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
  if (disk_paused_) {
    disk_paused_ = false;
    if (store::Journal* j = host_.journal()) j->notify_when_written_below(0, nullptr);
  }
  Conn* closing = std::exchange(conn_, nullptr);
  // The journal stops calling for a link that is gone (its SideWriter would refuse
  // anyway once the socket closes).
  update_direct_ack();
  if (closing != nullptr) closing->close();
}

// --- connecting -------------------------------------------------------------------

void SlaveLink::dial() {
  // No dialling while the witness decides a takeover: a Welcome would throw away the
  // state that the takeover would serve.
  // Nor while a copy is replayed on a worker: a new Welcome would discard that store.
  if (state_ != State::awaiting_connection || conn_ != nullptr || takeover_in_flight_ || installing_) return;
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
  if (options_.tls) conn_->tcp_->start_tls(tls::Engine::create(*options_.tls, options_.master_host));
}

void SlaveLink::on_connected(Conn& c, int status) {
  if (&c != conn_) return;
  if (status != 0) return;  // on_close follows with the reason
  c.connected_ = true;
  c.tcp_->set_watermarks(net::Watermarks{1u << 20, 256u << 10});
  last_received_ms_ = mono_ms();
  last_received_boot_ns_ = boot_ns();
  welcome_.reset();
  paused_ = false;
  planned_stop_ = false;
  send_hello();
  enter(State::awaiting_welcome, "connected to " + c.tcp_->peer());
}

void SlaveLink::send_hello() {
  const LocalStore local = describe_store(host_.journal(), adopted_);
  FrameWriter::Hello h;
  h.slave_name = options_.broker_name;
  h.user_name = options_.user_name;
  // The password never goes on the wire: with a user name, the master challenges and
  // the slave answers with a proof (on_challenge). Without one there is nothing to prove.
  h.wants_challenge = !options_.user_name.empty();
  challenged_ = false;
  h.persistent = options_.persistent;
  if (local.identity) {
    h.store_id = &local.identity->id;
    h.epoch = local.identity->epoch;
  }
  h.last_seq = local.last_seq;
  h.last_record_seq = local.record_seq;
  h.last_record_crc = local.record_crc;
  // Where the live state is: what a catch-up would continue from.
  h.applied_seq = host_.broker().event_log().last();
  h.sync_on_write = options_.sync_on_write;
  h.rejoin = options_.rejoin;
  h.takes_over = !options_.shutdown_on_master_failure;
  h.replication_listener = options_.replication_listener;
  h.non_persistent_live = host_.broker().holds_non_persistent();
  writer_.hello(h, conn_->tcp_->output());
  sent();
}

void SlaveLink::on_challenge(const fbr::Challenge& c) {
  const auto* nonce = c.nonce();
  if (challenged_ || options_.user_name.empty() || nonce == nullptr || nonce->size() != auth::kNonceSize) {
    link_lost("the master sent an unexpected Challenge (a second one, one not asked for, or a malformed nonce)");
    return;
  }
  challenged_ = true;
  // A crypt(3) call when the master keeps a hash (yescrypt: tens of milliseconds): the
  // loop waits for it, but before the Welcome this slave serves no one.
  auto key = auth::challenge_key(options_.password, c.setting() != nullptr ? c.setting()->string_view() : "");
  if (!key) {
    link_lost("cannot answer the master's challenge: " + key.error().message);
    return;
  }
  const auth::Proof proof =
      auth::challenge_proof(*key, std::span<const std::uint8_t>(nonce->data(), nonce->size()), options_.user_name);
  OPENSSL_cleanse(key->data(), key->size());
  writer_.proof(proof, conn_->tcp_->output());
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

// --- losing the master --------------------------------------------------------------

void SlaveLink::on_conn_closed(Conn& c, int status) {
  if (&c != conn_) return;
  conn_ = nullptr;
  update_direct_ack();
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
  const bool planned = std::exchange(planned_stop_, false);
  if (options_.witness != nullptr && !options_.shutdown_on_master_failure) {
    // The master may only look dead (a cut link): take over only by winning the key,
    // and never before this slave's promise to it ran out.
    const std::int64_t promise = static_cast<std::int64_t>(
        welcome_ && welcome_->link_timeout_ms != 0 ? welcome_->link_timeout_ms : options_.link_timeout_ms);
    eligible_ = true;
    takeover_not_before_ns_ = planned ? boot_ns() : last_received_boot_ns_ + promise * 1'000'000;
    takeover_note_.clear();
    next_takeover_ms_ = 0;
    const std::int64_t wait_ms = std::max<std::int64_t>(0, (takeover_not_before_ns_ - boot_ns()) / 1'000'000);
    spdlog::warn("[event=master_lost] replication: master {} lost while in sync ({}); this slave takes over only by winning the pair's "
                 "witness key (not before {} ms from now, once the master's lease is gone); meanwhile it keeps "
                 "dialling the master and stays closed",
                 options_.master_uri, reason, wait_ms);
    retry(reason);
    return;
  }
  if (options_.shutdown_on_master_failure) {
    spdlog::error(
        "[event=master_lost_exit] replication: master {} lost: {}; shutdownOnMasterFailure=\"true\": exiting with code {} without "
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

void SlaveLink::attempt_take_over() {
  takeover_in_flight_ = true;
  store::Journal* j = host_.journal();
  WitnessPort::TakeOver request{options_.broker_name, j != nullptr ? j->epoch() : 0};
  options_.witness->take_over(request, [this](WitnessPort::TakeOverOutcome outcome, const std::string& why) {
    takeover_in_flight_ = false;
    if (!eligible_ || terminal()) return;
    const std::int64_t now = mono_ms();
    next_takeover_ms_ = now + std::min<std::int64_t>(250, options_.heart_beat_ms);
    const bool repeat = why == takeover_note_ && now - takeover_note_logged_ms_ < kRepeatLogMs;
    takeover_note_ = why;
    switch (outcome) {
      case WitnessPort::TakeOverOutcome::won:
        eligible_ = false;
        promote("won the witness key (" + why + ")");
        return;
      case WitnessPort::TakeOverOutcome::not_eligible:
        eligible_ = false;
        spdlog::error("[event=not_eligible] replication: this slave may NOT take over: {}; it stays closed and keeps trying to re-attach "
                      "to its master (a catch-up where the master can prove it safe, else a full copy)",
                      why);
        return;
      case WitnessPort::TakeOverOutcome::held:
        if (!repeat) spdlog::info("replication: not taking over yet: {}", why);
        break;
      case WitnessPort::TakeOverOutcome::unreachable:
        if (!repeat)
          spdlog::warn("replication: cannot reach the witness ({}): this slave stays closed (it takes over only after "
                       "winning the key)",
                       why);
        break;
    }
    if (!repeat) takeover_note_logged_ms_ = now;
  });
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
  spdlog::warn("[event=promoted] replication: PROMOTED to master: {}; last applied seq {} (durable {}), store epoch {}, {} messages "
               "flagged redelivered; opening client connectors",
               why, applied_.value,
               host_.journal() != nullptr ? host_.journal()->last_durable_seq().value : applied_.value, epoch,
               flagged);
  host_.promote(why);
}

void SlaveLink::mirror_failed(const std::string& why) {
  if (terminal()) return;
  spdlog::error("[event=mirror_failed] replication: this slave cannot mirror master {}: {}", options_.master_uri, why);
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
  // master may have dropped us: then do not take over on this link — unless the link
  // stays up for another full master timeout, which a dropped link would not.
  if (gap > std::min<std::int64_t>(options_.link_timeout_ms, master_timeout) / 2) {
    const bool synced = state_ == State::awaiting_in_sync || state_ == State::streaming;
    if (conn_ != nullptr && synced && gap >= master_timeout - static_cast<std::int64_t>(options_.heart_beat_ms)) {
      paused_ = true;
      paused_at_ms_ = now;
      spdlog::warn("replication: this slave did not run for {} ms (paused?); the master may have dropped it", gap);
    }
    last_received_ms_ = now;
    return;
  }
  if (paused_ && now - paused_at_ms_ > 2 * master_timeout) {
    paused_ = false;
    spdlog::info("replication: the link to the master survived this slave's pause; it takes over again if the "
                 "master fails");
  }
  switch (state_) {
    case State::awaiting_connection:
      if (eligible_ && conn_ == nullptr && !takeover_in_flight_ && now >= next_takeover_ms_ &&
          boot_ns() >= takeover_not_before_ns_) {
        attempt_take_over();
        return;
      }
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
  // An eligible slave (its in-sync link was lost) gives a silent handshake only the
  // link timeout: a connection that opens but never answers (a cut link behind a proxy)
  // must not keep it from trying the witness.
  const bool syncing = (state_ == State::awaiting_welcome && !eligible_) || state_ == State::awaiting_snapshot;
  const std::int64_t limit = syncing ? sync_timeout_ms(options_.link_timeout_ms) : options_.link_timeout_ms;
  // Not reading is our choice (check_disk_behind, or installing the copy).
  if (disk_paused_ || installing_) last_received_ms_ = now;
  if (now - last_received_ms_ > limit) {
    link_lost("nothing heard from the master for " + std::to_string(now - last_received_ms_) +
              " ms (heart-beat timeout " + std::to_string(limit) + " ms)");
    return;
  }
  if (conn_ != nullptr && now - last_sent_ms_ >= options_.heart_beat_ms) {
    writer_.heartbeat(acknowledged(), conn_->tcp_->output());
    sent();
  }
}

LinkStatus SlaveLink::status() {
  LinkStatus s;
  s.role = role_.role();
  s.role_reason = role_.reason();
  s.role_since_ms = role_.since_ms();
  s.link_state = std::string(state_name(state_));
  s.peer = (welcome_ ? "master '" + welcome_->master_name + "' at " : std::string("master at ")) +
           options_.master_host + ":" + std::to_string(options_.master_port);
  s.last_seq = host_.broker().event_log().last();
  s.sent = applied_;
  s.applied = acknowledged();
  s.peer_last_seq = master_last_;
  s.peer_address = options_.master_host + ":" + std::to_string(options_.master_port);
  if (conn_ != nullptr && last_received_ms_ != 0) s.last_heard_ms_ago = mono_ms() - last_received_ms_;
  s.in_sync = state_ == State::streaming;
  if (state_ == State::awaiting_connection && !last_failure_.empty()) s.note = "cannot mirror: " + last_failure_;
  if (eligible_)
    s.note = "master lost while in sync: takes over once it wins the witness key" +
             (takeover_note_.empty() ? std::string() : " (last attempt: " + takeover_note_ + ")");
  return s;
}

}  // namespace twinmq::replication
