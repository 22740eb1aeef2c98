// net/async_queue.h — hands work from another thread (the journal's sync thread)
// to the loop thread.
//
// uv_async_send coalesces: many sends may produce one callback (libuv#1478), so the
// payload never rides on the handle. Producers push under a mutex; the loop-side
// callback swaps the whole vector out and drains it. A producer may also push without
// waking the loop (push(item, false)); the loop then takes the item at its next
// drain(), which the owner calls from a hook that runs on every loop turn.
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

  // Any thread. With `wake` false the loop is not woken for this item: it is handed
  // over at the loop's next drain() or wake-up for another item. Only for items the
  // loop may learn of late, and only when something is sure to wake the loop (the
  // caller's own reason, e.g. a peer's answer that is on its way).
  void push(T item, bool wake = true) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    if (wake) uv_async_send(&async_);
  }

  // Any thread: wakes the loop to take what was pushed.
  void wake() { uv_async_send(&async_); }

  // Loop thread: hands over what was pushed so far (quiet pushes included), now.
  void drain() {
    if (closing_ || in_drain_) return;  // not from inside the consumer
    {
      std::lock_guard lock(mu_);
      if (items_.empty()) return;
      draining_.swap(items_);
    }
    in_drain_ = true;
    if (consumer_) consumer_(draining_);
    draining_.clear();
    in_drain_ = false;
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

  static void on_async(uv_async_t* a) noexcept { owner_of<AsyncQueue>(a)->drain(); }

  uv_async_t async_{};
  Consumer consumer_;
  std::mutex mu_;
  std::vector<T> items_;
  std::vector<T> draining_;  // loop thread only; keeps its capacity between drains
  bool in_drain_ = false;    // loop thread only
};

}  // namespace twinmq::net
