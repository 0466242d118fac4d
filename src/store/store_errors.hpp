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

}  // namespace berth::store::errors
