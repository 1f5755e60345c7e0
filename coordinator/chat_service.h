// The public API, tpserve.v1.ChatService, on gRPC's callback API.
//
// Chat takes its request as raw bytes (so bad UTF-8 can be reported as INVALID_ARGUMENT naming
// the field, see wire_utf8.h) and hands each call to a ChatCall. ListModels reports the
// catalogue with live replica counts. Both check the bearer token first.
//
// Threading: no thread is dedicated to a call. gRPC runs the handlers and reactions on its
// callback thread pool; an idle stream (waiting in the queue or for the leader's next token)
// holds no thread. Admission (template + tokenization) runs on the handler's thread.
#ifndef TPSERVE_COORDINATOR_CHAT_SERVICE_H_
#define TPSERVE_COORDINATOR_CHAT_SERVICE_H_

#include "coordinator/chat_call.h"
#include "tpserve/v1/chat.grpc.pb.h"

namespace tpserve::coordinator {

class ChatService final : public tpserve::v1::ChatService::WithRawCallbackMethod_Chat<
                              tpserve::v1::ChatService::WithCallbackMethod_ListModels<
                                  tpserve::v1::ChatService::Service>> {
 public:
  explicit ChatService(ChatDeps deps) : deps_(deps) {}

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Chat(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const tpserve::v1::ListModelsRequest* request,
                                       tpserve::v1::ListModelsResponse* response) override;

  // What ListModels answers (without the token check).
  tpserve::v1::ListModelsResponse Models() const;

 private:
  ChatDeps deps_;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_CHAT_SERVICE_H_
