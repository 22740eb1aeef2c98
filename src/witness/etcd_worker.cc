#include "witness/etcd_worker.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace twinmq::witness {

EtcdWorker::EtcdWorker(net::Loop& loop, EtcdOptions options, std::string name)
    : name_(std::move(name)), client_(std::move(options)) {
  finished_ = net::AsyncQueue<std::unique_ptr<Call>>::create(
      loop, [this](std::vector<std::unique_ptr<Call>>& calls) { on_finished(calls); });
  finished_->unref();
  thread_ = std::thread([this] { thread_main(); });
  // Linux limits thread names to 15 characters.
  const std::string thread_name = ("etcd-" + name_).substr(0, 15);
  pthread_setname_np(thread_.native_handle(), thread_name.c_str());
}

EtcdWorker::~EtcdWorker() { close(); }

void EtcdWorker::enqueue(std::unique_ptr<Call> call) {
  ++queued_;
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(call));
  }
  wake_.notify_one();
}

void EtcdWorker::thread_main() {
  auto* finished = finished_.get();  // outlives the thread: close() joins before releasing it
  for (;;) {
    std::unique_ptr<Call> call;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      call = std::move(jobs_.front());
      jobs_.pop_front();
    }
    call->run(client_);
    finished->push(std::move(call));
  }
}

void EtcdWorker::on_finished(std::vector<std::unique_ptr<Call>>& calls) {
  for (auto& call : calls) {
    // A `done` may close the worker: the rest are dropped (the AsyncQueue clears them).
    if (closed_) return;
    --queued_;
    call->deliver();
    call.reset();  // the job's and done's captures go now, on this thread
  }
}

void EtcdWorker::close() {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  client_.interrupt();
  if (thread_.joinable()) thread_.join();
  // The thread is gone: nothing pushes any more. Jobs never run and results never
  // delivered are destroyed here and in the queue's close, both on the loop thread.
  std::deque<std::unique_ptr<Call>> dropped;
  {
    std::lock_guard lock(mu_);
    dropped.swap(jobs_);
  }
  if (!dropped.empty() || queued_ != 0)
    spdlog::debug("etcd worker {}: closed with {} job(s) unfinished", name_, queued_);
  dropped.clear();
  queued_ = 0;
  finished_.reset();
}

}  // namespace twinmq::witness
