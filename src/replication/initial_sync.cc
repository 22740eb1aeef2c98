// replication/initial_sync.cc — the snapshot's way out of the master and into the
// slave's store (design comment in replication/initial_sync.h).
#include "replication/initial_sync.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "base/clock.h"
#include "store/errors.h"
#include "store/record_format.h"

namespace twinmq::replication {

namespace {

// Progress lines at most this often (plus one at the end).
constexpr std::int64_t kProgressLogMs = 2000;
// The slave writes its checkpoint in pieces of this size, and syncs every kSyncEvery.
constexpr std::size_t kWriteChunk = 1u << 20;
constexpr std::uint64_t kSyncEvery = 32u << 20;

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1u << 20); }

int percent(std::uint64_t done, std::uint64_t total) {
  return total == 0 ? 100 : static_cast<int>(std::min<std::uint64_t>(100, done * 100 / total));
}

}  // namespace

// --- master side -----------------------------------------------------------------

SnapshotSender::SnapshotSender(broker::Snapshot snapshot, std::string slave)
    : snap_(std::move(snapshot)), cursor_(snap_), slave_(std::move(slave)) {}

bool SnapshotSender::pump(std::string& out, std::size_t budget) {
  const std::size_t start = out.size();
  if (!begun_) {
    begun_ = true;
    started_ms_ = last_log_ms_ = mono_ms();
    writer_.snapshot_begin(snap_.upto, snap_.messages.size(), snap_.structures(), snap_.body_bytes, out);
    spdlog::info("replication: initial sync to slave {} started: {} messages ({:.1f} MiB of bodies), {} "
                 "destinations and durable subscriptions, as of seq {}",
                 slave_, snap_.messages.size(), mib(snap_.body_bytes), snap_.structures(), snap_.upto.value);
  }
  broker::Event e;
  while (out.size() - start + batch_.bytes() < budget) {
    if (!cursor_.next(e)) {
      if (!batch_.empty()) batch_.finish_chunk(out);
      writer_.snapshot_end(snap_.upto, records_, snap_.next_message_id, out);
      bytes_ += out.size() - start;
      log_progress(true);
      return true;
    }
    batch_.add(snap_.upto, static_cast<std::uint16_t>(store::record_type_of(e)), encoder_.encode(e));
    ++records_;
    if (batch_.full()) batch_.finish_chunk(out);
  }
  if (!batch_.empty()) batch_.finish_chunk(out);
  bytes_ += out.size() - start;
  log_progress(false);
  return false;
}

void SnapshotSender::log_progress(bool done) {
  const std::int64_t now = mono_ms();
  const double secs = static_cast<double>(now - started_ms_) / 1000.0;
  if (done) {
    spdlog::info("replication: initial sync to slave {}: all {} messages sent ({} records, {:.1f} MiB) in {:.2f} s; "
                 "streaming from seq {}",
                 slave_, snap_.messages.size(), records_, mib(bytes_), secs, snap_.upto.value + 1);
    return;
  }
  if (now - last_log_ms_ < kProgressLogMs) return;
  last_log_ms_ = now;
  spdlog::info("replication: initial sync to slave {}: {}% ({}/{} messages, {:.1f} MiB sent) after {:.1f} s", slave_,
               percent(cursor_.messages_done(), snap_.messages.size()), cursor_.messages_done(),
               snap_.messages.size(), mib(bytes_), secs);
}

// --- slave side ------------------------------------------------------------------

Result<void> reset_store_directory(const std::string& dir, const store::StoreIdentity& identity) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return store::io_error("creating directory", dir, ec.value());
  std::vector<std::string> doomed;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (store::parse_file_name(name)) doomed.push_back(entry.path().string());
  }
  if (ec) return store::io_error("listing", dir, ec.value());
  for (const std::string& path : doomed)
    if (auto r = store::remove_file(path); !r) return r;
  if (auto r = store::save_identity(dir, identity); !r) return r;
  return store::sync_dir(dir);
}

Result<std::unique_ptr<SnapshotReceiver>> SnapshotReceiver::begin(const std::string& journal_dir,
                                                                  const store::StoreIdentity& identity,
                                                                  const fbr::SnapshotBegin& frame,
                                                                  broker::Broker& broker) {
  std::unique_ptr<SnapshotReceiver> r(new SnapshotReceiver());
  r->dir_ = journal_dir;
  r->identity_ = identity;
  r->upto_ = Seq{frame.upto_seq()};
  r->expected_messages_ = frame.messages();
  r->expected_bytes_ = frame.body_bytes();
  r->started_ms_ = r->last_log_ms_ = mono_ms();
  spdlog::info("replication: initial sync from master: {} messages ({:.1f} MiB of bodies), {} destinations and "
               "durable subscriptions, as of seq {}",
               frame.messages(), mib(frame.body_bytes()), frame.structures(), frame.upto_seq());
  if (journal_dir.empty()) {
    r->direct_ = &broker;
    return r;
  }
  // The journal is closed while the copy is written: keep other brokers out meanwhile.
  auto lock = store::DirLock::acquire(journal_dir);
  if (!lock) return std::unexpected(lock.error());
  r->lock_ = std::move(*lock);
  if (r->upto_ == Seq{0}) return r;  // the master has no state at all: nothing to write
  r->final_path_ = store::join_path(journal_dir, store::checkpoint_file_name(r->upto_));
  r->tmp_path_ = r->final_path_ + std::string(store::kTempSuffix);
  auto fd = store::open_file(r->tmp_path_, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd) return std::unexpected(fd.error());
  r->fd_ = std::move(*fd);
  store::FileHeader h;
  h.kind = store::FileKind::checkpoint;
  h.store_id = identity.id;
  h.epoch = identity.epoch;
  h.seq = r->upto_;
  h.created_ms = wall_ms();
  r->buf_.resize(store::kFileHeaderSize);
  store::encode_file_header(h, r->buf_.data());
  return r;
}

