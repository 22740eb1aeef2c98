#include "store/journal.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "base/assert.h"
#include "base/clock.h"
#include "store/errors.h"
#include "store/fault_points.h"
#include "store/retention.h"

namespace twinmq::store {

namespace {

// Spent batch buffers kept for reuse; one larger than this is freed instead, so a
// burst does not pin its memory for good.
constexpr std::size_t kSpareBuffers = 4;
constexpr std::size_t kMaxSpareCapacity = 4u << 20;
// A failure that keeps happening is logged again at this interval.
constexpr std::int64_t kFailureLogIntervalMs = 30'000;

}  // namespace

Journal::Journal(net::Loop& loop, std::string dir, const config::JournalConfig& config,
                 const JournalOptions& options)
    : loop_(loop), dir_(std::move(dir)), config_(config), options_(options), files_(dir_) {
  compaction_floor_ = options_.compaction_min_bytes != 0 ? options_.compaction_min_bytes
                                                         : 4 * config_.max_segment_size;
}

Journal::~Journal() { close(); }

Result<std::unique_ptr<Journal>> Journal::open(net::Loop& loop, const config::JournalConfig& config,
                                               const JournalOptions& options) {
  if (config.directory.empty()) return make_error(Errc::bad_argument, "journal directory is not set");
  if (config.max_segment_size < kMinSegmentSize || config.max_segment_size > (1ull << 40))
    return make_error(Errc::bad_argument, "maxSegmentSize " + std::to_string(config.max_segment_size) +
                                              " is out of range (" + std::to_string(kMinSegmentSize) +
                                              " bytes .. 1 TiB)");
  if (auto r = arm_faults_from_env(); !r) return std::unexpected(r.error());
  std::error_code ec;
  std::filesystem::create_directories(config.directory, ec);
  if (ec) return io_error("creating directory", config.directory, ec.value());

  std::unique_ptr<Journal> j(new Journal(loop, config.directory, config, options));
  auto lock = DirLock::acquire(j->dir_);
  if (!lock) return std::unexpected(lock.error());
  j->lock_ = std::move(*lock);

  auto identity = load_identity(j->dir_);
  if (!identity) return std::unexpected(identity.error());
  if (*identity) {
    j->identity_ = **identity;
  } else {
    // A new store. If journal files are already here, the identity file was lost:
    // making up a new one would disown them, so refuse.
    for (const auto& entry : std::filesystem::directory_iterator(j->dir_, ec)) {
      if (parse_file_name(entry.path().filename().string()))
        return make_error(Errc::bad_identity, "data directory " + j->dir_ +
                                                  " holds journal files but no identity file");
    }
    j->identity_.id = StoreId::random();
    j->identity_.epoch = 0;
    if (auto r = save_identity(j->dir_, j->identity_); !r) return std::unexpected(r.error());
    spdlog::info("journal: created store {} in {}", j->identity_.id.to_string(), j->dir_);
  }
  return j;
}

void Journal::replay(Seq seq, const broker::Event& e, FileNo file, std::uint64_t offset,
                     std::uint32_t frame_bytes) {
  live_.apply(seq, e, file, offset, frame_bytes);
  broker_->set_store_usage(live_.live_bytes());
  broker_->apply(e);
  // Every replayed record is on disk: what passes the memory limit leaves memory as it
  // is replayed, so recovery never holds more than the limit of bodies (every
  // kReplayPageOutStride records: page_out looks at every queue).
  if (++replayed_ % kReplayPageOutStride == 0) broker_->page_out();
}

void Journal::replay_indexed(Seq seq, const broker::IndexedEnqueue& e, FileNo file, std::uint64_t offset,
                             std::uint32_t frame_bytes) {
  live_.apply_indexed(seq, e, file, offset, frame_bytes);
  broker_->set_store_usage(live_.live_bytes());
  broker_->apply_indexed(e);
  // Paged entries only here, but removals and dead-letter moves of resident messages
  // may still be replayed around them: the same stride as replay().
  if (++replayed_ % kReplayPageOutStride == 0) broker_->page_out();
}

Bodies Journal::recovery_bodies(const broker::Broker& broker) const {
  using RB = JournalOptions::RecoveryBodies;
  if (options_.recovery_bodies == RB::decode) return Bodies::decode;
  if (options_.recovery_bodies == RB::index_only) return Bodies::index_only;
  // A broker with a memoryUsage limit pages (the default limit is a quarter of the
  // machine's memory): its messages come back paged and the page reader fills each
  // queue from its head (attach). Without a limit nothing is ever paged, so every
  // message is built, as before.
  return broker.memory_stats().limit != 0 ? Bodies::index_only : Bodies::decode;
}

Result<RecoveryReport> Journal::start(broker::Broker& broker) {
  auto report = recover(broker);
  if (!report) return report;
  attach();
  return report;
}

Result<RecoveryReport> Journal::recover(broker::Broker& broker) {
  TWINMQ_ASSERT(!started_ && !closed_ && broker_ == nullptr, "journal started twice");
  broker_ = &broker;
  broker.set_page_store(this);
  recovering_ = true;
  recovered_bodies_ = recovery_bodies(broker);
  auto report = recover_store(dir_, identity_, *this, files_, RecoveryMode::repair,
                              RetainPolicy{options_.retain_bytes, options_.retain_ms}, recovered_bodies_);
  recovering_ = false;
  if (!report) {
    broker.set_page_store(nullptr);
    return std::unexpected(report.error());
  }
  covered_ = last_seen_ = assigned_ = durable_ = durable_record_ = recovered_ = report->last_seq;
  first_seq_ = report->first_seq;
  update_first_seq();
  // Which events were left out is read off the segments (skipped seqs, and every
  // transaction, whose record drops non-persistent parts); before them, unknown.
  last_unjournaled_ = std::max(report->last_unjournaled, Seq{first_seq_.value - 1});
  if (report->retained_segments != 0)
    spdlog::info("journal: {} segment(s) from seq {} to {} kept for a slave that is away (replicationRetainBytes={}, "
                 "replicationRetainPeriod={} ms)",
                 report->retained_segments, first_seq_.value, report->checkpoint_seq.value, options_.retain_bytes,
                 options_.retain_ms);
  next_message_id_ = std::max(report->next_message_id, live_.max_message_id() + 1);
  broker.set_next_message_id(next_message_id_);
  broker.event_log().reset_last(report->last_seq);
  if (JournalFile* tail = files_.tail(); tail != nullptr && tail->epoch != identity_.epoch) roll_requested_ = true;
  spdlog::info("journal {}: store {} epoch {}: replayed {} events ({} live messages{}) from {} files in {:.3f} s; "
               "seq {}..{}",
               dir_, identity_.id.to_string(), identity_.epoch, report->events, live_.live_messages(),
               recovered_bodies_ == Bodies::index_only ? ", index only: bodies stay on disk" : "",
               report->files.size(), report->seconds, report->first_seq.value, report->last_seq.value);
  if (report->truncated_bytes != 0)
    spdlog::warn("journal: torn tail truncated at {} (a write cut short by a crash; it was never acknowledged)",
                 report->truncation);
  for (const std::string& note : report->notes) spdlog::info("journal: {}", note);
  if (!config_.sync_on_write)
    spdlog::warn("journal: syncOnWrite=\"false\": writes are not fsync'd; a power cut can lose acknowledged messages");
  return report;
}

void Journal::attach() {
  TWINMQ_ASSERT(broker_ != nullptr && !started_ && !closed_, "journal attached before recover() or twice");
  broker::Broker& broker = *broker_;
  reports_ = net::AsyncQueue<WriterReport>::create(loop_, [this](std::vector<WriterReport>& v) { on_reports(v); });
  // Listeners keep the loop alive; the journal only ever answers work they caused.
  reports_->unref();
  reported_cover_ = recovered_;
  writer_ = std::make_unique<SyncThread>(dir_, config_.sync_on_write, config_.max_segment_size,
                                         options_.retry_interval, [this](WriterReport r) { report(std::move(r)); });
  writer_->start();
  hook_target_ = std::make_shared<Journal*>(this);
  loop_.add_prepare_hook([target = hook_target_] {
    if (*target != nullptr) (*target)->flush();
  }, net::Loop::kAfterFlush + static_cast<int>(broker::SinkOrder::journal));
  gate_source_ = broker.reply_gate().add_source(recovered_, broker::ReplyGate::Gates::persistent_work);
  broker.event_log().add_sink(this, broker::SinkOrder::journal);
  started_ = true;
  // Everything replayed is durable: what is still above the memory limit goes now.
  broker.page_out();
  // After an index-only recovery every queue is paged from its head: read the heads
  // back now (off the loop), so the first consumers need not wait for the disk.
  if (recovered_bodies_ == Bodies::index_only && live_.live_messages() != 0)
    broker.read_ahead_paged(live_.live_bytes() / live_.live_messages());
  maybe_compact();
}

// Every event the broker accepts fits a record the reader takes back (broker.h).
static_assert(kMaxRecordPayload >= broker::kMaxEventBytes, "an accepted event must fit one journal record");

Journal::Placed Journal::append(Seq seq, RecordType type, std::span<const std::byte> payload) {
  // Writing a record that recovery would cut as a torn tail (and acknowledging it)
  // loses data; the limits in broker.h make this unreachable, so it is a bug.
  TWINMQ_ASSERT(payload.size() <= kMaxRecordPayload, "a journal record larger than the reader accepts");
  // `skipped` is 32 bits; an absurdly long run of non-persistent events gets skip records.
  while (seq.value - covered_.value - 1 > UINT32_MAX) append(Seq{covered_.value + 1 + UINT32_MAX}, RecordType::skip, {});
  const std::size_t size = frame_size(payload.size());
  JournalFile* tail = files_.tail();
  bool opened = false;
  if (tail == nullptr || roll_requested_ ||
      (tail->size + size > config_.max_segment_size && tail->size > kFileHeaderSize)) {
    tail = &open_segment(Seq{covered_.value + 1});
    opened = true;
  }
  last_record_ = LastRecord{seq, type, tail->no, tail->size, tail->last, covered_, batch_.bytes.size(),
                            batch_.spans.size(), opened};
  if (batch_.spans.empty() || batch_.spans.back().file != tail->no) {
    FileSpan span;
    span.file = tail->no;
    span.path = tail->path;
    span.offset = tail->size;
    span.begin = span.end = batch_.bytes.size();
    batch_.spans.push_back(std::move(span));
  }
  const Placed placed{tail->no, tail->size, static_cast<std::uint32_t>(size)};
  append_record(batch_.bytes, seq, static_cast<std::uint32_t>(seq.value - covered_.value - 1), type, payload);
  batch_.spans.back().end = batch_.bytes.size();
  tail->size += size;
  tail->last = seq;
  covered_ = seq;
  ++records_;
  if (type == RecordType::message_enqueued) ++message_records_;
  return placed;
}

JournalFile& Journal::open_segment(Seq first) {
  roll_requested_ = false;
  JournalFile& f = files_.add(FileKind::segment, first, identity_.epoch, kFileHeaderSize);
  FileSpan span;
  span.file = f.no;
  span.path = f.path;
  span.create = true;
  span.offset = 0;
  span.begin = batch_.bytes.size();
  batch_.bytes.resize(span.begin + kFileHeaderSize);
  FileHeader h;
  h.kind = FileKind::segment;
  h.store_id = identity_.id;
  h.epoch = identity_.epoch;
  h.seq = first;
  h.created_ms = wall_ms();
  encode_file_header(h, batch_.bytes.data() + span.begin);
  span.end = batch_.bytes.size();
  f.durable_size = 0;
  batch_.spans.push_back(std::move(span));
  return f;
}

// False when the journal's record of `event` leaves part of it out (a non-persistent
// event, or the non-persistent sends and acks of a transaction).
static bool wholly_persistent(const broker::Event& event) {
  if (const auto* tx = std::get_if<broker::TransactionCommitted>(&event)) {
    for (const broker::MessageRef& m : tx->sends)
      if (!m->persistent()) return false;
    for (const broker::AckedMessage& a : tx->acks)
      if (!a.persistent) return false;
    return true;
  }
  return broker::is_persistent(event);
}

void Journal::on_event(Seq seq, const broker::Event& event) {
  TWINMQ_ASSERT(!closed_, "event for a closed journal");
  TWINMQ_ASSERT(seq > last_seen_, "journal given events out of order");
  last_seen_ = seq;
  if (!wholly_persistent(event)) last_unjournaled_ = seq;
  if (!broker::is_persistent(event)) return;
  const std::span<const std::byte> payload = encoder_.encode(event, /*persistent_only=*/true);
  if (!std::holds_alternative<broker::TransactionCommitted>(event)) {
    encoded_seq_ = seq;
    encoded_ = payload;
  }
  const Placed p = append(seq, record_type_of(event), payload);
  live_.apply(seq, event, p.file, p.offset, p.size);
  // storeUsage counts these live bytes (broker/limits.cc).
  broker_->set_store_usage(live_.live_bytes());
}

void Journal::on_replicated_event(Seq seq, const broker::Event& event, std::span<const std::byte> encoded) {
  if (std::holds_alternative<broker::TransactionCommitted>(event)) return on_event(seq, event);
  TWINMQ_ASSERT(!closed_, "event for a closed journal");
  TWINMQ_ASSERT(seq > last_seen_, "journal given events out of order");
  last_seen_ = seq;
  if (!wholly_persistent(event)) last_unjournaled_ = seq;
  if (!broker::is_persistent(event)) return;
  const Placed p = append(seq, record_type_of(event), encoded);
  live_.apply(seq, event, p.file, p.offset, p.size);
  // storeUsage counts these live bytes (broker/limits.cc).
  broker_->set_store_usage(live_.live_bytes());
}

bool Journal::can_cancel(Seq enqueued) const {
  // Not the first record of a segment: taking it back would leave a segment of a header
  // only, which no writer leaves otherwise (rare: once per segment).
  return started_ && !closed_ && last_seen_ == enqueued && last_record_ && last_record_->seq == enqueued &&
         last_record_->type == RecordType::message_enqueued && !last_record_->opened_segment;
}

void Journal::cancel(const broker::Cancellation& c) {
  TWINMQ_ASSERT(can_cancel(c.enqueued) && c.removed > c.enqueued, "journal asked to cancel a record it handed over");
  const LastRecord r = *last_record_;
  last_record_.reset();
  encoded_seq_ = Seq{0};
  // 1. The enqueue's record leaves the batch, as if it had never been laid out (a span
  //    opened for it goes too; can_cancel refused the first record of a segment).
  batch_.bytes.resize(r.batch_begin);
  batch_.spans.resize(r.spans);
  if (!batch_.spans.empty() && batch_.spans.back().end > r.batch_begin) batch_.spans.back().end = r.batch_begin;
  JournalFile* f = files_.find(r.file);
  TWINMQ_ASSERT(f != nullptr, "the cancelled record's file is gone");
  f->size = r.file_offset;
  f->last = r.file_last;
  covered_ = r.covered;
  --records_;
  --message_records_;
  // 2. The index forgets the message, as the removal would have made it.
  live_.apply(c.removed, c.removal, r.file, r.file_offset, 0);
  // 3. The SEND's duplicate-detection id is written in its place (the index's window
  //    has it already, from the enqueue).
  if (c.replacement != nullptr) {
    const std::span<const std::byte> payload = encoder_.encode(*c.replacement, /*persistent_only=*/true);
    append(c.enqueued, record_type_of(*c.replacement), payload);
    encoded_seq_ = c.enqueued;
    encoded_ = payload;
    last_record_.reset();
  }
  // 4. The removal's seq is seen; the next record's `skipped` covers what has no record.
  last_seen_ = c.removed;
  ++cancelled_;
  broker_->set_store_usage(live_.live_bytes());
}

void Journal::on_cancelled(Seq upto) {
  TWINMQ_ASSERT(!closed_, "event for a closed journal");
  TWINMQ_ASSERT(upto > last_seen_, "journal given events out of order");
  last_seen_ = upto;
  ++cancelled_;
}

void Journal::flush() {
  if (!batch_.bytes.empty()) {
    // The writer first: on a slave this is the receipt path (store/sync_thread.h).
    submit_batch();
    // Reports the writer queued without waking us (DurableListener), then: they
    // release what they cover, and their buffers come back (on_reports).
    reports_->drain();
    release_expired_segments();
    return;
  }
  reports_->drain();
  release_expired_segments();
  if (last_seen_ > assigned_) {
    // Only non-persistent events this turn: durable as soon as what precedes them is.
    assigned_ = last_seen_;
    if (inflight_.empty()) {
      advance_gate(last_seen_);
    } else {
      inflight_.back().cover = last_seen_;
    }
  }
}

void Journal::submit_batch() {
  last_record_.reset();  // handed over: no longer cancellable
  batch_.id = ++next_batch_id_;
  batch_.cover = last_seen_.value;
  const JournalFile* tail = files_.find(batch_.spans.back().file);
  inflight_.push_back(InFlight{batch_.id, last_seen_, covered_, tail->no, tail->size, batch_.bytes.size()});
  inflight_bytes_ += batch_.bytes.size();
  assigned_ = last_seen_;
  writer_->submit(std::move(batch_));
  ++batches_;
  batch_ = WriteBatch{};
  if (!spare_buffers_.empty()) {
    batch_.bytes = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
  }
}

void Journal::advance_gate(Seq s) {
  if (s <= durable_) return;
  durable_ = s;
  if (broker_->reply_gate().advance(gate_source_, s)) broker_->notify_released();
  // What became durable may leave memory (broker/page_store.h).
  broker_->page_out();
}

bool Journal::can_page_out(std::uint64_t id) const {
  const std::optional<Seq> seq = live_.enqueued_seq(id);
  return seq && (recovering_ || *seq <= durable_record_);
}

void Journal::page_in(std::string_view queue, std::span<const std::uint64_t> ids) {
  if (!page_reader_) {
    page_reader_ = std::make_unique<PageReader>(loop_, [this](PageAnswer& a) {
      if (!a.error.empty())
        spdlog::warn("journal: paging in '{}': {}", a.queue, a.error);
      broker_->paged_in(a.queue, a.ids, a.messages);
    });
  }
  PageRequest r;
  r.queue = std::string(queue);
  r.items.reserve(ids.size());
  for (std::uint64_t id : ids) {
    PageRequest::Item item{id, 0, 0, 0};
    if (auto loc = live_.locate(id)) {
      item.offset = loc->offset;
      item.file = loc->file;
      item.member = loc->member;
      if (std::none_of(r.paths.begin(), r.paths.end(), [&](const auto& p) { return p.first == loc->file; })) {
        if (const JournalFile* f = files_.find(loc->file)) r.paths.emplace_back(loc->file, f->path);
      }
    }
    r.items.push_back(item);
  }
  page_reader_->submit(std::move(r));
}

void Journal::on_durable(std::uint64_t batch_id) {
  Seq cover = durable_;
  bool any = false;
  while (!inflight_.empty() && inflight_.front().id <= batch_id) {
    const InFlight& f = inflight_.front();
    cover = f.cover;
    durable_record_ = f.last_record;
    files_.mark_durable(f.file, f.end);
    inflight_bytes_ -= f.bytes;
    inflight_.pop_front();
    any = true;
  }
  if (any) advance_gate(cover);
  if (written_waiter_ && unwritten_bytes() <= written_low_) {
    report_quietly_.store(true);  // the waiter may set another (notify_when_written_below)
    std::exchange(written_waiter_, nullptr)();
  }
}

void Journal::on_write_failed(const std::string& error) {
  const std::int64_t now = mono_ms();
  if (!refusing_) {
    refusing_ = true;
    refusal_ = "journal write failed: " + error;
    broker_->set_persistence_refusal(refusal_);
    last_failure_log_ms_ = now;
    spdlog::error("journal: {}; refusing persistent messages until a write succeeds (retrying every {} ms); "
                  "nothing after seq {} is acknowledged",
                  refusal_, options_.retry_interval.count(), durable_.value);
  } else if (now - last_failure_log_ms_ >= kFailureLogIntervalMs) {
    last_failure_log_ms_ = now;
    spdlog::error("journal: writes still failing: {}", error);
  }
}

void Journal::set_durable_listener(DurableListener* listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = listener;
}

void Journal::remove_durable_listener(DurableListener* listener) {
  std::lock_guard lock(listener_mu_);
  if (listener_ == listener) listener_ = nullptr;
}

void Journal::report(WriterReport r) {
  if (r.kind != WriterReport::Kind::durable) {
    reports_->push(std::move(r));
    return;
  }
  std::lock_guard lock(listener_mu_);
  const Seq from = std::exchange(reported_cover_, Seq{r.cover});
  if (listener_ == nullptr) {
    reports_->push(std::move(r));
    return;
  }
  const Seq cover{r.cover};
  // The listener first: a frame it sends should leave before the loop wakes up and
  // competes for the core.
  listener_->durable(cover);
  // Queued before the question, so that a wake-up the answer spares cannot be lost
  // (replication/slave_ack_watch.h "No lost wake-up").
  reports_->push(std::move(r), /*wake=*/false);
  if (!report_quietly_.load() || !listener_->loop_may_wait(from, cover)) reports_->wake();
}

void Journal::on_reports(std::vector<WriterReport>& reports) {
  for (WriterReport& r : reports) {
    switch (r.kind) {
      case WriterReport::Kind::durable:
        if (r.sync_ns != 0) fsync_latency_.record_ns(r.sync_ns);
        for (auto& b : r.buffers) {
          if (b.capacity() > kMaxSpareCapacity) continue;
          if (batch_.bytes.capacity() == 0) {
            // A batch handed over before this report came (flush()) left none.
            batch_.bytes = std::move(b);
          } else if (spare_buffers_.size() < kSpareBuffers) {
            spare_buffers_.push_back(std::move(b));
          }
        }
        on_durable(r.batch_id);
        if (refusing_) {
          refusing_ = false;
          refusal_.clear();
          broker_->set_persistence_refusal("");
          spdlog::info("journal: writes succeed again; accepting persistent messages (durable up to seq {})",
                       durable_.value);
        }
        break;
      case WriterReport::Kind::write_failed:
        on_write_failed(r.error);
        break;
      case WriterReport::Kind::compaction_done:
        on_compacted(*r.compaction);
        break;
      case WriterReport::Kind::compaction_failed:
        compacting_ = false;
        compaction_hold_until_ = files_.total_bytes() + compaction_floor_;
        spdlog::error("journal: compaction failed, old files kept: {}", r.error);
        break;
    }
  }
  maybe_compact();
}

void Journal::maybe_compact() {
  if (!options_.compaction || compacting_ || pins_ != 0 || refusing_ || closed_ || !started_) return;
  const std::uint64_t total = files_.total_bytes() - retained_bytes();
  const std::uint64_t live = live_.live_bytes();
  const std::uint64_t garbage = total > live ? total - live : 0;
  if (total < compaction_hold_until_ || garbage < std::max(compaction_floor_, live)) return;
  if (covered_.value == 0) return;

  // Everything up to covered_ goes to the writer before the job; the next record opens
  // a new segment starting at covered_ + 1.
  if (!batch_.bytes.empty()) submit_batch();
  auto job = std::make_unique<CompactionJob>();
  job->plan = live_.plan_checkpoint(covered_, std::max(next_message_id_, live_.max_message_id() + 1), encoder_);
  job->identity = identity_;
  job->dir = dir_;
  job->checkpoint_file = files_.reserve();
  // The newest segments that fit in retain_bytes (and retain_ms) stay for a slave that
  // was away (store/retention.h).
  const auto& all = files_.files();
  const std::size_t first_segment = files_.checkpoint() != nullptr ? 1 : 0;
  const std::size_t keep_from =
      first_segment + first_kept(
                          all.size() - first_segment, [&](std::size_t i) { return all[first_segment + i].size; },
                          [&](std::size_t i) { return written_ms(all[first_segment + i].path); },
                          RetainPolicy{options_.retain_bytes, options_.retain_ms}, wall_ms());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const JournalFile& f = all[i];
    job->sources.emplace(f.no, f.path);
    if (i >= keep_from) continue;
    job->obsolete.push_back(f.no);
    job->obsolete_paths.push_back(f.path);
  }
  spdlog::info("journal: compacting {} files ({} bytes, {} live messages in {} bytes) into a checkpoint at seq {}",
               files_.files().size(), total, live_.live_messages(), live, covered_.value);
  writer_->submit(std::move(job));
  roll_requested_ = true;
  compacting_ = true;
  compacting_upto_ = covered_;
}

