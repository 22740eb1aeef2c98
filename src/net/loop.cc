#include "net/loop.h"

#include <algorithm>

#include "base/assert.h"
#include "net/handle.h"

namespace twinmq::net {

Loop::Loop() : read_buf_(64 * 1024) {
  TWINMQ_ASSERT(uv_loop_init(&loop_) == 0, "uv_loop_init");
  uv_prepare_init(&loop_, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, &Loop::on_prepare);
  // The prepare handle must not keep the loop alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
}

Loop::~Loop() {
  if (!closed_) {
    int rc = shutdown();
    TWINMQ_ASSERT(rc == 0, "uv_loop_close left handles open");
  }
}

void Loop::run() { uv_run(&loop_, UV_RUN_DEFAULT); }

int Loop::shutdown() {
  if (closed_) return 0;
  // Give every flushable a last chance to hand its output to libuv.
  flush_all();
  // Owned handles first, through their own close path (they free themselves in
  // the close callback). Copy: close() may run callbacks that close others.
  std::vector<HandleBase*> open(handles_.begin(), handles_.end());
  for (HandleBase* h : open) {
    if (handles_.contains(h)) h->close();
  }
  // What remains is the loop's own prepare handle.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  while (uv_run(&loop_, UV_RUN_DEFAULT) != 0) {
  }
  closed_ = true;
  return uv_loop_close(&loop_);
}

void Loop::cancel_flush(Flushable* f) {
  std::replace(flush_list_.begin(), flush_list_.end(), f, static_cast<Flushable*>(nullptr));
  std::replace(flushing_.begin(), flushing_.end(), f, static_cast<Flushable*>(nullptr));
}

void Loop::add_prepare_hook(std::function<void()> hook, int order) {
  const auto at = std::upper_bound(hooks_.begin(), hooks_.end(), order,
                                   [](int o, const auto& h) { return o < h.first; });
  hooks_.emplace(at, order, std::move(hook));
}

void Loop::on_prepare(uv_prepare_t* p) noexcept {
  auto* self = static_cast<Loop*>(p->data);
  auto& hooks = self->hooks_;
  const auto after = std::lower_bound(hooks.begin(), hooks.end(), kAfterFlush,
                                      [](const auto& h, int o) { return h.first < o; });
  for (auto it = hooks.begin(); it != after; ++it) it->second();
  self->flush_all();
  if (after == hooks.end()) return;
  for (auto it = after; it != hooks.end(); ++it) it->second();
  // An after-flush hook may release replies (the journal advancing its gate source
  // when nothing is in flight): they go out in this turn, not the next.
  self->flush_all();
}

void Loop::flush_all() {
  // A flush can register further flushables (e.g. a write completing synchronously
  // makes room and the broker dispatches more); keep going until quiet.
  while (!flush_list_.empty()) {
    flushing_.swap(flush_list_);
    for (std::size_t i = 0; i < flushing_.size(); ++i) {
      if (Flushable* f = flushing_[i]) f->flush();
    }
    flushing_.clear();
  }
}

}  // namespace twinmq::net
