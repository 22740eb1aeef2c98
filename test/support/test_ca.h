// test/support/test_ca.h — a throwaway certificate authority for the TLS tests, made
// with the `openssl` command line (Debian's openssl) in a directory of the test's own.
//
// Each TestCa is a fresh CA (EC P-256 keys, valid two days): its certificate, and
// certificates it issues on request, each for localhost and 127.0.0.1 so that both
// host-name and IP checks pass. A second TestCa is "another CA" whose certificates the
// first one's trustees must refuse. Nothing is shared between test runs.
//
// Lifecycle: owned by one test; the files live in the TempDir it is given. Every
// openssl run is bounded (kOpensslTimeout) and reaped by pid.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace twinmq::test {

struct IssuedCertificate {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path private_key;  // PEM, unencrypted
};

class TestCa {
 public:
  // Creates <dir>/<name>-ca.pem and its key. Throws std::runtime_error (with openssl's
  // output) when openssl fails.
  TestCa(std::filesystem::path dir, std::string name);

  const std::filesystem::path& certificate() const { return cert_; }
  // A certificate for `common_name` signed by this CA (SAN DNS:localhost, IP:127.0.0.1,
  // and each of `more_ips`, e.g. the address of a test's network namespace).
  IssuedCertificate issue(std::string_view common_name, const std::vector<std::string>& more_ips = {}) const;

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::filesystem::path cert_;
  std::filesystem::path key_;
};

// Runs a program (PATH lookup) with `args`, bounded; returns its exit code and fills
// `output` with stdout+stderr. Throws std::runtime_error when it does not finish in time.
int run_program(const std::vector<std::string>& args, std::string& output);

}  // namespace twinmq::test