void Journal::on_compacted(CompactionResult& r) {
  compacting_ = false;
  ++compactions_;
  const std::size_t stray = live_.relocate(r.checkpoint_file, r.relocations, r.obsolete);
  for (FileNo no : r.obsolete) files_.remove(no);
  files_.add(FileKind::checkpoint, r.upto, identity_.epoch, r.size, r.checkpoint_file);
  const Seq before = first_seq_;
  first_seq_ = Seq{r.upto.value + 1};
  update_first_seq();
  spdlog::info("journal: checkpoint {} written ({} records, {} messages, {} bytes; replaced {} bytes)",
               r.path, r.records, r.messages, r.size, r.bytes_before);
  if (options_.retain_bytes != 0 && first_seq_ > before)
    spdlog::info("journal: segments before seq {} released (kept for a slave that is away: the newest up to "
                 "replicationRetainBytes={}, written within replicationRetainPeriod={} ms); a slave that left before "
                 "seq {} needs a full copy",
                 first_seq_.value, options_.retain_bytes, options_.retain_ms, first_seq_.value - 1);
  if (!r.warning.empty()) spdlog::warn("journal: after compaction: {}", r.warning);
  TWINMQ_ASSERT(stray == 0, "compaction left live messages pointing into deleted files");
}

void Journal::close() {
  if (closed_) return;
  closed_ = true;
  if (!started_) return;
  // No page-in answer may reach the broker after this (store/page_reader.h).
  broker_->set_page_store(nullptr);
  page_reader_.reset();
  broker_->event_log().remove_sink(this);
  set_durable_listener(nullptr);
  // Account for trailing non-persistent seqs, so a restart continues numbering after them.
  if (last_seen_ > covered_ && !refusing_) append(last_seen_, RecordType::skip, {});
  if (!batch_.bytes.empty()) submit_batch();
  writer_->stop();
  // The writer's last reports may still sit in the queue: take its word directly.
  on_durable(writer_->durable_batch());
  if (inflight_.empty()) {
    broker_->reply_gate().remove_source(gate_source_);
  } else {
    spdlog::error("journal: {} batches could not be written before shut-down; their receipts stay held "
                  "(durable up to seq {})",
                  inflight_.size(), durable_.value);
  }
  *hook_target_ = nullptr;
  reports_.reset();
  lock_ = DirLock{};
  spdlog::info("journal {}: closed at seq {} (durable up to {})", dir_, last_seen_.value, durable_.value);
}

