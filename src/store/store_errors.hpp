#pragma once

#include <string>

#include "common/status.hpp"
#include "store/records.hpp"

// The Store contract's wording for failed writes, shared by the SQL backends. Private to the
// store module.
//
// A backend reports a uniqueness violation as kAlreadyExists whose message ends in ": " and the
// violated columns as SQLite names them ("users.id", "llm_providers.user_id, llm_providers.name"),
// and a foreign key violation as kNotFound (every foreign key in the schema points at users).
// These functions rewrite such errors into the contract's messages, which name ids and names
// but never stored values; any other error passes through unchanged. Only called on the error
// path.
namespace berth::store::errors {

Status ExplainUserInsert(Status status, const User& user);
Status ExplainApiTokenInsert(Status status, const ApiToken& token);
Status ExplainProviderWrite(Status status, const LlmProvider& provider, bool insert);
Status ExplainAgentConfigWrite(Status status);
Status ExplainUserContainerWrite(Status status, const UserContainer& container, bool insert);
Status ExplainSystemContainerWrite(Status status, const SystemContainer& container, bool insert);
// PinAgentNode's answer when its write changed nothing: the record's node was already set (to
// pinned_id, named pinned_name; "" when unset, which only a concurrent clear could cause).
Status PinOutcome(const std::string& record_id, const std::string& node_id,
                  const std::string& pinned_id, const std::string& pinned_name);

}  // namespace berth::store::errors
