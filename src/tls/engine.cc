#include "tls/engine.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "base/assert.h"

namespace twinmq::tls {

namespace {

// The engine's BIO: OpenSSL reads ciphertext straight from the bytes the connection
// just read (no copy into a memory BIO first) and appends what it writes straight to
// the connection's output buffer (no memory BIO to drain). Each callback finds its
// Engine through BIO_get_data.
int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) noexcept {
  BIO_clear_retry_flags(bio);
  static_cast<Engine*>(BIO_get_data(bio))->sink().append(data, size);
  *written = size;
  return 1;
}

int bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read) noexcept {
  BIO_clear_retry_flags(bio);
  std::string_view& in = static_cast<Engine*>(BIO_get_data(bio))->input();
  if (in.empty()) {
    BIO_set_retry_read(bio);  // "no data yet", not end of file
    *read = 0;
    return 0;
  }
  const std::size_t n = std::min(size, in.size());
  std::memcpy(data, in.data(), n);
  in.remove_prefix(n);
  *read = n;
  return 1;
}

long bio_ctrl(BIO* bio, int cmd, long, void*) noexcept {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return static_cast<long>(static_cast<Engine*>(BIO_get_data(bio))->input().size());
    case BIO_CTRL_WPENDING: return 0;
    default: return 0;
  }
}

int bio_create(BIO* bio) noexcept {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* engine_bio_method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "twinmq connection");
    TWINMQ_ASSERT(m != nullptr, "BIO_meth_new failed");
    BIO_meth_set_write_ex(m, &bio_write);
    BIO_meth_set_read_ex(m, &bio_read);
    BIO_meth_set_ctrl(m, &bio_ctrl);
    BIO_meth_set_create(m, &bio_create);
    return m;
  }();
  return method;
}

}  // namespace

std::unique_ptr<Engine> Engine::create(const Context& context, std::string_view verify_host) {
  SSL* ssl = SSL_new(context.ctx());
  TWINMQ_ASSERT(ssl != nullptr, "SSL_new failed");
  BIO* bio = BIO_new(engine_bio_method());
  TWINMQ_ASSERT(bio != nullptr, "BIO_new failed");
  std::unique_ptr<Engine> engine(new Engine(ssl));
  BIO_set_data(bio, engine.get());
  SSL_set_bio(ssl, bio, bio);  // ssl owns it now (one reference for both directions)
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
  return engine;
}

Engine::~Engine() { SSL_free(ssl_); }

void Engine::feed(const char* data, std::size_t size) {
  if (input_.empty()) {
    input_ = std::string_view(data, size);
    return;
  }
  // A caller that stopped reading before want_more left bytes behind: keep them, in order.
  carry_.assign(input_);
  carry_.append(data, size);
  input_ = carry_;
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

bool Engine::has_output() const { return !sink_->empty(); }

void Engine::take_output(std::string& out) {
  if (&out == sink_ || sink_->empty()) return;
  out.append(*sink_);
  sink_->clear();
}

std::string Engine::describe() const {
  return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

}  // namespace twinmq::tls
