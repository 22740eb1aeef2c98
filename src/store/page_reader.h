// store/page_reader.h — reads paged messages back from the journal files on a thread
// of its own, so the loop never waits for the disk (broker/page_store.h is the design
// of paging; this is its reading half).
//
// DESIGN
//  - The loop (Journal::page_in) looks each id up in the journal's index (LiveSet:
//    file, record offset, member within a transaction record; compaction re-points it
//    on the loop, so the lookup is always current) and submits one PageRequest per
//    queue batch, with the paths of the files it names.
//  - The reader thread maps those files (MappedFile: page cache, not the process's own
//    memory; a file a compaction unlinks afterwards stays readable while mapped),
//    checks each record (CRC, flatbuffer verifier), builds the Message
//    (decode_stored_message) and unmaps the files again: it keeps no file open between
//    requests, so deleted segments free their disk at once.
//  - The answer goes back through an AsyncQueue to the loop, which calls
//    Broker::paged_in. A message it could not read (not located, its file gone: a
//    compaction deleted it between the lookup and the read; damage) comes back null;
//    the broker asks again later, after the index has moved on.
//
// Like replication/journal_copy.h, the one other reader of journal files: both only
// read durable records, so they never race the writer thread on a byte.
//
// Lifecycle: owned by the Journal, made at the first page-in, destroyed (thread
// stopped and joined, then its AsyncQueue closed) before the Journal. submit() and the
// answer callback on the loop thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/message.h"
#include "net/async_queue.h"
#include "net/handle.h"
#include "net/loop.h"
#include "store/live_set.h"

namespace twinmq::store {

struct PageRequest {
  struct Item {
    std::uint64_t id = 0;
    std::uint64_t offset = 0;  // of its record
    FileNo file = 0;           // 0: the index does not know it
    std::uint32_t member = 0;
  };
  std::string queue;
  std::vector<Item> items;
  std::vector<std::pair<FileNo, std::string>> paths;  // of the files the items name
};

struct PageAnswer {
  std::string queue;
  std::vector<std::uint64_t> ids;
  std::vector<broker::MessageRef> messages;  // ids' order; null = not read
  std::string error;                         // the first reason one was not read
};

class PageReader {
 public:
  using OnAnswer = std::function<void(PageAnswer& answer)>;
  PageReader(net::Loop& loop, OnAnswer on_answer);
  ~PageReader();
  PageReader(const PageReader&) = delete;
  PageReader& operator=(const PageReader&) = delete;

  void submit(PageRequest request);

  // One request read on the calling thread (the reader thread's work; unit tests).
  static PageAnswer read(const PageRequest& request);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<PageRequest> requests_;
  bool stop_ = false;
  net::HandlePtr<net::AsyncQueue<PageAnswer>> answers_;
  std::thread thread_;
};

}  // namespace twinmq::store
