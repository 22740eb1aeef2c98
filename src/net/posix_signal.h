// net/posix_signal.h — a POSIX signal delivered on the loop thread (uv_signal_t), so a
// SIGTERM handler may touch broker state. HandlePtr-owned; loop thread only.
#pragma once

#include <functional>

#include "net/handle.h"

namespace twinmq::net {

class Signal final : public HandleBase {
 public:
  static HandlePtr<Signal> create(Loop& loop, int signum, std::function<void(int)> fn);
  // Does not keep the loop alive on its own.
  void unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&signal_)); }
  void close() override;

 private:
  Signal(Loop& loop, std::function<void(int)> fn);
  static void on_signal(uv_signal_t* s, int signum) noexcept;
  uv_signal_t signal_{};
  std::function<void(int)> fn_;
};

}  // namespace twinmq::net
