#include "bench/seeding.hpp"

#include <nlohmann/json.hpp>

#include "service/accounts.hpp"
#include "service/containers.hpp"
#include "service/providers.hpp"

namespace berth::bench {

Result<std::vector<SeededContainer>> SeedUserContainers(
    const store::StorePtr& store, const std::shared_ptr<const crypto::SecretBox>& secrets,
    const SeedOptions& options) {
  ClockPtr clock = std::make_shared<SystemClock>();
  service::AccountService accounts(store, clock, std::nullopt);
  auto providers = std::make_shared<service::ProviderService>(store, secrets, clock);
  service::ContainerService containers(store, secrets, providers, clock);

  // A provider shaped like a typical real one: custom base URL, a key of realistic length, a few
  // models with display names.
  service::ProviderChange provider;
  provider.name = std::optional<std::string>("work");
  provider.display_name = std::optional<std::string>("Work OpenAI account");
  provider.type = std::optional<std::string>("openai");
  provider.base_url = std::optional<std::string>("https://api.openai.com/v1");
  provider.models = std::optional<nlohmann::json>(nlohmann::json::array({
      {{"id", "gpt-4.1"}, {"name", "GPT-4.1"}},
      {{"id", "gpt-4.1-mini"}, {"name", "GPT-4.1 mini"}},
      "gpt-4o-mini",
  }));

  std::vector<SeededContainer> seeded;
  seeded.reserve(options.users);
  for (std::size_t i = 0; i < options.users; ++i) {
    service::NewUser request;
    request.name = "bench user " + std::to_string(i);
    request.email = "user" + std::to_string(i) + "@bench.example";
    auto user = accounts.CreateUser(request);
    if (!user.ok()) return user.status();

    auto container = containers.ProvisionUserContainer(user->user.id, /*rotate=*/false);
    if (!container.ok()) return container.status();

    if (options.with_providers) {
      provider.api_key = std::optional<std::string>("sk-bench-" + std::to_string(i) +
                                                    "-0123456789abcdefghijklmnopqrstuvwxyz");
      auto created = providers->Create(user->user.id, provider);
      if (!created.ok()) return created.status();
    }
    seeded.push_back(SeededContainer{container->record.id, std::move(container->token)});
    if (options.progress && (i + 1) % options.progress_every == 0) options.progress(i + 1);
  }
  return seeded;
}

}  // namespace berth::bench
