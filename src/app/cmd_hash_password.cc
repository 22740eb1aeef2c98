// app/cmd_hash_password.cc — `twinmq hash-password`: prints a yescrypt hash for an
// <authenticationUser password="..."> (README "Security").
//
// The password is never taken from the command line, where `ps` and shell history
// would show it: on a terminal it is asked for twice without echo; otherwise it is the
// first line of standard input (for scripts: `printf '%s\n' "$pw" | twinmq hash-password`).
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "app/commands.h"
#include "auth/password.h"

namespace twinmq::app {
namespace {

// Echo off while the line is read, restored whatever happens after.
class NoEcho {
 public:
  NoEcho() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~NoEcho() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

bool read_line(std::string& out) {
  if (!std::getline(std::cin, out)) return false;
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return true;
}

}  // namespace

int run_hash_password(const Args& args) {
  if (!args.empty()) {
    std::fprintf(stderr,
                 "usage: twinmq hash-password   (the password is read from the terminal without echo, or from the "
                 "first line of standard input; never from the command line, where ps and shell history show it)\n");
    return kCommandUsage;
  }
  std::string password;
  if (::isatty(STDIN_FILENO) != 0) {
    std::string again;
    {
      NoEcho quiet;
      std::fprintf(stderr, "password: ");
      std::fflush(stderr);
      const bool first = read_line(password);
      std::fprintf(stderr, "\nagain: ");
      std::fflush(stderr);
      const bool second = first && read_line(again);
      std::fprintf(stderr, "\n");
      if (!second) return kCommandUsage;
    }
    if (again != password) {
      std::fprintf(stderr, "twinmq: the two passwords differ; nothing printed\n");
      return kCommandFound;
    }
  } else if (!read_line(password)) {
    std::fprintf(stderr, "twinmq: hash-password: no password on standard input\n");
    return kCommandUsage;
  }
  if (password.empty()) {
    std::fprintf(stderr, "twinmq: hash-password: the password is empty\n");
    return kCommandUsage;
  }
  auto hash = auth::hash_password(password);
  if (!hash) {
    std::fprintf(stderr, "twinmq: hash-password: %s\n", hash.error().message.c_str());
    return kCommandFound;
  }
  std::printf("%s\n", hash->c_str());
  return kCommandOk;
}

}  // namespace twinmq::app
