// client/tls_options.h — the client library's TLS: a tls::Context built from the
// application's TlsOptions (twinmq/client.h), with the library's error codes.
//
// Built once per SyncClient, and once per FailoverClient for all its `ssl://` members
// (the files are read at connect time, so a reconnect never fails on a file that went
// away since). Loop thread of its owner.
#pragma once

#include <memory>

#include "base/result.h"
#include "tls/context.h"
#include "twinmq/client.h"

namespace twinmq::client {

// Errc::bad_argument naming the file and what is wrong with it ("TLS: trustedCAs file
// 'ca.pem' ...").
Result<std::shared_ptr<tls::Context>> make_tls_context(const TlsOptions& options);

}  // namespace twinmq::client
