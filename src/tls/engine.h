// tls/engine.h — one TLS session over two memory BIOs: the socket's bytes go in with
// feed(), plaintext comes out of read(); plaintext goes in with write(), the bytes for
// the socket come out of take_output(). OpenSSL never touches a socket, so it never
// blocks and never needs a thread: net::TcpConnection does every read and write on the
// libuv loop as it does for plain TCP (tls/context.h has the design).
//
// The one tricky thing: OpenSSL may have output to send after *any* call — handshake
// messages after feed()+read(), an alert after a failure, close_notify after
// shutdown() — so the connection drains take_output() after every call, not only
// after write().
//
// Lifecycle: owned by one net::TcpConnection (unique_ptr), freed with it. Holds a
// reference on the Context's SSL_CTX. Loop thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "tls/context.h"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace twinmq::tls {

class Engine {
 public:
  // A server engine (accepted connection) or a client engine (dialled) from the
  // context's role. `verify_host`: a client checks the server's certificate names it
  // (DNS name or IP address; empty = chain only).
  static std::unique_ptr<Engine> create(const Context& context, std::string_view verify_host = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Ciphertext read from the socket (copied into the read BIO).
  void feed(const char* data, std::size_t size);

  enum class ReadStatus {
    data,       // `n` bytes of plaintext were written to the buffer
    want_more,  // nothing more until more ciphertext is fed
    closed,     // the peer sent close_notify
    failed,     // handshake or protocol failure: failure() says why; the connection must close
  };
  ReadStatus read(char* buffer, std::size_t capacity, std::size_t& n);

  // Client: starts (or continues) the handshake without data to read (the ClientHello).
  // False on failure.
  bool handshake();
  bool handshake_done() const;
  // Encrypts all of `plain` (only after the handshake). False on failure.
  bool write(std::string_view plain);
  // Queues close_notify (after the handshake; a no-op before it).
  void shutdown();

  bool has_output() const;
  // Appends the ciphertext waiting for the socket to `out`.
  void take_output(std::string& out);

  // Why the last call failed: OpenSSL's reasons, and the certificate check's verdict
  // when that was the cause ("certificate verify failed: unable to get local issuer
  // certificate").
  const std::string& failure() const { return failure_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done.
  std::string describe() const;

 private:
  explicit Engine(SSL* ssl, BIO* in, BIO* out) : ssl_(ssl), in_(in), out_(out) {}
  bool note_failure(int ret);

  SSL* ssl_;
  BIO* in_;   // ciphertext from the peer; owned by ssl_
  BIO* out_;  // ciphertext for the peer; owned by ssl_
  std::string failure_;
};

}  // namespace twinmq::tls
