// net/async_queue.h — hands work from another thread (the journal's sync thread)
// to the loop thread.
//
// uv_async_send coalesces: many sends may produce one callback (libuv#1478), so the
// payload never rides on the handle. Producers push under a mutex; the loop-side
// callback swaps the whole vector out and drains it.
//
// Lifecycle: created and closed on the loop thread through HandlePtr; the producer
// thread must be stopped (joined) before close(), since push() touches the handle.
#pragma once

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "net/handle.h"
#include "net/loop.h"

namespace twinmq::net {

template <class T>
class AsyncQueue final : public HandleBase {
 public:
  using Consumer = std::function<void(std::vector<T>& items)>;

  static HandlePtr<AsyncQueue> create(Loop& loop, Consumer consumer) {
    return HandlePtr<AsyncQueue>(new AsyncQueue(loop, std::move(consumer)));
  }

  // Any thread.
  void push(T item) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    uv_async_send(&async_);
  }

  // Does not keep the loop alive on its own.
  void unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&async_)); }

  void close() override {
    if (closing_) return;
    consumer_ = nullptr;
    close_handle(reinterpret_cast<uv_handle_t*>(&async_));
  }

 private:
  AsyncQueue(Loop& loop, Consumer consumer) : HandleBase(loop), consumer_(std::move(consumer)) {
    uv_async_init(loop.uv(), &async_, &AsyncQueue::on_async);
    bind_handle(&async_, this);
  }

  static void on_async(uv_async_t* a) noexcept {
    auto* self = owner_of<AsyncQueue>(a);
    if (self->closing_) return;
    {
      std::lock_guard lock(self->mu_);
      self->draining_.swap(self->items_);
    }
    if (self->consumer_) self->consumer_(self->draining_);
    self->draining_.clear();
  }

  uv_async_t async_{};
  Consumer consumer_;
  std::mutex mu_;
  std::vector<T> items_;
  std::vector<T> draining_;  // loop thread only; keeps its capacity between drains
};

}  // namespace twinmq::net
