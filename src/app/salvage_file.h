// app/salvage_file.h — the salvage file: the messages of a forked tail (store/forked_tail.h)
// written out before twinmq-resync overwrites the store that holds them, so that
// `twinmq replay` can send them to the pair once it serves again.
//
// A salvage file is a sequence of STOMP 1.2 frames, readable with `less` and
// replayable by any tool that can send STOMP frames (each SEND is exactly the frame
// to send, minus a receipt header):
//
//   TWINMQ-SALVAGE                      the header frame; no body
//   format:1
//   store-id:<32 hex digits>            the store the messages come from
//   epoch:<n>                           its epoch
//   source:<directory>                  where it was read
//   fork-seq:<seq>                      messages enqueued after this seq (compare-stores' fork)
//   messages:<count>                    SEND frames that follow
//   bytes:<sum of their body bytes>
//   created:<UTC time, ISO 8601>
//   <blank line> NUL LF
//
//   SEND                                one per message, in enqueue order
//   destination:<where it sat at the store's end: its destination, or its DLQ>
//   persistent:true
//   priority:<0..9>
//   expires:<ms since the Unix epoch>   only when it expires
//   twinmq-salvaged-from:ID:<prefix>-<n>   its message id on the broker it came from
//   twinmq-salvaged-seq:<seq>           the event that enqueued it
//   twinmq-salvaged-timestamp:<ms>      when that broker accepted it
//   twinmq-salvaged-original-destination:<dest>   only when it sat in a DLQ
//   <the producer's own headers, in its order>
//   content-length:<n>
//   <blank line> body NUL LF
//
// Header names and values use STOMP 1.2 escaping (\n \c \\ \r). Every message was
// accepted by the broker it is salvaged from, and may have been receipted there; a
// consumer that must not see one twice keys on `twinmq-salvaged-from`.
//
// COMPATIBILITY NOTES
//  - Format 1. A reader refuses another format, and a file whose first frame is not
//    TWINMQ-SALVAGE (it is not a salvage file), naming what it found.
//  - Headers may be added to either frame; readers ignore what they do not know.
//  - `messages` must equal the SEND frames that follow: a reader refuses a file that
//    holds fewer or more (it was cut short, or edited).
//
// Written atomically (a temporary file, fsync, then a link to the final name that
// never replaces an existing file, fsync of the directory): a salvage file is complete
// or absent, and never overwrites an earlier one.
//
// Main thread of the CLI only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "stomp/frame.h"
#include "store/forked_tail.h"

namespace twinmq::app {

enum class SalvageErrc {
  ok = 0,
  io,                  // reading or writing the file failed (errno text in the message)
  exists,              // the output file exists already: never replaced
  not_a_salvage_file,  // the first frame is not TWINMQ-SALVAGE
  unsupported_format,  // a format this twinmq does not read
  malformed,           // a frame that is not STOMP, not a SEND, or a count that does not match
};

inline constexpr std::string_view kSalvageCommand = "TWINMQ-SALVAGE";
inline constexpr std::string_view kSalvagedFromHeader = "twinmq-salvaged-from";

struct SalvageHeader {
  std::uint32_t format = 1;
  std::string store_id;
  std::uint64_t epoch = 0;
  std::string source;
  std::uint64_t fork_seq = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::string created;
};

// One SEND of the file; views valid during the callback only.
struct SalvagedSend {
  std::uint64_t index = 0;                 // 0-based position in the file
  std::string_view destination;
  std::span<const stomp::Header> headers;  // every header but destination and content-length
  std::string_view body;
};

// Writes the live messages of `tail` to `path` (see above).
Result<SalvageHeader> write_salvage_file(const std::string& path, const store::ForkedTail& tail);

// Reads `path` frame by frame: checks the header frame, then calls `each` for every
// SEND in order (return false to stop early). A file that is not a salvage file, has
// another format, or holds another number of messages than its header says fails
// before `each` is called for a message after the bad spot; check_salvage_file reads
// it all without sending anything, so a caller can refuse before it starts.
using SalvageVisitor = std::function<bool(const SalvagedSend&)>;
Result<SalvageHeader> read_salvage_file(const std::string& path, const SalvageVisitor& each);
Result<SalvageHeader> check_salvage_file(const std::string& path);

}  // namespace twinmq::app
