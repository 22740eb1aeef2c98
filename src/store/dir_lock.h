// store/dir_lock.h — one broker per data directory.
//
// An exclusive flock on `<dir>/lock`, held for the life of the Journal; the holder
// writes its pid into the file so a second broker can say who has it: "data directory
// /var/lib/twinmq is in use by pid 4242". flock (not a pid file alone) because the
// kernel drops it when the process dies, even by SIGKILL: a stale file never blocks a
// restart. The lock file is never removed (removing it would let two processes each
// lock a different inode of the same name).
//
// Lifecycle: acquire() in Journal::open, released when the DirLock is destroyed.
// Loop thread (start-up and shut-down only).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/result.h"
#include "store/file_io.h"

namespace twinmq::store {

class DirLock {
 public:
  DirLock() = default;
  DirLock(DirLock&&) = default;
  DirLock& operator=(DirLock&&) = default;

  // Fails with Errc::in_use naming the holder's pid when another process holds it.
  static Result<DirLock> acquire(const std::string& dir);
  // The pid holding `<dir>/lock`, if any process does (does not take the lock).
  static std::optional<pid_t> holder(const std::string& dir);

  bool held() const { return static_cast<bool>(fd_); }

 private:
  UniqueFd fd_;
};

}  // namespace twinmq::store
