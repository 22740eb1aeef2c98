// replication/journal_copy.cc — the full copy out of the journal's files (design
// comment in replication/journal_copy.h).
#include "replication/journal_copy.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "base/clock.h"
#include "store/record_format.h"

namespace twinmq::replication {

namespace {

// Progress lines at most this often (plus one at the end), like the snapshot copy's.
constexpr std::int64_t kProgressLogMs = 2000;

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1u << 20); }

}  // namespace

JournalCopySender::JournalCopySender(net::Loop& loop, const store::Journal& journal, broker::Snapshot memory,
                                     std::string slave)
    : loop_(loop),
      journal_(journal),
      memory_(std::move(memory)),
      memory_cursor_(memory_),
      slave_(std::move(slave)),
      created_ms_(mono_ms()) {}

JournalCopySender::~JournalCopySender() {
  {
    std::lock_guard lock(shared_.mu);
    shared_.stop = true;
  }
  shared_.room.notify_all();
  if (reader_.joinable()) reader_.join();
  // Only now: the reader pushed to it until it was joined (net/async_queue.h).
  wake_.reset();
}

bool JournalCopySender::start(std::string& out) {
  // The records up to S may still be in the journal's writer, and a running compaction
  // may delete files the table lists (the MasterLink's pin keeps a new one from
  // starting): wait, a loop turn at a time, as the catch-up does.
  if (journal_.last_durable_seq() < upto()) return false;
  if (journal_.compacting()) {
    if (!waiting_logged_) {
      waiting_logged_ = true;
      spdlog::info("replication: initial sync to slave {} waits for the journal's running compaction to finish "
                   "before it reads the files",
                   slave_);
    }
    return false;
  }
  auto cursor = journal_.read_all(upto());
  if (!cursor) {
    failure_ = "cannot read the journal up to seq " + std::to_string(upto().value) + " for the copy: " +
               cursor.error().message;
    return false;
  }
  started_ = true;
  started_ms_ = last_log_ms_ = mono_ms();
  const store::JournalStats js = journal_.stats();
  expected_messages_ = js.live_messages + memory_.messages.size();
  writer_.snapshot_begin(upto(), expected_messages_, memory_.structures(), js.live_bytes + memory_.body_bytes, out);
  spdlog::info("replication: initial sync to slave {} started: this master's journal up to seq {} ({} files, {:.1f} "
               "MiB on disk, {} live messages) read from disk, then {} non-persistent messages from memory{}",
               slave_, upto().value, js.files, mib(js.disk_bytes), js.live_messages, memory_.messages.size(),
               created_ms_ + 100 < started_ms_
                   ? " (after waiting " + std::to_string(started_ms_ - created_ms_) + " ms for the journal)"
                   : std::string());
  wake_ = net::AsyncQueue<char>::create(loop_, [](std::vector<char>&) {
    // Nothing to do here: the wake-up alone makes the loop run its prepare hook, where
    // the MasterLink pumps (never free or re-enter from inside this callback).
  });
  wake_->unref();
  reader_ = std::thread([this, c = std::move(*cursor)]() mutable { read_journal(std::move(c)); });
  return true;
}

// --- reader thread ---------------------------------------------------------------

bool JournalCopySender::hand_over(std::string& chunk) {
  {
    std::unique_lock lock(shared_.mu);
    shared_.room.wait(lock, [&] { return shared_.stop || shared_.ready.size() < kMaxChunks; });
    if (shared_.stop) return false;
    shared_.ready.push_back(std::move(chunk));
  }
  chunk = std::string();
  chunk.reserve(kChunkBytes + (kChunkBytes >> 2));
  wake_->push(0);
  return true;
}

