#pragma once

#include <libpq-fe.h>

#include "common/status.hpp"

namespace berth::store {

// The Status of a failed statement's result, by its SQLSTATE:
// - 23505 unique_violation: kAlreadyExists "postgres: unique constraint failed: <columns>", the
//   columns named as SQLite names them (e.g. "llm_providers.user_id, llm_providers.name"), so
//   store_errors.hpp words both backends' errors alike;
// - 23503 foreign_key_violation: kNotFound;
// - connection exceptions (08), shutdown and cancellation (57: statement_timeout is 57014),
//   insufficient resources (53), serialization failure and deadlock (40), lock not available
//   (55P03): kUnavailable, as retrying later may succeed;
// - anything else: kInternal.
// Messages carry the SQLSTATE and the server's primary message, never its DETAIL (which quotes
// values), and for data exceptions (22) not even the message.
Status PgResultStatus(const PGresult* result);

// True when the result's error means the session is over (connection exception, shutdown).
bool PgResultEndsSession(const PGresult* result);

}  // namespace berth::store
