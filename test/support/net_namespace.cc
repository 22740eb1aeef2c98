// test/support/net_namespace.cc — (test/support/net_namespace.h).
#include "support/net_namespace.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "support/test_ca.h"
#include "support/wait_until.h"

namespace twinmq::test {

namespace {

constexpr Ms kReadyTimeout{10'000};

bool on_path(const char* program) {
  std::string output;
  try {
    return run_program({"sh", "-c", std::string("command -v ") + program}, output) == 0;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string NetNamespace::unavailable_reason() {
  if (::geteuid() != 0) return "not root: creating a network namespace needs CAP_SYS_ADMIN";
  for (const char* p : {"unshare", "nsenter", "ip"})
    if (!on_path(p)) return std::string("no '") + p + "' on PATH (Debian's util-linux and iproute2)";
  return {};
}

NetNamespace::NetNamespace(std::string address) : address_(std::move(address)) {
  const std::string script =
      "set -e; ip link set lo up; "
      "if ! ip link add d0 type dummy 2>/dev/null; then ip link add d0 type veth peer name d0p; ip link set d0p up; fi; "
      "ip addr add " + address_ + "/24 dev d0; ip link set d0 up; echo netns-ready; exec cat";
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("NetNamespace: pipe2 failed");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("NetNamespace: fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(out_pipe[1], STDERR_FILENO);
    // Without --fork, unshare enters the namespace itself and execs the shell: the pid
    // stays ours to kill and its /proc/PID/ns/net is the new namespace.
    ::execlp("unshare", "unshare", "--net", "--", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  holder_ = pid;
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  holder_stdin_ = in_pipe[1];
  std::string output;
  const auto deadline = Clock::now() + kReadyTimeout;
  bool ready = false;
  char buf[1024];
  while (!ready) {
    pollfd p{out_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, ms_left(deadline)) <= 0) break;
    const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    ready = output.find("netns-ready\n") != std::string::npos;
  }
  ::close(out_pipe[0]);
  if (!ready) {
    ::kill(holder_, SIGKILL);
    ::waitpid(holder_, nullptr, 0);
    ::close(holder_stdin_);
    throw std::runtime_error("NetNamespace: `unshare --net` with " + address_ + " did not get ready within " +
                             std::to_string(kReadyTimeout.count()) + " ms:\n" + output);
  }
  path_ = "/proc/" + std::to_string(holder_) + "/ns/net";
}

NetNamespace::~NetNamespace() {
  ::kill(holder_, SIGKILL);
  ::waitpid(holder_, nullptr, 0);
  ::close(holder_stdin_);
}

int NetNamespace::run_in(const std::vector<std::string>& args, std::string& output) const {
  std::vector<std::string> all = {"nsenter", "--net=" + path_, "--"};
  all.insert(all.end(), args.begin(), args.end());
  return run_program(all, output);
}

}  // namespace twinmq::test
