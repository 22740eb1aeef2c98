#include "support/test_ca.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "support/wait_until.h"

namespace twinmq::test {
namespace {

constexpr std::chrono::milliseconds kOpensslTimeout{30'000};

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

void run_openssl(const std::vector<std::string>& args) {
  std::string output;
  if (run_program(args, output) != 0) throw std::runtime_error("`" + joined(args) + "` failed:\n" + output);
}

}  // namespace

int run_program(const std::vector<std::string>& args, std::string& output) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + kOpensslTimeout;
  char buf[4096];
  while (true) {  // until EOF on the pipe: the child (and anything it started) is gone
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int left = ms_left(deadline);
    if (left <= 0 || ::poll(&p, 1, left) <= 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::close(pipe_fds[0]);
      throw std::runtime_error("`" + joined(args) + "` did not finish within " +
                               std::to_string(kOpensslTimeout.count()) + " ms");
    }
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);  // its output closed: it has exited
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TestCa::TestCa(std::filesystem::path dir, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)), cert_(dir_ / (name_ + "-ca.pem")), key_(dir_ / (name_ + "-ca.key")) {
  std::filesystem::create_directories(dir_);
  run_openssl({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", key_.string(), "-out", cert_.string(), "-days", "2", "-subj", "/CN=" + name_ + " test CA"});
}

IssuedCertificate TestCa::issue(std::string_view common_name, const std::vector<std::string>& more_ips) const {
  const std::string base = name_ + "-" + std::string(common_name);
  std::string san = "subjectAltName=DNS:localhost,IP:127.0.0.1";
  for (const std::string& ip : more_ips) san += ",IP:" + ip;
  IssuedCertificate out{dir_ / (base + ".pem"), dir_ / (base + ".key")};
  run_openssl({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", out.private_key.string(), "-out", out.certificate.string(), "-days", "2", "-subj",
               "/CN=" + std::string(common_name), "-CA", cert_.string(), "-CAkey", key_.string(), "-addext",
               san, "-addext", "basicConstraints=critical,CA:FALSE"});
  return out;
}

}  // namespace twinmq::test
