#include "store/compare.h"

#include "base/json_writer.h"
#include "store/errors.h"
#include "store/verify.h"

namespace twinmq::store {

namespace {

std::string n(std::uint64_t v) { return std::to_string(v); }

std::string plural(std::uint64_t count, std::string_view one, std::string_view many) {
  return n(count) + " " + std::string(count == 1 ? one : many);
}

std::string describe_store(const StoreHistory& h) {
  std::string s = h.source + ": store " + h.identity.id.to_string() + ", epoch " + n(h.identity.epoch) + ", seq " +
                  n(h.first_seq.value) + ".." + n(h.last_seq.value);
  if (h.checkpoint_seq) s += " (and a checkpoint up to " + n(h.checkpoint_seq.value) + ")";
  return s;
}

std::string fork_text(const ForkPoint& f) {
  std::string s = f.exact ? "after seq " + n(f.seq.value) : "at or before seq " + n(f.seq.value);
  s += ": " + f.why;
  if (f.window_last >= f.window_first) {
    s += "; compared seq " + n(f.window_first.value) + ".." + n(f.window_last.value) + " record by record, " +
         plural(f.agreed, "event", "events") + " the same";
  }
  if (!f.exact) {
    s += ". Before seq " + n(f.window_first.value) +
         " one store keeps only a checkpoint, which cannot be compared record by record";
  }
  return s;
}

void history_json(JsonWriter& j, const StoreHistory& h, std::uint64_t after_fork) {
  j.begin_object();
  j.key("source").value(h.source);
  j.key("store_id").value(h.identity.id.to_string());
  j.key("epoch").value(h.identity.epoch);
  j.key("checkpoint_seq").value(h.checkpoint_seq.value);
  j.key("first_seq").value(h.first_seq.value);
  j.key("last_seq").value(h.last_seq.value);
  j.key("events_after_fork").value(after_fork);
  j.end_object();
}

}  // namespace

Result<StoreComparison> compare_stores(const std::string& a_spec, const std::string& b_spec) {
  auto side = [](std::string_view which, const Error& e) {
    return std::unexpected(Error{e.code, std::string(which) + ": " + e.message});
  };
  auto a = is_history_file(a_spec) ? read_history_file(a_spec) : load_history(a_spec);
  if (!a) return side("A (the store to keep)", a.error());
  auto b = load_history(b_spec);
  if (!b) return side("B (the store to overwrite)", b.error());
  if (a->identity.id != b->identity.id) {
    return make_error(Errc::foreign_file,
                      "A and B hold different stores (A " + a->identity.id.to_string() + ", B " +
                          b->identity.id.to_string() +
                          "): they are not the two halves of one pair, so they share no history to compare");
  }
  StoreComparison c;
  c.fork = find_fork(*a, *b);
  c.a_after_fork = records_after(*a, c.fork.seq);
  auto tail = read_forked_tail(b->source, c.fork.seq, false);
  if (!tail) return side("B (the store to overwrite)", tail.error());
  c.b_tail = std::move(*tail);
  c.a = std::move(*a);
  c.b = std::move(*b);
  c.a.records = {};
  c.b.records = {};
  return c;
}

void print_comparison(const StoreComparison& c, std::FILE* out) {
  const ForkedTail& t = c.b_tail;
  std::fprintf(out, "A (kept)         %s\n", describe_store(c.a).c_str());
  std::fprintf(out, "B (overwritten)  %s\n", describe_store(c.b).c_str());
  std::fprintf(out, "fork             %s\n", fork_text(c.fork).c_str());
  std::fprintf(out, "A after it       %s (kept)\n", plural(c.a_after_fork, "event", "events").c_str());
  if (t.empty()) {
    std::fprintf(out, "B after it       nothing: overwriting B loses nothing that A does not hold\n");
    return;
  }
  std::fprintf(out, "B after it       %s that A never had. Each was durable on B while B served, so B may\n"
                    "                 have sent a receipt for any of them; the store does not record which.\n",
               plural(t.events, "event", "events").c_str());
  for (const auto& [name, d] : t.destinations) {
    std::fprintf(out, "  %s\n", name.c_str());
    if (d.enqueued != 0) {
      std::fprintf(out, "    enqueued  %s, seq %llu..%llu, %s: %s\n",
                   plural(d.enqueued, "message", "messages").c_str(),
                   static_cast<unsigned long long>(d.first_seq.value),
                   static_cast<unsigned long long>(d.last_seq.value), human_bytes(d.bytes).c_str(),
                   std::string(kReceiptMayHaveBeenSent).c_str());
      std::fprintf(out, "    live      %llu still there at B's end (%s)%s\n", static_cast<unsigned long long>(d.live),
                   human_bytes(d.live_bytes).c_str(),
                   d.live != 0 ? ": lost if B is overwritten without salvaging them" : "");
    }
    if (d.removed != 0) {
      std::fprintf(out, "    removed   %s enqueued before the fork (%llu acknowledged): A still holds %s and\n"
                        "              delivers %s again (duplicates, not loss)\n",
                   plural(d.removed, "message", "messages").c_str(), static_cast<unsigned long long>(d.acked),
                   d.removed == 1 ? "it" : "them", d.removed == 1 ? "it" : "them");
    }
    if (d.dead_lettered != 0) {
      std::fprintf(out, "    dead-lettered %s enqueued before the fork: A still holds %s where %s was\n",
                   plural(d.dead_lettered, "message", "messages").c_str(), d.dead_lettered == 1 ? "it" : "them",
                   d.dead_lettered == 1 ? "it" : "they");
    }
  }
  if (t.transactions != 0)
    std::fprintf(out, "  transactions committed: %llu (their sends and acknowledgements are counted above)\n",
                 static_cast<unsigned long long>(t.transactions));
  for (const std::string& d : t.destinations_added) std::fprintf(out, "  destination added: %s\n", d.c_str());
  for (const std::string& d : t.destinations_removed) std::fprintf(out, "  destination removed: %s\n", d.c_str());
  for (const DurableTail& d : t.durables_added)
    std::fprintf(out, "  durable subscription made: client-id %s, name %s, topic %s (subscribe again to make it on A)\n",
                 d.client_id.c_str(), d.name.c_str(), d.topic.c_str());
  for (const DurableTail& d : t.durables_removed)
    std::fprintf(out, "  durable subscription removed: client-id %s, name %s\n", d.client_id.c_str(), d.name.c_str());
  if (t.live != 0) {
    std::fprintf(out, "%s (%s) would be lost by overwriting B. Salvage them first:\n"
                      "  twinmq salvage --from %s --fork-seq %llu --out FILE\n"
                      "and once the pair serves again, send them to it:\n"
                      "  twinmq replay FILE --to URI\n",
                 plural(t.live, "live message", "live messages").c_str(), human_bytes(t.live_bytes).c_str(),
                 t.dir.c_str(), static_cast<unsigned long long>(c.fork.seq.value));
  } else {
    std::fprintf(out, "No message enqueued on B after the fork is still there at its end: nothing to salvage.\n");
  }
}

std::string comparison_json(const StoreComparison& c) {
  const ForkedTail& t = c.b_tail;
  JsonWriter j;
  j.begin_object();
  j.key("a");
  history_json(j, c.a, c.a_after_fork);
  j.key("b");
  history_json(j, c.b, t.events);
  j.key("fork").begin_object();
  j.key("seq").value(c.fork.seq.value);
  j.key("exact").value(c.fork.exact);
  j.key("window_first").value(c.fork.window_first.value);
  j.key("window_last").value(c.fork.window_last.value);
  j.key("agreed_events").value(c.fork.agreed);
  j.key("why").value(c.fork.why);
  j.end_object();
  j.key("b_after_fork").begin_object();
  j.key("events").value(t.events);
  j.key("messages_enqueued").value(t.messages);
  j.key("messages_live").value(t.live);
  j.key("live_bytes").value(t.live_bytes);
  j.key("transactions_committed").value(t.transactions);
  j.key("destinations").begin_array();
  for (const auto& [name, d] : t.destinations) {
    j.begin_object();
    j.key("name").value(name);
    j.key("enqueued").value(d.enqueued);
    j.key("first_seq").value(d.first_seq.value);
    j.key("last_seq").value(d.last_seq.value);
    j.key("bytes").value(d.bytes);
    j.key("live").value(d.live);
    j.key("live_bytes").value(d.live_bytes);
    j.key("removed").value(d.removed);
    j.key("acked").value(d.acked);
    j.key("dead_lettered").value(d.dead_lettered);
    j.end_object();
  }
  j.end_array();
  j.key("destinations_added").begin_array();
  for (const std::string& d : t.destinations_added) j.value(d);
  j.end_array();
  j.key("destinations_removed").begin_array();
  for (const std::string& d : t.destinations_removed) j.value(d);
  j.end_array();
  j.key("durable_subscriptions_added").begin_array();
  for (const DurableTail& d : t.durables_added) {
    j.begin_object().key("client_id").value(d.client_id).key("name").value(d.name).key("topic").value(d.topic);
    j.end_object();
  }
  j.end_array();
  j.key("durable_subscriptions_removed").begin_array();
  for (const DurableTail& d : t.durables_removed) {
    j.begin_object().key("client_id").value(d.client_id).key("name").value(d.name);
    j.end_object();
  }
  j.end_array();
  j.end_object();
  j.key("receipts").value(kReceiptMayHaveBeenSent);
  j.end_object();
  return j.finish();
}

}  // namespace twinmq::store
