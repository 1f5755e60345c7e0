#include "worker/plan_codec.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace tpserve::worker {

void EncodePlan(const shard::StepPlan& plan, cluster::v1::StepPlan* out) {
  out->Clear();
  out->set_step_id(plan.step_id);
  for (int32_t s : plan.release_slots) out->add_release_slots(s);
  for (const shard::SequenceStep& seq : plan.sequences) {
    cluster::v1::SequenceStep* p = out->add_sequences();
    p->set_slot(seq.slot);
    p->set_start_index(seq.start_index);
    p->mutable_token_ids()->Add(seq.token_ids.begin(), seq.token_ids.end());
    for (const auto& pos : seq.positions) {
      cluster::v1::Position* q = p->add_positions();
      q->set_t(pos[0]);
      q->set_h(pos[1]);
      q->set_w(pos[2]);
    }
    p->set_position_offset(seq.position_offset);
    p->set_logits(seq.logits == shard::LogitsMode::kNone   ? cluster::v1::LOGITS_NONE
                  : seq.logits == shard::LogitsMode::kLast ? cluster::v1::LOGITS_LAST
                                                           : cluster::v1::LOGITS_ALL);
    p->set_new_sequence(seq.new_sequence);
    for (const shard::StepImage& img : seq.images) {
      cluster::v1::StepImage* q = p->add_images();
      if (img.bytes != nullptr) q->set_data(*img.bytes);
      q->set_first_token(img.first_token);
    }
  }
}

absl::StatusOr<shard::StepPlan> DecodePlan(const cluster::v1::StepPlan& in) {
  shard::StepPlan plan;
  plan.step_id = in.step_id();
  plan.release_slots.assign(in.release_slots().begin(), in.release_slots().end());
  for (int i = 0; i < in.sequences_size(); ++i) {
    const cluster::v1::SequenceStep& p = in.sequences(i);
    shard::SequenceStep seq;
    seq.slot = p.slot();
    seq.start_index = p.start_index();
    seq.token_ids.assign(p.token_ids().begin(), p.token_ids().end());
    if (p.positions_size() != 0 && p.positions_size() != p.token_ids_size()) {
      return absl::InvalidArgumentError(absl::StrCat("step ", in.step_id(), " sequence ", i, ": ",
                                                     p.positions_size(), " positions for ",
                                                     p.token_ids_size(), " tokens"));
    }
    for (const auto& q : p.positions()) seq.positions.push_back({q.t(), q.h(), q.w()});
    seq.position_offset = p.position_offset();
    switch (p.logits()) {
      case cluster::v1::LOGITS_NONE:
        seq.logits = shard::LogitsMode::kNone;
        break;
      case cluster::v1::LOGITS_LAST:
        seq.logits = shard::LogitsMode::kLast;
        break;
      case cluster::v1::LOGITS_ALL:
        seq.logits = shard::LogitsMode::kAll;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("step ", in.step_id(), " sequence ", i,
                                                       ": unknown logits mode ", p.logits()));
    }
    seq.new_sequence = p.new_sequence();
    for (const cluster::v1::StepImage& q : p.images()) {
      if (q.data().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("step ", in.step_id(), " sequence ", i, ": an image without bytes"));
      }
      seq.images.push_back({std::make_shared<const std::string>(q.data()), q.first_token()});
    }
    plan.sequences.push_back(std::move(seq));
  }
  return plan;
}

}  // namespace tpserve::worker
