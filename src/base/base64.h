// base/base64.h — standard base64 (RFC 4648 section 4: '+', '/', '=' padding): the
// encoding etcd's v3 JSON gateway uses for every key and value (protobuf `bytes`
// fields in JSON, witness/etcd_client), and HTTP Basic credentials (admin/basic_auth).
//
// Written here rather than taken from OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock: those
// would add libcrypto to the broker's link for thirty lines of code, and
// EVP_DecodeBlock reports padding bytes as decoded zeros, so every caller would have
// to strip them again by hand.
//
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace twinmq {

// Always padded to a multiple of 4 characters.
std::string base64_encode(std::string_view bytes);

// Strict: only the standard alphabet, length a multiple of 4, padding only at the end
// and at most two '='. Unpadded input is also accepted (a length of 4n+2 or 4n+3), as
// Go's RawStdEncoding writes it. nullopt for anything else, including non-zero bits in
// the last character that the padding says are unused.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace twinmq
