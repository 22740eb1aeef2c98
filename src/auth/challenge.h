// auth/challenge.h — the replication link's challenge-response: a slave proves it
// knows its <masterConnector> password without sending it.
//
// Why: over a tcp:// link the Hello used to carry the password in clear. Now the
// master answers a Hello that asks for it with a Challenge (a fresh random nonce, and
// the crypt(3) setting of the user's stored hash: its scheme, cost and salt, never the
// hash itself), and the slave answers with a Proof: HMAC-SHA256 keyed with the stored
// form of the password (the password itself when the master keeps it in plain text,
// else crypt(password, setting), which is the stored hash), over the nonce and the user
// name. The master computes the same from what it stores, with no slow hash on its
// loop; a sniffer sees only a one-time proof.
//
// The price: for this link a stored hash is as good as the password (who can read the
// master's configuration can attach a slave), as with any challenge-response that does
// not store a dedicated verifier. ssl:// encrypts the whole link besides.
//
// Pure functions (random_nonce reads OpenSSL's generator); any thread. challenge_key
// with a setting is a crypt(3) call: slow by design, tens of milliseconds for yescrypt.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "auth/password.h"
#include "base/result.h"

namespace twinmq::auth {

inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kProofSize = 32;  // HMAC-SHA256
using Nonce = std::array<std::uint8_t, kNonceSize>;
using Proof = std::array<std::uint8_t, kProofSize>;

Nonce random_nonce();

// What the master sends with its challenge: "" for a plain-text password, else the
// crypt(3) setting of the stored hash (all of it but the hash proper).
std::string challenge_setting(const StoredPassword& stored);

// The setting sent for a user name the master does not have: one of the decoy's scheme
// (auth/security.h) with a salt derived from the name and a secret of this process, so
// the same name always gets the same setting and a challenge does not tell an unknown
// user from a real one ("" when the decoy is plain text, as a real user's would be;
// with users of both kinds a plain-text one is still told apart by its empty setting,
// one more reason for the start-up warning about plain-text passwords).
std::string unknown_user_setting(const StoredPassword& decoy, std::string_view user);

// The slave's side: the key its proof is made with. Error: the password holds a NUL
// byte, or the setting is not one libcrypt takes (a master of another build).
Result<std::string> challenge_key(std::string_view password, std::string_view setting);

// The master's side: the same key, from what it stores.
inline const std::string& stored_key(const StoredPassword& stored) { return stored.text(); }

Proof challenge_proof(std::string_view key, std::span<const std::uint8_t> nonce, std::string_view user);

}  // namespace twinmq::auth
