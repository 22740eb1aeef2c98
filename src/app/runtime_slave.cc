// app/runtime_slave.cc — the Runtime as the SlaveLink's host (replication::SlaveHost):
// replacing the local state for an initial sync, taking over, exiting.
//
// An initial sync swaps the journal and the broker underneath the slave link: the old
// journal is closed and its files removed (the master proved in the handshake that the
// slave holds nothing it lacks), the store adopts the master's identity, a fresh broker
// takes the master's id prefix, and once the snapshot checkpoint is written the journal
// is opened again over it. No STOMP server exists yet on a slave, so nothing else holds
// a reference to the broker being replaced.
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "app/exit_codes.h"
#include "app/runtime.h"
#include "app/salvage_file.h"
#include "base/assert.h"
#include "base/clock.h"
#include "store/cut_tail.h"
#include "store/forked_tail.h"
#include "replication/initial_sync.h"
#include "store/dir_lock.h"

namespace twinmq::app {

Result<void> Runtime::discard_state(const std::optional<store::StoreIdentity>& identity) {
  if (journal_) {
    journal_->close();
    journal_.reset();
  }
  broker_.reset();
  if (config_.persistent) {
    if (!identity) return make_error(1, "no store identity to adopt");
    auto lock = store::DirLock::acquire(config_.journal.directory);
    if (!lock) return std::unexpected(lock.error());
    if (auto r = replication::reset_store_directory(config_.journal.directory, *identity); !r) return r;
    spdlog::info("replication: local store {} emptied; it now carries the master's identity {} (epoch {})",
                 config_.journal.directory, identity->id.to_string(), identity->epoch);
  }
  make_broker(identity);
  return {};
}

Result<void> Runtime::reopen_state() {
  auto journal = store::Journal::open(loop_, config_.journal, journal_options());
  if (!journal) return std::unexpected(journal.error());
  journal_ = std::move(*journal);
  auto report = journal_->start(*broker_);
  if (!report) return std::unexpected(report.error());
  return {};
}

namespace {

// The replay of a full copy's checkpoint on libuv's thread pool: a fresh journal over
// the checkpoint and a fresh broker it replays into, both touched by nobody else until
// the loop adopts them in after_work (so the broker's unsynchronised reference counts
// are only ever used by one thread at a time). Self-owned: freed in after_work.
class StateInstall {
 public:
  using Adopt = std::function<void(Result<std::pair<std::unique_ptr<store::Journal>, std::unique_ptr<broker::Broker>>>)>;
  StateInstall(net::Loop& loop, std::function<Result<std::unique_ptr<store::Journal>>()> open,
               std::unique_ptr<broker::Broker> broker, Adopt adopt)
      : open_(std::move(open)), broker_(std::move(broker)), adopt_(std::move(adopt)) {
    req_.data = this;
    const int rc = uv_queue_work(loop.uv(), &req_, &StateInstall::work, &StateInstall::after_work);
    TWINMQ_ASSERT(rc == 0, "uv_queue_work cannot fail with valid arguments");
  }

 private:
  static void work(uv_work_t* req) noexcept {
    auto* self = static_cast<StateInstall*>(req->data);
    auto journal = self->open_();
    if (!journal) {
      self->error_ = journal.error();
      return;
    }
    self->journal_ = std::move(*journal);
    if (auto r = self->journal_->recover(*self->broker_); !r) self->error_ = r.error();
  }
  static void after_work(uv_work_t* req, int) noexcept {
    std::unique_ptr<StateInstall> self(static_cast<StateInstall*>(req->data));
    if (self->error_) {
      self->adopt_(std::unexpected(*self->error_));
      return;
    }
    self->adopt_(std::make_pair(std::move(self->journal_), std::move(self->broker_)));
  }

  uv_work_t req_{};
  std::function<Result<std::unique_ptr<store::Journal>>()> open_;
  std::unique_ptr<broker::Broker> broker_;
  Adopt adopt_;
  std::unique_ptr<store::Journal> journal_;
  std::optional<Error> error_;
};

}  // namespace

void Runtime::reopen_state_async(std::function<void(Result<void>)> done) {
  auto identity = journal_ ? std::optional(journal_->identity()) : std::nullopt;
  if (!identity) {
    auto loaded = store::load_identity(config_.journal.directory);
    if (loaded && *loaded) identity = **loaded;
  }
  new StateInstall(
      loop_,
      [this] { return store::Journal::open(loop_, config_.journal, journal_options()); },
      new_broker(identity),
      [this, done = std::move(done)](auto installed) {
        if (!installed) {
          done(std::unexpected(installed.error()));
          return;
        }
        auto& [journal, broker] = *installed;
        if (stopping_) {
          done(make_error(1, "stopping"));
          return;  // the journal closes unattached; the broker goes with it
        }
        journal->attach();
        broker_ = std::move(broker);
        journal_ = std::move(journal);
        done({});
      });
}

void Runtime::promote(const std::string& reason) {
  if (stopping_) return;
  start_tick();
  if (!open_connectors("promoted: " + reason)) return;
  // A replication listener in the slave's configuration opens now: the old master can
  // rejoin as this broker's slave (twinmq --rejoin).
  if (const auto* c = replication_connector(config_)) open_master_link(*c);
}

void Runtime::exit_process(int code, const std::string& reason) { begin_shutdown(reason, code); }

Result<replication::SlaveHost::SalvagedTail> Runtime::salvage_forked_tail(Seq fork) {
  // The tail is read the way `twinmq salvage` reads it: from the stopped store, so
  // the journal lets go of it first (the full copy replaces it next anyway).
  std::uint64_t epoch = 0;
  if (journal_) {
    epoch = journal_->epoch();
    journal_->close();
    journal_.reset();
  }
  auto tail = store::read_forked_tail(config_.journal.directory, fork, /*keep_messages=*/true);
  if (!tail) return std::unexpected(tail.error());
  SalvagedTail out;
  out.events = tail->events;
  out.messages = tail->live;
  for (const auto& [name, d] : tail->destinations)
    out.listing += fmt::format("  {}: {} enqueued after the fork (seq {}..{}), {} still live; {} acknowledged, {} "
                               "removed\n",
                               name, d.enqueued, d.first_seq.value, d.last_seq.value, d.live, d.acked, d.removed);
  if (tail->live == 0) return out;
  const std::string path = fmt::format("{}/forked-tail-epoch{}-{}.salvage", config_.data_directory, epoch, wall_ms());
  if (auto w = write_salvage_file(path, *tail); !w) return std::unexpected(w.error());
  out.file = path;
  return out;
}

Result<replication::SlaveHost::CutTail> Runtime::cut_forked_tail(Seq fork) {
  // salvage_forked_tail() closed the journal; the broker still holds the tail's state.
  CutTail out;
  auto identity = store::load_identity(config_.journal.directory);
  if (!identity) return std::unexpected(identity.error());
  if (!*identity) return make_error(1, "the store in " + config_.journal.directory + " has no identity");
  auto cut = store::cut_after(config_.journal.directory, fork);
  if (!cut) return std::unexpected(cut.error());
  if (!cut->cut) {
    out.why_not = cut->why;
    return out;
  }
  spdlog::info("replication: this store is cut back to seq {} (the fork): {} segment(s) removed, {} bytes of its "
               "tail dropped; recovering it",
               fork.value, cut->segments_removed, cut->bytes_removed);
  broker_.reset();
  make_broker(**identity);
  if (auto r = reopen_state(); !r) return std::unexpected(r.error());
  out.cut = true;
  out.last_seq = broker_->event_log().last();
  return out;
}

}  // namespace twinmq::app
