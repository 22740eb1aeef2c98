#include "store/compactor.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "base/clock.h"
#include "store/errors.h"
#include "store/record_format.h"

namespace twinmq::store {

namespace {
constexpr std::size_t kFlushBytes = 1 << 20;
}

CheckpointWriter::CheckpointWriter(std::unique_ptr<CompactionJob> job) : job_(std::move(job)) {
  result_ = std::make_unique<CompactionResult>();
  result_->upto = job_->plan.upto;
  result_->checkpoint_file = job_->checkpoint_file;
  result_->path = join_path(job_->dir, checkpoint_file_name(job_->plan.upto));
  result_->obsolete = job_->obsolete;
  tmp_path_ = result_->path + std::string(kTempSuffix);
}

CheckpointWriter::~CheckpointWriter() {
  if (begun_ && !done_) abandon();
}

void CheckpointWriter::abandon() {
  fd_.reset();
  if (begun_ && !done_) (void)remove_file(tmp_path_);
  done_ = true;
}

Result<void> CheckpointWriter::begin() {
  begun_ = true;
  auto& items = job_->plan.items;
  std::sort(items.begin(), items.end(), [](const PlanItem& a, const PlanItem& b) {
    return a.seq != b.seq ? a.seq < b.seq : a.rank < b.rank;
  });
  auto fd = open_file(tmp_path_, O_WRONLY | O_CREAT | O_TRUNC, 0644, Faults::on);
  if (!fd) return std::unexpected(fd.error());
  fd_ = std::move(*fd);
  FileHeader h;
  h.kind = FileKind::checkpoint;
  h.store_id = job_->identity.id;
  h.epoch = job_->identity.epoch;
  h.seq = job_->plan.upto;
  h.created_ms = wall_ms();
  out_.resize(kFileHeaderSize);
  encode_file_header(h, out_.data());
  for (const auto& [no, path] : job_->sources) {
    auto m = MappedFile::open(path);
    if (!m) return std::unexpected(m.error());
    result_->bytes_before += m->size();
    sources_.emplace(no, std::move(*m));
  }
  return {};
}

Result<void> CheckpointWriter::copy_message(const PlanItem& item) {
  const std::uint64_t offset = item.a;
  const std::uint64_t id = item.b;
  auto src = sources_.find(item.file);
  if (src == sources_.end())
    return make_error(Errc::corrupt, "compaction: message " + std::to_string(id) +
                                         " is in a file that is not being compacted");
  const std::string& path = job_->sources.at(item.file);
  RecordAt rec;
  const RecordCheck check = read_record(src->second.bytes(), offset, rec);
  auto damaged = [&](std::string_view why) {
    return make_error(Errc::corrupt, "compaction: " + path + " offset " + std::to_string(offset) + ": " +
                                         std::string(why) + " (message " + std::to_string(id) +
                                         "); nothing was removed");
  };
  if (check != RecordCheck::ok) return damaged(describe(check));
  std::string why;
  const fb::Event* ev = verified_event(rec.payload, static_cast<RecordType>(rec.frame.type), &why);
  if (ev == nullptr) return damaged(why);
  const fb::Message* m = stored_message(*ev, item.member());
  if (m == nullptr || m->id() != id) return damaged("record does not hold the message");
  result_->relocations.push_back(Relocation{id, file_offset_ + out_.size()});
  append_record(out_, item.seq, 0, RecordType::message_enqueued, encoder_.encode_enqueued(*m));
  ++result_->messages;
  return {};
}

Result<void> CheckpointWriter::flush() {
  if (out_.empty()) return {};
  auto w = write_at(fd_.get(), out_, file_offset_, tmp_path_, Faults::on);
  if (!w) return w;
  file_offset_ += out_.size();
  out_.clear();
  return {};
}

Result<void> CheckpointWriter::finish() {
  CheckpointEnd end;
  end.next_message_id = job_->plan.next_message_id;
  end.records = result_->records;
  const auto payload = encode_checkpoint_end(end);
  append_record(out_, job_->plan.upto, 0, RecordType::checkpoint_end, payload);
  if (auto r = flush(); !r) return r;
  if (auto r = sync_data(fd_.get(), tmp_path_, Faults::on); !r) return r;
  fd_.reset();
  result_->size = file_offset_;
  if (::rename(tmp_path_.c_str(), result_->path.c_str()) != 0)
    return io_error("renaming to", result_->path, errno);
  done_ = true;
  if (auto r = sync_dir(job_->dir); !r) return r;
  // The checkpoint is durable: what it replaces can go.
  for (const std::string& p : job_->obsolete_paths) {
    if (p == result_->path) continue;
    if (auto r = remove_file(p); !r) result_->warning = r.error().message;
  }
  sources_.clear();
  if (auto r = sync_dir(job_->dir); !r) result_->warning = r.error().message;
  return {};
}

Result<bool> CheckpointWriter::step(std::size_t budget) {
  auto fail = [&](Error e) -> Result<bool> {
    abandon();
    return std::unexpected(std::move(e));
  };
  if (!begun_) {
    if (auto r = begin(); !r) return fail(r.error());
  }
  const auto& items = job_->plan.items;
  std::size_t work = 0;
  while (next_item_ < items.size() && work < budget) {
    const PlanItem& item = items[next_item_++];
    const std::size_t before = out_.size();
    if (item.copy()) {
      if (auto r = copy_message(item); !r) return fail(r.error());
    } else {
      out_.insert(out_.end(), job_->plan.framed.begin() + static_cast<std::ptrdiff_t>(item.a),
                  job_->plan.framed.begin() + static_cast<std::ptrdiff_t>(item.b));
    }
    ++result_->records;
    work += out_.size() - before + 64;
    if (out_.size() >= kFlushBytes) {
      if (auto r = flush(); !r) return fail(r.error());
    }
  }
  if (next_item_ < items.size()) return false;
  if (auto r = finish(); !r) return fail(r.error());
  return true;
}

}  // namespace twinmq::store