JournalStats Journal::stats() const {
  JournalStats s;
  s.records = records_;
  s.message_records = message_records_;
  s.cancelled = cancelled_;
  s.batches = batches_;
  if (writer_) {
    const SyncStats w = writer_->stats();
    s.write_groups = w.groups;
    s.syncs = w.syncs;
    s.bytes_written = w.bytes;
    s.write_failures = w.write_failures;
  }
  s.compactions = compactions_;
  s.files = files_.files().size();
  s.disk_bytes = files_.total_bytes();
  s.live_messages = live_.live_messages();
  s.live_bytes = live_.live_bytes();
  s.index_bytes = live_.message_table_bytes();
  return s;
}

Result<RecordCursor> Journal::read_from(Seq from) const {
  if (from < first_seq_) {
    return make_error(Errc::compacted, "the journal holds seqs from " + std::to_string(first_seq_.value) +
                                           " on; seq " + std::to_string(from.value) +
                                           " was compacted into a checkpoint: a full sync is needed");
  }
  std::vector<RecordCursor::Source> sources;
  for (const JournalFile& f : files_.files()) {
    if (f.kind != FileKind::segment || f.durable_size <= kFileHeaderSize || f.last < from) continue;
    auto fd = open_file(f.path, O_RDONLY);
    if (!fd) {
      // The writer deletes the files a checkpoint replaces right after it is durable,
      // before the loop hears of it: those seqs are compacted.
      if (compacting_ && f.last <= compacting_upto_)
        return make_error(Errc::compacted, "seq " + std::to_string(from.value) + " is being compacted into a "
                                           "checkpoint at seq " + std::to_string(compacting_upto_.value) +
                                           ": a full sync is needed");
      return std::unexpected(fd.error());
    }
    sources.push_back(RecordCursor::Source{f.path, std::move(*fd), f.durable_size});
  }
  return RecordCursor(std::move(sources), from, durable_record_);
}