SnapshotReceiver::~SnapshotReceiver() {
  // An interrupted copy leaves a *.ckpt.tmp that recovery removes; remove it now.
  if (fd_ && !tmp_path_.empty()) std::remove(tmp_path_.c_str());
}

Result<void> SnapshotReceiver::write_out(bool sync) {
  if (!buf_.empty()) {
    if (auto r = store::write_at(fd_.get(), buf_, offset_, tmp_path_); !r) return r;
    offset_ += buf_.size();
    unsynced_ += buf_.size();
    buf_.clear();
  }
  if (sync || unsynced_ >= kSyncEvery) {
    if (auto r = store::sync_data(fd_.get(), tmp_path_); !r) return r;
    unsynced_ = 0;
  }
  return {};
}

Result<void> SnapshotReceiver::add(const fbr::EventRecord& record) {
  // A copy read from the master's journal carries each record at its own seq: in order,
  // none beyond the copy's (replication/journal_copy.h). A checkpoint holds them so.
  const Seq seq{record.seq()};
  if (seq > upto_ || seq < last_record_)
    return make_error(Errc::protocol, "snapshot record with seq " + std::to_string(record.seq()) + " after seq " +
                                          std::to_string(last_record_.value) + " in a snapshot at seq " +
                                          std::to_string(upto_.value));
  last_record_ = seq;
  const auto type = static_cast<store::RecordType>(record.type());
  if (!store::is_known_record_type(record.type()) || !store::is_event_record(type))
    return make_error(Errc::protocol, "snapshot record of unknown type " + std::to_string(record.type()));
  const std::span<const std::byte> payload = payload_of(record);
  auto ev = decoder_.decode(type, payload);
  if (!ev) return make_error(Errc::protocol, "snapshot record does not decode: " + ev.error().message);
  ++received_;
  if (const auto* m = std::get_if<broker::MessageEnqueued>(*ev)) {
    ++messages_;
    body_bytes_ += m->message->body().size();
  }
  if (direct_ != nullptr) {
    direct_->apply(**ev);
  } else if (broker::is_persistent(**ev)) {
    store::append_record(buf_, seq, 0, type, payload);
    ++written_;
    if (buf_.size() >= kWriteChunk)
      if (auto r = write_out(false); !r) return r;
  } else {
    held_.push_back(Held{record.type(), memory_.size(), payload.size()});
    memory_.insert(memory_.end(), payload.begin(), payload.end());
  }
  log_progress(false);
  return {};
}

Result<void> SnapshotReceiver::finish(const fbr::SnapshotEnd& frame) {
  if (Seq{frame.upto_seq()} != upto_ || frame.records() != received_)
    return make_error(Errc::protocol, "snapshot ended with " + std::to_string(frame.records()) + " records at seq " +
                                          std::to_string(frame.upto_seq()) + ", received " + std::to_string(received_) +
                                          " at seq " + std::to_string(upto_.value));
  if (direct_ != nullptr) {
    direct_->set_next_message_id(std::max(direct_->next_message_id(), frame.next_message_id()));
    direct_->event_log().reset_last(upto_);
  } else if (fd_) {
    store::CheckpointEnd end{frame.next_message_id(), written_};
    const auto payload = store::encode_checkpoint_end(end);
    store::append_record(buf_, upto_, 0, store::RecordType::checkpoint_end, payload);
    if (auto r = write_out(true); !r) return r;
    fd_.reset();
    if (std::rename(tmp_path_.c_str(), final_path_.c_str()) != 0)
      return store::io_error("renaming to " + final_path_, tmp_path_, errno);
    if (auto r = store::sync_dir(dir_); !r) return r;
  }
  lock_ = store::DirLock{};
  log_progress(true);
  return {};
}

Result<void> SnapshotReceiver::apply_memory_events(broker::Broker& broker) {
  for (const Held& h : held_) {
    auto ev = decoder_.decode(static_cast<store::RecordType>(h.type),
                              std::span<const std::byte>(memory_.data() + h.offset, h.length));
    if (!ev) return make_error(Errc::protocol, "snapshot record does not decode: " + ev.error().message);
    broker.apply(**ev);
  }
  held_.clear();
  std::vector<std::byte>().swap(memory_);
  return {};
}

void SnapshotReceiver::log_progress(bool done) {
  const std::int64_t now = mono_ms();
  const double secs = static_cast<double>(now - started_ms_) / 1000.0;
  if (done) {
    spdlog::info("replication: initial sync from master complete: {} messages ({:.1f} MiB), {} records ({} in "
                 "the journal checkpoint) in {:.2f} s",
                 messages_, mib(body_bytes_), received_, written_, secs);
    return;
  }
  if (now - last_log_ms_ < kProgressLogMs) return;
  last_log_ms_ = now;
  spdlog::info("replication: initial sync from master: {}% ({}/{} messages, {:.1f} MiB) after {:.1f} s",
               percent(messages_, expected_messages_), messages_, expected_messages_, mib(body_bytes_), secs);
}

}  // namespace twinmq::replication