void JournalCopySender::read_journal(store::RecordCursor cursor) {
  EventBatch batch;
  std::string chunk;
  chunk.reserve(kChunkBytes + (kChunkBytes >> 2));
  std::uint64_t records = 0, bytes = 0;
  std::string error;
  for (;;) {
    auto rec = cursor.next();
    if (!rec) {
      error = "journal read failed during the copy: " + rec.error().message;
      break;
    }
    if (!*rec) break;
    const store::RecordView& r = **rec;
    bytes += store::frame_size(r.payload.size());
    // Skip records and the checkpoint's end carry no event; everything else is one.
    if (!store::is_event_record(r.type)) continue;
    batch.add(r.seq, static_cast<std::uint16_t>(r.type), r.payload);
    ++records;
    if (batch.full()) batch.finish_chunk(chunk);
    if (chunk.size() >= kChunkBytes) {
      {
        std::lock_guard lock(shared_.mu);
        shared_.bytes = bytes;
      }
      if (!hand_over(chunk)) return;
    }
  }
  if (error.empty() && !batch.empty()) batch.finish_chunk(chunk);
  if (error.empty() && !chunk.empty() && !hand_over(chunk)) return;
  {
    std::lock_guard lock(shared_.mu);
    shared_.done = true;
    shared_.error = std::move(error);
    shared_.records = records;
    shared_.bytes = bytes;
  }
  wake_->push(0);
}

// --- loop thread -----------------------------------------------------------------

bool JournalCopySender::pump(std::string& out, std::size_t budget) {
  if (!failure_.empty()) return false;
  const std::size_t start = out.size();
  if (!started_ && !this->start(out)) return false;
  while (!journal_done_ && out.size() - start < budget) {
    std::string chunk;
    {
      std::lock_guard lock(shared_.mu);
      if (shared_.ready.empty()) {
        if (!shared_.done) break;  // the reader wakes us with the next one
        if (!shared_.error.empty()) {
          failure_ = shared_.error;
          return false;
        }
        journal_done_ = true;
        journal_records_ = shared_.records;
        break;
      }
      chunk = std::move(shared_.ready.front());
      shared_.ready.pop_front();
    }
    shared_.room.notify_one();
    out.append(chunk);
  }
  if (journal_done_ && reader_.joinable()) reader_.join();
  bool done = false;
  if (journal_done_) done = send_memory_part(out, start, budget);
  sent_bytes_ += out.size() - start;
  log_progress(done);
  return done;
}

bool JournalCopySender::send_memory_part(std::string& out, std::size_t start, std::size_t budget) {
  broker::Event e;
  while (out.size() - start + batch_.bytes() < budget) {
    if (!memory_cursor_.next(e)) {
      if (!batch_.empty()) batch_.finish_chunk(out);
      writer_.snapshot_end(upto(), journal_records_ + memory_records_, memory_.next_message_id, out);
      return true;
    }
    batch_.add(upto(), static_cast<std::uint16_t>(store::record_type_of(e)), encoder_.encode(e));
    ++memory_records_;
    if (batch_.full()) batch_.finish_chunk(out);
  }
  if (!batch_.empty()) batch_.finish_chunk(out);
  return false;
}

void JournalCopySender::log_progress(bool done) {
  if (!started_) return;
  const std::int64_t now = mono_ms();
  const double secs = static_cast<double>(now - started_ms_) / 1000.0;
  if (done) {
    spdlog::info("replication: initial sync to slave {}: all sent ({} journal records, {} records from memory, "
                 "{:.1f} MiB) in {:.2f} s; streaming from seq {}",
                 slave_, journal_records_, memory_records_, mib(sent_bytes_), secs, upto().value + 1);
    return;
  }
  if (now - last_log_ms_ < kProgressLogMs) return;
  last_log_ms_ = now;
  std::uint64_t read = 0;
  {
    std::lock_guard lock(shared_.mu);
    read = shared_.bytes;
  }
  const std::uint64_t total = journal_.stats().disk_bytes;
  spdlog::info("replication: initial sync to slave {}: {:.1f} of about {:.1f} MiB of the journal read, {:.1f} MiB sent, "
               "after {:.1f} s",
               slave_, mib(read), mib(total), mib(sent_bytes_), secs);
}

}  // namespace twinmq::replication
