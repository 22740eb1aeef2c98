// app/switchover.cc — the command side of a switchover and the restart (app/switchover.h).
#include "app/switchover.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "app/control_server.h"
#include "app/exit_codes.h"
#include "app/status_server.h"
#include "base/clock.h"

namespace twinmq::app {

namespace {

bool line_says(const std::string& text, std::string_view line) {
  return text.starts_with(line) || text.find("\n" + std::string(line)) != std::string::npos;
}

}  // namespace

int run_switchover(const std::string& data_directory, const std::string& config_file, const std::string& to,
                   const std::string& user, int timeout_s) {
  const std::string control = data_directory + "/" + kControlSocketName;
  auto answer = control_request(control, "switchover\t" + to + "\t" + user, 10'000);
  if (!answer) {
    std::fprintf(stderr, "twinmq switchover (%s): %s\n", config_file.c_str(), answer.error().message.c_str());
    return kExitRuntimeFailure;
  }
  if (!answer->starts_with("OK ")) {
    std::fprintf(stderr, "twinmq switchover (%s): %s\n", config_file.c_str(), answer->c_str());
    return kExitRuntimeFailure;
  }
  // "OK <pid> <what happens>": the pid tells a broker that restarts from one that died.
  const std::string_view rest = std::string_view(*answer).substr(3);
  const auto space = rest.find(' ');
  const pid_t pid = static_cast<pid_t>(std::atol(std::string(rest.substr(0, space)).c_str()));
  std::printf("%s\n", std::string(rest.substr(space == std::string_view::npos ? rest.size() : space + 1)).c_str());
  std::fflush(stdout);
  if (timeout_s == 0) return kExitClean;

  // The broker process restarts in place and comes back on the same status socket.
  // This polls its status (the broker cannot tell us: it is a new process image), at a
  // fixed pace, up to the deadline the operator gave.
  const std::string status = data_directory + "/" + kStatusSocketName;
  const std::int64_t started = mono_ms();
  const std::int64_t deadline = started + static_cast<std::int64_t>(timeout_s) * 1000;
  std::string last;
  while (mono_ms() < deadline) {
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
      std::fprintf(stderr,
                   "twinmq switchover (%s): handed over, but the broker (pid %d) exited instead of coming back as "
                   "the slave; its log says why. The other broker serves.\n",
                   config_file.c_str(), static_cast<int>(pid));
      return kExitRuntimeFailure;
    }
    if (auto s = query_status(status, 2000); s) {
      last = *s;
      if (line_says(last, "role: slave") && line_says(last, "in sync: yes")) {
        std::printf("in sync again as the slave, %.1f s after the handover\n",
                    static_cast<double>(mono_ms() - started) / 1000.0);
        return kExitClean;
      }
    }
    ::poll(nullptr, 0, 200);
  }
  std::fprintf(stderr,
               "twinmq switchover (%s): handed over, but this broker is not an in-sync slave after %d s; its log "
               "says why (`twinmq status --config %s`)%s%s\n",
               config_file.c_str(), timeout_s, config_file.c_str(), last.empty() ? "" : ". Last status:\n",
               last.c_str());
  return kExitRuntimeFailure;
}

int restart_as_slave(int argc, char** argv, const RestartAsSlave& restart) {
  std::vector<std::string> args;
  args.emplace_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--rejoin" || a == "--rejoin-user") {
      ++i;  // and its value
      continue;
    }
    if (a == "--discard-forked-tail" || a == "--claim-witness") continue;
    args.emplace_back(a);
  }
  if (!restart.rejoin_uri.empty()) {
    args.emplace_back("--rejoin");
    args.push_back(restart.rejoin_uri);
    if (!restart.rejoin_user.empty()) {
      args.emplace_back("--rejoin-user");
      args.push_back(restart.rejoin_user);
    }
  }
  std::string shown;
  for (const auto& a : args) shown += (shown.empty() ? "" : " ") + a;
  spdlog::warn("[event=switchover_restart] restarting as the slave: {}", shown);
  spdlog::default_logger()->flush();
  std::fflush(stdout);
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);
  ::execv("/proc/self/exe", raw.data());
  spdlog::error("cannot restart as the slave ({}): {}; start it yourself: {}", "/proc/self/exe", std::strerror(errno),
                shown);
  return kExitRuntimeFailure;
}

}  // namespace twinmq::app