Result<RecordCursor> Journal::read_all(Seq upto) const {
  TWINMQ_ASSERT(!compacting_, "reading the whole journal while a compaction may delete its files");
  TWINMQ_ASSERT(durable_ >= upto, "reading the whole journal beyond its durable position");
  std::vector<RecordCursor::Source> sources;
  const JournalFile* ckpt = files_.checkpoint();
  for (const JournalFile& f : files_.files()) {
    if (f.durable_size <= kFileHeaderSize) continue;
    if (f.kind == FileKind::segment && f.seq > upto) break;
    // A retained segment's events are in the checkpoint already.
    if (f.kind == FileKind::segment && ckpt != nullptr && f.last <= ckpt->seq) continue;
    auto fd = open_file(f.path, O_RDONLY);
    if (!fd) return std::unexpected(fd.error());
    sources.push_back(RecordCursor::Source{f.path, std::move(*fd), f.durable_size});
  }
  return RecordCursor(std::move(sources), Seq{0}, upto);
}

void Journal::update_first_seq() {
  // The oldest seq a catch-up can read: the first (retained) segment's, else C + 1.
  for (const JournalFile& f : files_.files()) {
    if (f.kind == FileKind::segment) {
      first_seq_ = std::min(first_seq_, f.seq);
      break;
    }
  }
}

