// store/page_reader.cc — the page-in reader thread (see page_reader.h).
#include "store/page_reader.h"

#include <map>

#include "store/event_codec.h"
#include "store/file_io.h"
#include "store/record_format.h"

namespace twinmq::store {

PageReader::PageReader(net::Loop& loop, OnAnswer on_answer)
    : answers_(net::AsyncQueue<PageAnswer>::create(loop, [cb = std::move(on_answer)](std::vector<PageAnswer>& all) {
        for (PageAnswer& a : all) cb(a);
      })) {
  answers_->unref();
  thread_ = std::thread([this] { run(); });
}

PageReader::~PageReader() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Only now: the thread pushed to it until it was joined (net/async_queue.h).
  answers_.reset();
}

void PageReader::submit(PageRequest request) {
  {
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(request));
  }
  wake_.notify_one();
}

void PageReader::run() {
  for (;;) {
    PageRequest request;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stop_ || !requests_.empty(); });
      if (stop_) return;
      request = std::move(requests_.front());
      requests_.pop_front();
    }
    answers_->push(read(request));
  }
}

PageAnswer PageReader::read(const PageRequest& request) {
  PageAnswer out;
  out.queue = request.queue;
  out.ids.reserve(request.items.size());
  out.messages.resize(request.items.size());
  std::map<FileNo, MappedFile> mapped;
  for (const auto& [no, path] : request.paths) {
    auto m = MappedFile::open(path);
    if (!m) {
      if (out.error.empty()) out.error = m.error().message;
      continue;
    }
    mapped.emplace(no, std::move(*m));
  }
  std::vector<broker::HeaderView> scratch;
  auto fail = [&](std::string why) {
    if (out.error.empty()) out.error = std::move(why);
  };
  // The members of one transaction record come in one request, one after the other:
  // the record is checked (CRC over all of it, verifier) once for all of them, not once
  // per member (a 250 MiB transaction of 25 messages was checked 25 times).
  FileNo last_file = 0;
  std::uint64_t last_offset = 0;
  const fb::Event* last_event = nullptr;
  for (std::size_t i = 0; i < request.items.size(); ++i) {
    const PageRequest::Item& item = request.items[i];
    out.ids.push_back(item.id);
    auto file = mapped.find(item.file);
    if (file == mapped.end()) {
      fail("message " + std::to_string(item.id) +
           (item.file == 0 ? std::string(" is not in the journal's index") : std::string(": its journal file is gone")));
      continue;
    }
    const fb::Event* ev = nullptr;
    if (last_event != nullptr && item.file == last_file && item.offset == last_offset) {
      ev = last_event;
    } else {
      last_event = nullptr;
      RecordAt rec;
      const RecordCheck check = read_record(file->second.bytes(), item.offset, rec);
      if (check != RecordCheck::ok) {
        fail("message " + std::to_string(item.id) + ": " + std::string(describe(check)));
        continue;
      }
      std::string why;
      ev = verified_event(rec.payload, static_cast<RecordType>(rec.frame.type), &why);
      if (ev == nullptr) {
        fail("message " + std::to_string(item.id) + ": " + why);
        continue;
      }
      last_file = item.file;
      last_offset = item.offset;
      last_event = ev;
    }
    const fb::Message* m = stored_message(*ev, item.member);
    if (m == nullptr || m->id() != item.id) {
      fail("message " + std::to_string(item.id) + ": its record does not hold it");
      continue;
    }
    out.messages[i] = decode_stored_message(*m, scratch);
  }
  return out;
}

}  // namespace twinmq::store
