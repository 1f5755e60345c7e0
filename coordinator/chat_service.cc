#include "coordinator/chat_service.h"

#include "proto/grpc_status.h"

namespace tpserve::coordinator {

namespace pb = ::tpserve::v1;

grpc::ServerWriteReactor<grpc::ByteBuffer>* ChatService::Chat(grpc::CallbackServerContext* context,
                                                              const grpc::ByteBuffer* request) {
  return ChatCall::Start(deps_, context, *request);
}

pb::ListModelsResponse ChatService::Models() const {
  pb::ListModelsResponse response;
  const std::vector<GroupStatus> groups = deps_.membership.Groups();
  for (const ModelEntry& entry : deps_.catalogue.List()) {
    pb::ModelInfo* info = response.add_models();
    info->set_name(entry.name);
    info->set_tier(entry.tier);
    for (const std::string& c : entry.capabilities) info->add_capabilities(c);
    info->set_context_length(deps_.admission.ContextLength(entry));
    int replicas = 0, ready = 0;
    for (const GroupStatus& g : groups) {
      if (g.key.model != entry.name) continue;
      ++replicas;
      if (g.ready()) ++ready;
    }
    info->set_replicas(replicas);
    info->set_ready_replicas(ready);
    info->set_random_weights(entry.spec.random_weights);
  }
  return response;
}

grpc::ServerUnaryReactor* ChatService::ListModels(grpc::CallbackServerContext* context,
                                                  const pb::ListModelsRequest* /*request*/,
                                                  pb::ListModelsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status auth = deps_.auth.Check(context->client_metadata());
  if (auth.ok()) *response = Models();
  reactor->Finish(ToGrpcStatus(auth));
  return reactor;
}

}  // namespace tpserve::coordinator