void Journal::release_expired_segments() {
  if (options_.retain_ms == 0 || pins_ != 0 || compacting_ || closed_) return;
  const std::int64_t now = mono_ms();
  if (now - retain_checked_ms_ < 1000) return;
  retain_checked_ms_ = now;
  const JournalFile* ckpt = files_.checkpoint();
  if (ckpt == nullptr) return;
  const RetainPolicy policy{options_.retain_bytes, options_.retain_ms};
  const std::int64_t wall = wall_ms();
  std::vector<std::pair<FileNo, std::string>> gone;
  Seq released_to;
  for (const JournalFile& f : files_.files()) {
    if (f.kind != FileKind::segment || f.last > ckpt->seq) continue;
    if (!expired(written_ms(f.path), policy, wall)) break;  // newer ones are younger
    gone.emplace_back(f.no, f.path);
    released_to = f.last;
  }
  if (gone.empty()) return;
  // Out of the table first (read_from() no longer offers them), then off the disk: an
  // unlink of a closed segment is a metadata change (no data is written), once per
  // segment per retention period.
  for (const auto& [no, path] : gone) files_.remove(no);
  first_seq_ = Seq{ckpt->seq.value + 1};
  update_first_seq();
  for (const auto& [no, path] : gone)
    if (auto r = remove_file(path); !r) spdlog::warn("journal: {} (removed at the next start)", r.error().message);
  spdlog::info("journal: released {} segment(s) kept for a slave that is away, up to seq {}: last written more than "
               "replicationRetainPeriod={} ms ago; a slave that left before seq {} needs a full copy",
               gone.size(), released_to.value, options_.retain_ms, first_seq_.value - 1);
}

std::uint64_t Journal::retained_bytes() const {
  const JournalFile* ckpt = files_.checkpoint();
  if (ckpt == nullptr) return 0;
  std::uint64_t n = 0;
  for (const JournalFile& f : files_.files())
    if (f.kind == FileKind::segment && f.last <= ckpt->seq) n += f.size;
  return n;
}

void Journal::FilePin::release() {
  if (journal_ == nullptr) return;
  Journal* j = std::exchange(journal_, nullptr);
  TWINMQ_ASSERT(j->pins_ > 0, "a journal file pin released twice");
  // The compaction it held off may be due: check now, not at the next write.
  if (--j->pins_ == 0) j->maybe_compact();
}

Result<std::uint64_t> Journal::bump_epoch() {
  StoreIdentity next = identity_;
  ++next.epoch;
  if (auto r = save_identity(dir_, next); !r) return std::unexpected(r.error());
  identity_ = next;
  roll_requested_ = true;
  spdlog::info("journal: store {} entered epoch {}", identity_.id.to_string(), identity_.epoch);
  return identity_.epoch;
}

}  // namespace twinmq::store
