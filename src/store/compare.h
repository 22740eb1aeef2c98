// store/compare.h — `twinmq compare-stores A B`: where the histories of two stores of
// one pair fork, and what B (the store that recovery would overwrite) holds after the
// fork that A (the store that would be kept) never had.
//
// Why: after a link cut without a witness both brokers serve; the old master keeps
// confirming persistent SENDs the promoted slave never sees. Copying the promoted
// slave's store over the old master's (twinmq-resync, README "Recovering the pair
// after a failover") would then destroy those messages. The rule is that recovery
// never destroys a confirmed message silently: twinmq-resync runs this comparison
// first and refuses while B holds anything after the fork, unless the operator
// salvages it (app/salvage_file.h) or says to discard it.
//
// The steps: read both histories (store/history.h; A may also be a history file made
// on another machine), refuse two different stores, find the fork (find_fork), then
// replay B and describe its events after the fork (store/forked_tail.h).
//
// Exit codes of the command (app/cmd_compare_stores.cc): 0 B holds nothing after the
// fork, 1 it does (the listing), 2 bad usage or a store that cannot be read.
//
// Single-threaded, no loop; both stores must be stopped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "base/result.h"
#include "store/forked_tail.h"
#include "store/history.h"

namespace twinmq::store {

// What "accepted" means for every event of B's tail (see store/forked_tail.h).
inline constexpr std::string_view kReceiptMayHaveBeenSent = "accepted (a receipt may have been sent)";

struct StoreComparison {
  StoreHistory a;               // kept (records dropped after the comparison)
  StoreHistory b;               // overwritten (records dropped after the comparison)
  ForkPoint fork;
  std::uint64_t a_after_fork = 0;  // A's event records after the fork (kept anyway)
  ForkedTail b_tail;               // B's events after the fork

  bool b_holds_more() const { return !b_tail.empty(); }
};

// `a` is a store directory (or dataDirectory) or a history file; `b` a store directory.
// Errors: a store that cannot be read (named, with the side), two different stores.
Result<StoreComparison> compare_stores(const std::string& a, const std::string& b);

// The report for people.
void print_comparison(const StoreComparison& c, std::FILE* out);

// The same facts as JSON (`compare-stores --json`, read by twinmq-resync):
//   a, b: {source, store_id, epoch, checkpoint_seq, first_seq, last_seq, events_after_fork}
//   fork: {seq, exact, window_first, window_last, agreed_events, why}
//   b_after_fork: {events, messages_enqueued, messages_live, live_bytes,
//     transactions_committed, destinations [{name, enqueued, first_seq, last_seq, bytes,
//     live, live_bytes, removed, acked, dead_lettered}], destinations_added [..],
//     destinations_removed [..], durable_subscriptions_added [{client_id, name, topic}],
//     durable_subscriptions_removed [{client_id, name}]}
//   receipts: kReceiptMayHaveBeenSent
// COMPATIBILITY NOTES: fields are only ever added.
std::string comparison_json(const StoreComparison& c);

}  // namespace twinmq::store
