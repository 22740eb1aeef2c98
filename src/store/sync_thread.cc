#include "store/sync_thread.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <thread>

#include "store/errors.h"
#include "store/fault_points.h"

namespace twinmq::store {

namespace {
// Checkpoint work done between two looks at the batch queue: small enough that a
// batch arriving meanwhile waits only a few milliseconds.
constexpr std::size_t kCompactionSliceBytes = 4u << 20;
// Zeroed space kept ahead of the writes (see the header): extended to this much past
// the written end once less than a quarter of it is left.
constexpr std::uint64_t kZeroAhead = 1u << 20;
constexpr std::uint64_t kPage = 4096;
constexpr std::array<std::byte, 64u << 10> kZeros{};
}  // namespace

SyncThread::SyncThread(std::string dir, bool sync_on_write, std::uint64_t segment_size,
                       std::chrono::milliseconds retry_interval, Reporter reporter)
    : dir_(std::move(dir)),
      sync_on_write_(sync_on_write),
      segment_size_(segment_size),
      retry_interval_(retry_interval),
      reporter_(std::move(reporter)) {}

SyncThread::~SyncThread() { stop(); }

void SyncThread::start() { thread_ = std::thread([this] { run(); }); }

void SyncThread::submit(WriteBatch batch) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(batch));
  }
  cv_.notify_one();
}

void SyncThread::submit(std::unique_ptr<CompactionJob> job) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(job));
  }
  cv_.notify_one();
}

void SyncThread::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

SyncStats SyncThread::stats() const {
  SyncStats s;
  s.groups = groups_.load();
  s.batches = batches_.load();
  s.syncs = syncs_.load();
  s.bytes = bytes_.load();
  s.write_failures = failures_.load();
  return s;
}

void SyncThread::close_current() {
  current_fd_.reset();
  current_file_ = 0;
  current_dirty_ = false;
  current_end_ = file_end_ = 0;
}

Result<void> SyncThread::seal_current() {
  if (!current_fd_) return {};
  // Every session on a file that is left wrote up to the file's last record (a group
  // is written, and retried, from its first byte on), so what lies past current_end_
  // can only be zeros from zero_ahead(). Asked of the file itself: a zero write that
  // failed half-way may have grown it.
  if (current_end_ != 0) {
    struct stat st {};
    if (::fstat(current_fd_.get(), &st) != 0) return io_error("reading the size of", current_path_, errno);
    if (static_cast<std::uint64_t>(st.st_size) > current_end_) {
      if (::ftruncate(current_fd_.get(), static_cast<off_t>(current_end_)) != 0)
        return io_error("truncating the unused end of", current_path_, errno);
      file_end_ = current_end_;
      current_dirty_ = true;  // the new size must reach the disk too
    }
  }
  if (current_dirty_) {
    // Leaving a file (a roll, a retry going back, stop()): it must be complete on disk
    // before anything after it is, so only the newest segment can be torn.
    if (auto r = sync_data(current_fd_.get(), current_path_, Faults::on); !r) return r;
    ++syncs_;
    current_dirty_ = false;
  }
  return {};
}

void SyncThread::zero_ahead() {
  if (!current_fd_ || current_end_ == 0 || file_end_ >= current_end_ + kZeroAhead / 4) return;
  const std::uint64_t want = std::min((current_end_ + kZeroAhead + kPage - 1) / kPage * kPage, segment_size_);
  std::uint64_t at = std::max(file_end_, current_end_);
  while (at < want) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(want - at, kZeros.size()));
    // Best effort: without the zeros the next syncs only cost more. A disk too full
    // for them fails the real writes soon enough.
    if (!write_at(current_fd_.get(), std::span(kZeros.data(), n), at, current_path_, Faults::off)) break;
    at += n;
  }
  file_end_ = std::max(file_end_, at);
}

Result<int> SyncThread::fd_for(const FileSpan& span, bool& created) {
  if (current_fd_ && current_file_ == span.file) return current_fd_.get();
  if (auto r = seal_current(); !r) return std::unexpected(r.error());
  close_current();
  auto fd = open_file(span.path, O_WRONLY | (span.create ? O_CREAT : 0), 0644,
                      span.create ? Faults::on : Faults::off);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return io_error("reading the size of", span.path, errno);
  current_fd_ = std::move(*fd);
  current_file_ = span.file;
  current_path_ = span.path;
  file_end_ = static_cast<std::uint64_t>(st.st_size);
  created = created || span.create;
  return current_fd_.get();
}

bool SyncThread::absorb_arrivals() {
  std::lock_guard lock(mu_);
  bool any = false;
  while (!queue_.empty() && std::holds_alternative<WriteBatch>(queue_.front())) {
    group_.push_back(std::move(std::get<WriteBatch>(queue_.front())));
    queue_.pop_front();
    any = true;
  }
  return any;
}

