// Admission of a chat request: validation, chat template, tokenization and limits, producing the
// Generate request for a leader and what the streamer needs to turn its ids back into text.
//
//   Admission admission(catalogue, membership, /*image_counter=*/nullptr);
//   ASSIGN_OR_RETURN(AdmittedRequest admitted, admission.Admit(chat_request));
//
// Errors (each names the field): InvalidArgument for a bad request (ValidateChatRequestFields,
// roles the template refuses, images for a model without vision, max_tokens or the prompt over
// the context length); NotFound for an unknown model (listing the available ones); Unimplemented
// for images until vision lands (image_token_counter.h); FailedPrecondition when the model's
// directory cannot be loaded by the coordinator.
//
// The context length of a model is the smaller of its config's max_position_embeddings and the
// smallest max_context its ready leaders report. The prompt must leave room for max_tokens:
// prompt + max_tokens <= context length.
//
// Thread-safe (const; the catalogue and membership are).
#ifndef TPSERVE_COORDINATOR_ADMISSION_H_
#define TPSERVE_COORDINATOR_ADMISSION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/catalogue.h"
#include "coordinator/image_token_counter.h"
#include "coordinator/membership.h"
#include "coordinator/model_assets.h"
#include "coordinator/router.h"
#include "nlohmann/json.hpp"
#include "tpserve/cluster/v1/cluster.pb.h"
#include "tpserve/v1/chat.pb.h"

namespace tpserve::coordinator {

struct AdmittedRequest {
  std::string request_id;  // the client's, or a generated one
  std::string model;
  std::shared_ptr<const ModelAssets> assets;
  tpserve::cluster::v1::GenerateRequest generate;  // for the leader
  RouteRequest route;
  std::vector<std::string> stop_strings;
  bool starts_in_reasoning = false;  // the prompt ends inside an open <think> block
  nlohmann::ordered_json tools;      // the request's tools, for typing tool-call arguments
  int32_t prompt_tokens = 0;
  int32_t context_length = 0;
};

class Admission {
 public:
  // `image_counter` may be null (images are refused with Unimplemented).
  Admission(Catalogue& catalogue, const Membership& membership,
            const ImageTokenCounter* image_counter);

  absl::StatusOr<AdmittedRequest> Admit(const tpserve::v1::ChatRequest& request) const;

  int32_t ContextLength(const ModelEntry& entry) const;

 private:
  Catalogue& catalogue_;
  const Membership& membership_;
  const ImageTokenCounter* image_counter_;
};

// A fresh request id ("chat-" and 16 hex digits).
std::string NewRequestId();

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_ADMISSION_H_
