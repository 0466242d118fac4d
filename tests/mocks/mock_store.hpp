#pragma once

#include <gmock/gmock.h>

#include "store/store.hpp"

namespace berth::testing {

// gmock Store for unit tests that need a failure the real backend cannot be made to produce on
// demand (e.g. a row vanishing between two calls). Capability tests use the real SQLite store.
class MockStore : public store::Store {
 public:
  MOCK_METHOD(Status, Ping, (), (override));
  MOCK_METHOD(Result<std::string>, InstanceId, (), (override));
  MOCK_METHOD(Status, CreateUser, (const store::User&), (override));
  MOCK_METHOD(Result<store::User>, GetUser, (const std::string&), (override));
  MOCK_METHOD(Result<std::vector<store::User>>, ListUsers, (), (override));
  MOCK_METHOD(Status, DeleteUser, (const std::string&), (override));
  MOCK_METHOD(Status, CreateApiToken, (const store::ApiToken&), (override));
  MOCK_METHOD(Result<store::ApiToken>, FindApiTokenByHash, (const std::string&), (override));
  MOCK_METHOD(Result<bool>, HasAdminToken, (), (override));
  MOCK_METHOD(Result<std::vector<store::ApiToken>>, ListApiTokens,
              (store::TokenRole, const std::optional<std::string>&), (override));
  MOCK_METHOD(Result<store::ApiToken>, GetApiToken, (const std::string&), (override));
  MOCK_METHOD(Status, DeleteApiToken, (const std::string&), (override));
  using TokenStamps = std::vector<std::pair<std::string, int64_t>>;
  MOCK_METHOD(Status, RecordTokenUse, (const TokenStamps&), (override));
  MOCK_METHOD(Status, CreateProvider, (const store::LlmProvider&), (override));
  MOCK_METHOD(Status, CreateProviderCapped, (const store::LlmProvider&, std::size_t), (override));
  MOCK_METHOD(Result<store::LlmProvider>, GetProvider, (const std::string&, const std::string&),
              (override));
  MOCK_METHOD(Result<std::vector<store::LlmProvider>>, ListProviders, (const std::string&, bool),
              (override));
  MOCK_METHOD(Status, UpdateProvider, (const store::LlmProvider&), (override));
  MOCK_METHOD(Status, DeleteProvider, (const std::string&, const std::string&), (override));
  MOCK_METHOD(Result<store::UserAgentConfig>, GetAgentConfig, (const std::string&), (override));
  MOCK_METHOD(Status, UpsertAgentConfig, (const store::UserAgentConfig&), (override));
  MOCK_METHOD(Status, CreateUserContainer, (const store::UserContainer&), (override));
  MOCK_METHOD(Result<store::UserContainer>, GetUserContainer, (const std::string&), (override));
  MOCK_METHOD(Result<store::UserContainer>, GetUserContainerByUser, (const std::string&),
              (override));
  MOCK_METHOD(Result<std::vector<store::UserContainer>>, ListUserContainers, (), (override));
  MOCK_METHOD(Status, UpdateUserContainer, (const store::UserContainer&), (override));
  MOCK_METHOD(Status, SetUserContainerIdleTimeout, (const std::string&, int, int64_t), (override));
  using ActivityStamps = std::vector<std::pair<std::string, int64_t>>;
  MOCK_METHOD(Status, RecordUserActivity, (const ActivityStamps&), (override));
  MOCK_METHOD(Status, CreateSystemContainer, (const store::SystemContainer&), (override));
  MOCK_METHOD(Result<store::SystemContainer>, GetSystemContainer, (const std::string&), (override));
  MOCK_METHOD(Result<std::vector<store::SystemContainer>>, ListSystemContainers, (), (override));
  MOCK_METHOD(Status, UpdateSystemContainer, (const store::SystemContainer&), (override));
  MOCK_METHOD(Status, DeleteSystemContainer, (const std::string&), (override));
  MOCK_METHOD(Result<store::AgentConfigSource>, LoadAgentConfigSource, (const std::string&),
              (override));
  MOCK_METHOD(Result<std::vector<std::optional<store::AgentConfigSource>>>, LoadAgentConfigSources,
              (const std::vector<std::string>&), (override));
  MOCK_METHOD(Result<std::vector<store::StoredSecret>>, ListSecrets, (), (override));
  MOCK_METHOD(Status, AddUsage, (const std::vector<store::UsageRow>&), (override));
  MOCK_METHOD(Result<std::vector<store::UsageRow>>, ListUsage, (const store::UsageQuery&),
              (override));
  MOCK_METHOD(Status, SetLlmLimits, (const store::LlmLimits&), (override));
  MOCK_METHOD(Result<std::optional<store::LlmLimits>>, GetLlmLimits, (const std::string&),
              (override));
  MOCK_METHOD(Result<std::optional<std::string>>, ReserveBudget,
              (const std::string&, const std::vector<store::BudgetWindow>&,
               const store::BudgetCharge&),
              (override));
  MOCK_METHOD(Status, SettleBudget,
              (const std::string&, const std::vector<std::string>&, const store::BudgetCharge&,
               const store::BudgetCharge&),
              (override));
  MOCK_METHOD(Status, PruneBudgets, (int64_t), (override));
  MOCK_METHOD(Status, AddRequestLog, (const std::vector<store::LlmRequestLogEntry>&), (override));
  MOCK_METHOD(Result<std::vector<store::LlmRequestLogEntry>>, ListRequestLog,
              (const std::optional<std::string>&, std::size_t), (override));
  MOCK_METHOD(Result<bool>, ReplaceSecret, (const store::StoredSecret&, const std::string&),
              (override));
  MOCK_METHOD(Result<std::optional<int64_t>>, AcquireLease,
              (const std::string&, const std::string&, int64_t), (override));
  MOCK_METHOD(Result<bool>, RenewLease, (const store::LeaseFence&, int64_t), (override));
  MOCK_METHOD(Status, ReleaseLease, (const store::LeaseFence&), (override));
  MOCK_METHOD(Result<std::vector<store::Lease>>, ListHeldLeases, (const std::string&), (override));
  MOCK_METHOD(Status, SaveAgentState,
              (store::ContainerKind, const std::string&, const store::AgentStateWrite&,
               const store::LeaseFence&),
              (override));
  MOCK_METHOD(Status, PinAgentNode,
              (store::ContainerKind, const std::string&, const std::string&, const std::string&),
              (override));
  MOCK_METHOD(Result<store::UserContainer>, ClaimPoolAgent,
              (const std::string&, const std::string&, int64_t, int), (override));
  MOCK_METHOD(Status, PublishChange, (const std::string&, const std::string&), (override));
  MOCK_METHOD(Result<store::ChangeBatch>, ChangesSince, (int64_t, std::size_t), (override));
  MOCK_METHOD(Status, PruneCoordination, (int64_t), (override));
};

}  // namespace berth::testing
