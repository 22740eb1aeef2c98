#include "tls/engine.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/assert.h"

namespace twinmq::tls {

std::unique_ptr<Engine> Engine::create(const Context& context, std::string_view verify_host) {
  SSL* ssl = SSL_new(context.ctx());
  TWINMQ_ASSERT(ssl != nullptr, "SSL_new failed");
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  TWINMQ_ASSERT(in != nullptr && out != nullptr, "BIO_new failed");
  // An empty memory BIO means "no data yet", not end of file.
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);  // ssl owns both now
  if (context.role() == Role::server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
    if (!verify_host.empty()) {
      const std::string host(verify_host);
      // An IP literal is checked against the certificate's IP addresses, a name against its DNS names.
      if (ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str())) {
        ASN1_OCTET_STRING_free(ip);
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
      } else {
        SSL_set1_host(ssl, host.c_str());
        SSL_set_tlsext_host_name(ssl, host.c_str());
      }
    }
  }
  return std::unique_ptr<Engine>(new Engine(ssl, in, out));
}

Engine::~Engine() { SSL_free(ssl_); }

void Engine::feed(const char* data, std::size_t size) {
  // A memory BIO only fails to grow when memory runs out, which ends the process anyway.
  const int n = BIO_write(in_, data, static_cast<int>(size));
  TWINMQ_ASSERT(n == static_cast<int>(size), "BIO_write to a memory BIO failed");
}

bool Engine::note_failure(int ret) {
  const int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
  failure_ = take_openssl_errors();
  if (failure_.empty()) failure_ = e == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "TLS error";
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) failure_ += std::string(": ") + X509_verify_cert_error_string(verify);
  return true;
}

Engine::ReadStatus Engine::read(char* buffer, std::size_t capacity, std::size_t& n) {
  n = 0;
  const int ret = SSL_read_ex(ssl_, buffer, capacity, &n);
  if (ret == 1) return ReadStatus::data;
  if (SSL_get_error(ssl_, ret) == SSL_ERROR_ZERO_RETURN) return ReadStatus::closed;
  return note_failure(ret) ? ReadStatus::failed : ReadStatus::want_more;
}

bool Engine::handshake() {
  const int ret = SSL_do_handshake(ssl_);
  return ret == 1 || !note_failure(ret);
}

bool Engine::handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }

bool Engine::write(std::string_view plain) {
  if (plain.empty()) return true;
  std::size_t written = 0;
  const int ret = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE and with a memory BIO that grows, a write
  // succeeds whole or fails.
  return ret == 1 || !note_failure(ret);
}

void Engine::shutdown() {
  if (handshake_done()) SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool Engine::has_output() const { return BIO_ctrl_pending(out_) > 0; }

void Engine::take_output(std::string& out) {
  const std::size_t pending = BIO_ctrl_pending(out_);
  if (pending == 0) return;
  const std::size_t old = out.size();
  out.resize(old + pending);
  const int n = BIO_read(out_, out.data() + old, static_cast<int>(pending));
  out.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
}

std::string Engine::describe() const {
  return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

}  // namespace twinmq::tls