Result<void> SyncThread::write_group(bool absorb) {
  bool created = false;
  std::uint64_t bytes = 0;
  last_sync_ns_ = 0;
  // Index, not iterator: absorb_arrivals() appends to group_.
  for (std::size_t i = 0; i < group_.size(); ++i) {
    const WriteBatch& b = group_[i];
    for (const FileSpan& s : b.spans) {
      auto fd = fd_for(s, created);
      if (!fd) return std::unexpected(fd.error());
      std::span<const std::byte> data(b.bytes.data() + s.begin, s.end - s.begin);
      if (auto r = write_at(*fd, data, s.offset, s.path, Faults::on); !r) return r;
      current_dirty_ = true;
      current_end_ = std::max<std::uint64_t>(current_end_, s.offset + data.size());
      file_end_ = std::max(file_end_, current_end_);
      bytes += data.size();
    }
    // Group commit that fills: batches that arrived while this group was being written
    // share its fdatasync instead of waiting a whole one more. Once per group, so a
    // steady stream cannot put the sync off.
    if (i + 1 == group_.size() && absorb && sync_on_write_) {
      absorb = false;
      (void)absorb_arrivals();
    }
  }
  if (sync_on_write_ && current_dirty_) {
    zero_ahead();
    const auto t0 = std::chrono::steady_clock::now();
    if (auto r = sync_data(current_fd_.get(), current_path_, Faults::on); !r) return r;
    // A test's slow disk (not synchronisation: this thread simply takes as long as the
    // device would).
    if (fault_fires(FaultPoint::sync_slow))
      std::this_thread::sleep_for(std::chrono::milliseconds(kSlowDiskSyncMillis) +
                                  std::chrono::microseconds(bytes * 1'000'000 / kSlowDiskBytesPerSecond));
    // Timed after the test's slow disk too: the histogram shows what the device cost.
    last_sync_ns_ = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    ++syncs_;
    current_dirty_ = false;
  }
  // A new segment's directory entry must be durable too, or a power cut could lose
  // the whole file after its records were reported durable.
  if (created && sync_on_write_) {
    if (auto r = sync_dir(dir_); !r) return r;
  }
  if (fault_fires(FaultPoint::crash_after_sync)) ::kill(::getpid(), SIGKILL);
  bytes_ += bytes;
  return {};
}

void SyncThread::run() {
  bool failing = false;
  auto next_retry = std::chrono::steady_clock::now();
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      if (failing) {
        cv_.wait_until(lock, next_retry, [&] { return stop_; });
      } else {
        cv_.wait(lock, [&] { return stop_ || !queue_.empty() || compaction_ != nullptr; });
      }
      stopping = stop_;
      // A failing group is retried alone; batches behind it wait in the queue.
      if (!failing) {
        while (!queue_.empty() && std::holds_alternative<WriteBatch>(queue_.front())) {
          group_.push_back(std::move(std::get<WriteBatch>(queue_.front())));
          queue_.pop_front();
        }
        if (group_.empty() && compaction_ == nullptr && !queue_.empty()) {
          auto job = std::move(std::get<std::unique_ptr<CompactionJob>>(queue_.front()));
          queue_.pop_front();
          // At shut-down a compaction not yet begun is dropped; the next start redoes it.
          if (!stopping) compaction_ = std::make_unique<CheckpointWriter>(std::move(job));
        }
      }
    }

    if (!group_.empty()) {
      if (auto r = write_group(/*absorb=*/!failing); !r) {
        ++failures_;
        close_current();
        WriterReport rep;
        rep.kind = WriterReport::Kind::write_failed;
        rep.error = r.error().message;
        reporter_(std::move(rep));
        failing = true;
        next_retry = std::chrono::steady_clock::now() + retry_interval_;
        if (stopping) break;  // that was the last attempt
        continue;
      }
      failing = false;
      ++groups_;
      batches_ += group_.size();
      WriterReport rep;
      rep.kind = WriterReport::Kind::durable;
      rep.batch_id = group_.back().id;
      rep.cover = group_.back().cover;
      rep.sync_ns = last_sync_ns_;
      for (WriteBatch& b : group_) {
        b.bytes.clear();
        rep.buffers.push_back(std::move(b.bytes));
      }
      group_.clear();
      durable_batch_.store(rep.batch_id);
      reporter_(std::move(rep));
      continue;
    }

    if (compaction_ != nullptr) {
      if (stopping) {
        compaction_->abandon();
        compaction_.reset();
        continue;
      }
      auto r = compaction_->step(kCompactionSliceBytes);
      if (!r || *r) {
        WriterReport rep;
        if (r) {
          rep.kind = WriterReport::Kind::compaction_done;
          rep.compaction = compaction_->take_result();
        } else {
          rep.kind = WriterReport::Kind::compaction_failed;
          rep.error = r.error().message;
        }
        compaction_.reset();
        reporter_(std::move(rep));
      }
      continue;
    }

    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty()) break;
    }
  }
  // A clean stop leaves no zeros behind. If this fails, recovery drops them.
  if (!failing && sync_on_write_) (void)seal_current();
  close_current();
}

}  // namespace twinmq::store
