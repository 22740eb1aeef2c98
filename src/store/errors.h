// store/errors.h — the store's error codes (base/result.h: an Error carries one of
// these plus a sentence naming the file, offset and what was expected).
#pragma once

#include <string_view>

namespace twinmq::store {

enum class Errc {
  ok = 0,
  io,                   // a system call on the data directory failed (errno text in the message)
  in_use,               // another process holds the data directory's lock
  bad_identity,         // the identity file is missing fields or fails its checksum
  foreign_file,         // a segment belongs to another store (identity mismatch)
  unsupported_version,  // a file written by a newer (or unknown) format version
  corrupt,              // damage that recovery must not repair by itself (middle of the log)
  compacted,            // the sequence asked for is older than the oldest the journal holds
  bad_argument,         // a caller passed something out of range (e.g. maxSegmentSize too small)
  closed,               // the journal is closed
};

constexpr std::string_view errc_name(Errc e) {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::io: return "I/O error";
    case Errc::in_use: return "data directory in use";
    case Errc::bad_identity: return "bad store identity";
    case Errc::foreign_file: return "file of another store";
    case Errc::unsupported_version: return "unsupported format version";
    case Errc::corrupt: return "journal corrupt";
    case Errc::compacted: return "sequence compacted away";
    case Errc::bad_argument: return "bad argument";
    case Errc::closed: return "journal closed";
  }
  return "unknown";
}

}  // namespace twinmq::store
