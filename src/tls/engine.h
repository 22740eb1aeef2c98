// tls/engine.h — one TLS session over two memory BIOs: the socket's bytes go in with
// feed(), plaintext comes out of read(); plaintext goes in with write(), the bytes for
// the socket come out of take_output(). OpenSSL never touches a socket, so it never
// blocks and never needs a thread: net::TcpConnection does every read and write on the
// libuv loop as it does for plain TCP (tls/context.h has the design).
//
// The one tricky thing: OpenSSL may have output to send after *any* call — handshake
// messages after feed()+read(), an alert after a failure, close_notify after
// shutdown() — so the connection looks at has_output() after every call, not only
// after write().
//
// No memory BIO in fact, but one of our own (engine.cc) that does the same job without
// its two copies: OpenSSL reads the ciphertext from the bytes given to feed() where
// they lie (they must stay valid until read() says want_more), and appends what it
// writes to the sink, which the connection sets to its own output buffer.
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

  // Ciphertext read from the socket: read by OpenSSL where it lies, so it must stay
  // valid (and the caller must not pass the same buffer to read()) until read() says
  // want_more. Bytes left unread then are copied and kept.
  void feed(const char* data, std::size_t size);
  // Forgets what feed() gave and read() has not consumed (the connection stops
  // reading: the bytes' buffer will be reused).
  void discard_input() {
    input_ = {};
    carry_.clear();
  }
  // Where the ciphertext for the socket goes: appended to `*sink` (default: a buffer
  // of the engine's own, emptied by take_output()).
  void attach_output(std::string* sink) { sink_ = sink; }

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
  // Appends the ciphertext waiting for the socket to `out` (nothing to do when `out` is the sink).
  void take_output(std::string& out);

  // For the BIO callbacks (engine.cc).
  std::string& sink() { return *sink_; }
  std::string_view& input() { return input_; }

  // Why the last call failed: OpenSSL's reasons, and the certificate check's verdict
  // when that was the cause ("certificate verify failed: unable to get local issuer
  // certificate").
  const std::string& failure() const { return failure_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done.
  std::string describe() const;

 private:
  explicit Engine(SSL* ssl) : ssl_(ssl) {}
  bool note_failure(int ret);

  SSL* ssl_;                     // owns the BIO
  std::string_view input_;       // ciphertext fed and not read yet
  std::string carry_;            // holds input_ when it outlived its caller's buffer
  std::string own_output_;       // the sink until attach_output()
  std::string* sink_ = &own_output_;
  std::string failure_;
};

}  // namespace twinmq::tls
