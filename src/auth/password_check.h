// auth/password_check.h — a password verified on libuv's thread pool, the answer
// delivered on the loop thread.
//
// Why a worker: a yescrypt check takes tens of milliseconds on purpose; on the loop it
// would stall every client for that long per login, and a client sending CONNECTs with
// wrong passwords would stall the broker at will. (Caching successful checks instead
// would still run every *failed* one on the loop.) A plain-text password is compared
// at once by the caller: it costs nothing.
//
// Lifecycle: start() allocates a PasswordCheck that owns its uv_work_t and frees
// itself in the after-work callback (loop thread). The owner that asked (a STOMP
// session, a replication peer) may go away first: it calls cancel(), after which
// `done` is never called and nothing the owner held is touched. Loop::shutdown() runs
// the loop until outstanding work has finished, so none is leaked at exit.
// The worker reads only the copies held here.
#pragma once

#include <functional>
#include <string>

#include "auth/password.h"
#include "net/loop.h"

namespace twinmq::auth {

class PasswordCheck {
 public:
  // Called on the loop thread with the result of stored.verify(presented).
  using Done = std::function<void(bool ok)>;

  static PasswordCheck* start(net::Loop& loop, StoredPassword stored, std::string presented, Done done);
  // Owner gone: `done` will not be called. Idempotent; loop thread only.
  void cancel() { done_ = nullptr; }

  PasswordCheck(const PasswordCheck&) = delete;
  PasswordCheck& operator=(const PasswordCheck&) = delete;

 private:
  PasswordCheck(StoredPassword stored, std::string presented, Done done);
  ~PasswordCheck();
  static void work(uv_work_t* req) noexcept;
  static void after_work(uv_work_t* req, int status) noexcept;

  uv_work_t req_{};
  StoredPassword stored_;
  std::string presented_;
  Done done_;
  bool ok_ = false;
};

}  // namespace twinmq::auth
