#include "store/store_errors.hpp"

#include <initializer_list>
#include <string_view>
#include <utility>

#include "store/record_rows.hpp"

namespace berth::store::errors {
namespace {

using rows::Quoted;

struct Collision {
  std::string_view columns;  // "table.column[, table.column]"
  std::string message;
};

Status Explain(Status status, std::initializer_list<Collision> collisions) {
  if (status.code() == ErrorCode::kNotFound) return NotFound("user not found");
  if (status.code() != ErrorCode::kAlreadyExists) return status;
  const std::string& text = status.message();
  const std::size_t colon = text.rfind(": ");
  const std::string_view columns =
      colon == std::string::npos ? std::string_view() : std::string_view(text).substr(colon + 2);
  for (const Collision& c : collisions) {
    if (columns == c.columns) return AlreadyExists(c.message);
  }
  return status;
}

constexpr const char* kContainerHash = "container token hash already exists";

}  // namespace

Status ExplainUserInsert(Status status, const User& user) {
  return Explain(std::move(status), {{"users.id", "user " + Quoted(user.id) + " already exists"}});
}

Status ExplainApiTokenInsert(Status status, const ApiToken& token) {
  return Explain(std::move(status),
                 {{"api_tokens.id", "api token " + Quoted(token.id) + " already exists"},
                  {"api_tokens.token_hash", "api token hash already exists"}});
}

Status ExplainProviderWrite(Status status, const LlmProvider& p, bool insert) {
  std::string name_taken = "provider name " + Quoted(p.name) + " already exists for this user";
  if (!insert) {
    return Explain(std::move(status),
                   {{"llm_providers.user_id, llm_providers.name", std::move(name_taken)}});
  }
  return Explain(std::move(status),
                 {{"llm_providers.id", "provider " + Quoted(p.id) + " already exists"},
                  {"llm_providers.user_id, llm_providers.name", std::move(name_taken)}});
}

Status ExplainAgentConfigWrite(Status status) { return Explain(std::move(status), {}); }

Status ExplainUserContainerWrite(Status status, const UserContainer& c, bool insert) {
  if (!insert) {
    return Explain(std::move(status), {{"user_containers.token_hash", kContainerHash},
                                       {"system_containers.token_hash", kContainerHash}});
  }
  return Explain(std::move(status),
                 {{"user_containers.id", "container record " + Quoted(c.id) + " already exists"},
                  {"user_containers.user_id", "user already has a container record"},
                  {"user_containers.token_hash", kContainerHash},
                  {"system_containers.token_hash", kContainerHash}});
}

Status ExplainSystemContainerWrite(Status status, const SystemContainer& c, bool insert) {
  std::string name_taken = "system container name " + Quoted(c.name) + " already exists";
  if (!insert) {
    return Explain(std::move(status), {{"system_containers.name", std::move(name_taken)},
                                       {"system_containers.token_hash", kContainerHash},
                                       {"user_containers.token_hash", kContainerHash}});
  }
  return Explain(std::move(status),
                 {{"system_containers.id", "system container " + Quoted(c.id) + " already exists"},
                  {"system_containers.name", std::move(name_taken)},
                  {"system_containers.token_hash", kContainerHash},
                  {"user_containers.token_hash", kContainerHash}});
}

Status PinOutcome(const std::string& record_id, const std::string& node_id,
                  const std::string& pinned_id, const std::string& pinned_name) {
  if (pinned_id == node_id) return Status::Ok();
  return AlreadyExists("agent record " + record_id + " is pinned to node " +
                       (pinned_name.empty() ? pinned_id : pinned_name + " (" + pinned_id + ")"));
}

}  // namespace berth::store::errors
