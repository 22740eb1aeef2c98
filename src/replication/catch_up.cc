#include "replication/catch_up.h"

#include <spdlog/spdlog.h>

#include "base/clock.h"

namespace twinmq::replication {

JournalSender::JournalSender(const store::Journal& journal, Seq from, Seq upto, std::string slave)
    : journal_(journal), next_{from.value + 1}, upto_(upto), slave_(std::move(slave)), started_ms_(mono_ms()) {}

bool JournalSender::pump(std::string& out, std::size_t budget) {
  if (!failure_.empty()) return false;
  if (!cursor_) {
    if (next_ > upto_) return true;  // nothing missed
    if (journal_.last_durable_seq() < upto_) return false;  // the writer still has the last records
    auto c = journal_.read_from(next_);
    if (!c) {
      failure_ = "cannot read the journal from seq " + std::to_string(next_.value) + " for the catch-up: " +
                 c.error().message;
      return false;
    }
    cursor_.emplace(std::move(*c));
  }
  const std::size_t start = out.size();
  bool ended = false;  // no record left up to upto_
  while (out.size() - start + batch_.bytes() < budget) {
    auto rec = cursor_->next();
    if (!rec) {
      failure_ = "journal read failed during the catch-up: " + rec.error().message;
      return false;
    }
    if (!*rec || (*rec)->seq > upto_) {
      ended = true;
      break;
    }
    const store::RecordView& r = **rec;
    // Seqs with no record after the slave's position are SENDs consumed before they
    // were written, with their removals (Journal::cancel): the decision made sure that
    // no non-persistent event lies after it (last_unjournaled_seq), so the slave gets
    // them as a cancelled gap. Any other hole would leave one in the slave's sequence.
    if (r.seq > next_ && r.seq.value - r.skipped <= next_.value && store::is_event_record(r.type) &&
        journal_.last_unjournaled_seq() < next_) {
      batch_.add_cancelled(Seq{r.seq.value - 1}, 0);
      next_ = r.seq;
    }
    if (r.seq != next_ || !store::is_event_record(r.type)) {
      failure_ = "the journal does not hold seq " + std::to_string(next_.value) + " whole (found a " +
                 std::string(store::record_type_name(r.type)) + " record at seq " + std::to_string(r.seq.value) +
                 " covering " + std::to_string(r.skipped) + " skipped seqs)";
      return false;
    }
    batch_.add(r.seq, static_cast<std::uint16_t>(r.type), r.payload);
    ++records_;
    next_ = Seq{r.seq.value + 1};
    if (batch_.full()) batch_.finish_events(out);
  }
  if (ended && next_ <= upto_ && journal_.last_unjournaled_seq() < next_) {
    // The last seqs up to `upto` have no record: cancelled too (everything up to `upto`
    // was durable when the cursor was opened).
    batch_.add_cancelled(upto_, 0);
    next_ = Seq{upto_.value + 1};
  }
  if (next_ <= upto_) {
    if (!batch_.empty()) batch_.finish_events(out);
    // Budget spent (more next turn) or the cursor ended early (a bug: records up to
    // `upto` were durable when it was opened, and only cancelled seqs have none).
    if (ended) failure_ = "the journal ended at seq " + std::to_string(next_.value - 1) + " before seq " +
                          std::to_string(upto_.value);
    return false;
  }
  if (!batch_.empty()) batch_.finish_events(out);
  spdlog::info("replication: catch-up of slave {}: {} events from the journal queued in {:.2f} s; streaming from seq "
               "{}",
               slave_, records_, static_cast<double>(mono_ms() - started_ms_) / 1000.0, upto_.value + 1);
  return true;
}

}  // namespace twinmq::replication
