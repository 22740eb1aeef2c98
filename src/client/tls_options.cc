// client/tls_options.cc — see tls_options.h.
#include "client/tls_options.h"

namespace twinmq::client {

Result<std::shared_ptr<tls::Context>> make_tls_context(const TlsOptions& options) {
  auto context = tls::Context::create(tls::Role::client, {.certificate = options.certificate,
                                                          .private_key = options.private_key,
                                                          .trusted_cas = options.trusted_cas});
  if (!context) return make_error(Errc::bad_argument, "TLS: " + context.error().message);
  return std::move(*context);
}

}  // namespace twinmq::client
