// net/loop.h — the event loop: owns uv_loop_t, the one read buffer shared by every
// connection, and the per-iteration flush hook.
//
// DESIGN
//  - One loop thread owns all broker state. Everything in net/ is loop-thread only,
//    except AsyncQueue::push (any thread).
//  - Reads land in one 64 KiB buffer per loop, not per connection (redis#13488): a
//    connection holds no read memory while idle; the STOMP parser copies only the
//    unfinished tail of a split frame.
//  - Writes are not issued per frame. A connection that has new output registers
//    itself with want_flush(); the prepare hook (run once per loop iteration, just
//    before libuv blocks for I/O) flushes every registered connection, so all frames
//    produced in one turn go out in one write (Redis handleClientsWithPendingWrites).
//
// Lifecycle: created first and destroyed last by app::Runtime (or a test / tool).
// shutdown() closes every handle still open and runs the loop until they are freed.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <unordered_set>
#include <utility>
#include <vector>

namespace twinmq::net {

class HandleBase;

class Flushable {
 public:
  virtual void flush() = 0;

 protected:
  ~Flushable() = default;
};

class Loop {
 public:
  Loop();
  ~Loop();  // runs shutdown() if needed; asserts uv_loop_close() == 0
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* uv() { return &loop_; }

  // Runs until stop() or until nothing is left to do.
  void run();
  // Makes run() return after the current iteration (loop thread only).
  void stop() { uv_stop(&loop_); }
  // Closes every handle still open, runs until all close callbacks have fired, and
  // closes the loop. Returns uv_loop_close()'s result (0 = clean).
  int shutdown();

  // Registers `f` to be flushed at the end of this loop iteration (idempotent per
  // iteration is the caller's job: keep a "registered" flag).
  void want_flush(Flushable* f) { flush_list_.push_back(f); }
  // A flushable that is going away must be removed from the list.
  void cancel_flush(Flushable* f);

  // The shared read buffer (see DESIGN above).
  char* read_buffer() { return read_buf_.data(); }
  std::size_t read_buffer_size() const { return read_buf_.size(); }

  // Extra work to run once per iteration before blocking (e.g. journal batch hand-off).
  // Hooks run by ascending `order`, equal orders in registration order (the journal's
  // and the replication link's say which goes first: broker::SinkOrder). Hooks below
  // kAfterFlush run before the registered connections are flushed, the others after
  // (then connections they gave output to are flushed once more).
  void add_prepare_hook(std::function<void()> hook, int order = 100);
  // A hook at or above this order runs after the turn's socket writes: work that only
  // wakes another thread (the journal's writer) and must not delay bytes a peer waits
  // for (the slave's events, a RECEIPT).
  static constexpr int kAfterFlush = 1000;

  // Every open handle object (net/handle.h) registers itself, so shutdown() can
  // close leftovers through their own close path.
  void register_handle(HandleBase* h) { handles_.insert(h); }
  void unregister_handle(HandleBase* h) { handles_.erase(h); }

 private:
  static void on_prepare(uv_prepare_t* p) noexcept;
  void flush_all();

  uv_loop_t loop_{};
  uv_prepare_t prepare_{};
  std::vector<Flushable*> flush_list_;
  std::vector<Flushable*> flushing_;
  std::vector<std::pair<int, std::function<void()>>> hooks_;  // sorted by order
  std::vector<char> read_buf_;
  std::unordered_set<HandleBase*> handles_;
  bool closed_ = false;
};

}  // namespace twinmq::net
