// berth: the control plane binary. Wiring only: settings → key → store → services → HTTP.

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "cli/agent_firewall.hpp"
#include "cli/db_command.hpp"
#include "cli/engine_choice.hpp"
#include "cli/image_push_cli.hpp"
#include "cli/memory_policy.hpp"
#include "cli/provider_policy.hpp"
#include "cli/signals.hpp"
#include "common/logging.hpp"
#include "common/periodic_thread.hpp"
#include "config/settings.hpp"
#include "crypto/secret_box.hpp"
#include "http/api.hpp"
#include "http/chat_api.hpp"
#include "http/file_limits.hpp"
#include "http/internal_listener.hpp"
#include "http/metrics_api.hpp"
#include "http/public_routes.hpp"
#include "http/server.hpp"
#include "image/agent_contract.hpp"
#include "image/image_command.hpp"
#include "image/image_push.hpp"
#include "lifecycle/agent_hooks_impl.hpp"
#include "lifecycle/agent_manager.hpp"
#include "lifecycle/engine_waiter.hpp"
#include "lifecycle/lease_leadership.hpp"
#include "lifecycle/pool_llm.hpp"
#include "llm/provider_client.hpp"
#include "service/accounts.hpp"
#include "service/change_feed.hpp"
#include "service/containers.hpp"
#include "service/key_policy.hpp"
#include "service/providers.hpp"
#include "service/secret_rotation.hpp"
#include "store/database_url.hpp"
#include "store/serve_lock.hpp"
#include "store/store.hpp"
#include "store/wait_for_store.hpp"

namespace berth {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

int Fail(const Status& status) {
  std::fprintf(stderr, "berth: %s\n", status.message().c_str());
  return status.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

struct Opened {
  config::Settings settings;
  crypto::KeyProviderPtr keys;
  std::shared_ptr<crypto::SecretBox> secrets;
  store::StorePtr store;
};

// With `wait_for_database` (serve), a PostgreSQL server that does not answer yet is waited for
// up to BERTH_DATABASE_WAIT; a SIGTERM or SIGINT meanwhile ends the wait and sets *stopped.
Result<Opened> Open(const std::map<std::string, std::string>& flags,
                    const std::optional<std::string>& config_file, bool wait_for_database = false,
                    bool* stopped = nullptr) {
  auto settings = config::LoadSettings(flags, config::SettingsFromEnvironment(), config_file);
  if (!settings.ok()) return settings.status();
  Opened o{std::move(*settings), nullptr, nullptr, nullptr};
  auto log_format = ParseLogFormat(o.settings.log_format);  // validated by LoadSettings
  if (!log_format.ok()) return log_format.status();
  InitLogging(o.settings.log_level, *log_format);

  std::error_code ec;
  std::filesystem::create_directories(o.settings.data_dir, ec);
  if (ec) {
    return InvalidArgument("BERTH_DATA_DIR: cannot create " + o.settings.data_dir + ": " +
                           ec.message());
  }
  ::chmod(o.settings.data_dir.c_str(), 0700);

  auto keys = service::LoadKeys(o.settings);
  if (!keys.ok()) return keys.status();
  o.keys = *keys;
  o.secrets = std::make_shared<crypto::SecretBox>(o.keys);

  store::StoreWaitOptions wait;
  wait.wait = wait_for_database ? std::chrono::seconds(o.settings.database_wait_s)
                                : std::chrono::seconds(0);
  auto store = store::OpenStoreWaiting(o.settings.database_url, wait,
                                       [stopped](std::chrono::milliseconds delay) {
                                         if (!cli::WaitForTerminationSignal(delay)) return true;
                                         if (stopped) *stopped = true;
                                         return false;
                                       });
  if (!store.ok()) return store.status();
  o.store = *store;
  return o;
}

// How this berth shares its database with other replicas: on PostgreSQL a leader lease and the
// change feed (ARCHITECTURE.md, "Several replicas"); on SQLite, where one berth runs, neither.
struct Replication {
  std::string replica_id = lifecycle::NewReplicaId();
  lifecycle::LeadershipPtr leadership;
  std::shared_ptr<lifecycle::LeaseLeadership> lease;  // PostgreSQL only
  std::shared_ptr<service::ChangeFeed> feed;          // PostgreSQL only
};

Replication Replicate(const Opened& o, const ClockPtr& clock) {
  Replication r;
  auto url = store::ParseDatabaseUrl(o.settings.database_url);
  if (!url.ok() || url->kind != store::DatabaseUrl::Kind::kPostgres) {
    r.leadership = std::make_shared<lifecycle::AlwaysLeader>();
    return r;
  }
  r.feed = std::make_shared<service::ChangeFeed>(o.store);
  r.lease = std::make_shared<lifecycle::LeaseLeadership>(
      o.store, r.replica_id, std::chrono::milliseconds(o.settings.lease_ms), clock);
  r.lease->Tick();  // a lone replica leads from its first pass
  r.lease->Start();
  r.leadership = r.lease;
  spdlog::info("berth: replica {} (lease {} ms)", r.replica_id, o.settings.lease_ms);
  return r;
}

// What other replicas' changes mean here.
void FollowChanges(const Replication& r, const std::shared_ptr<service::AccountService>& accounts,
                   const std::shared_ptr<lifecycle::AgentManager>& agents) {
  if (!r.feed) return;
  using service::ChangeFeed;
  r.feed->On(ChangeFeed::kUserDeleted, [accounts](const std::string& user_id) {
    accounts->ForgetTokensOf(user_id);  // the agent goes by the engine's events
  });
  r.feed->On(ChangeFeed::kTokenRevoked,
             [accounts](const std::string& token_id) { accounts->ForgetToken(token_id); });
  std::weak_ptr<lifecycle::AgentManager> weak = agents;
  r.feed->On(ChangeFeed::kAgentChanged, [weak](const std::string& user_id) {
    if (auto a = weak.lock()) a->InvalidateAgent(user_id);  // it holds the old token
  });
  r.feed->On(ChangeFeed::kAgentSettings, [weak](const std::string& user_id) {
    if (auto a = weak.lock()) a->RefreshAgent(user_id);
  });
  r.feed->On(ChangeFeed::kAgentPaused, [weak](const std::string& user_id) {
    if (auto a = weak.lock()) a->PausedElsewhere(user_id);
  });
  // The engine tells every replica of a pause, except on Swarm, where it is made through a node's
  // engine that only the replica making it hears from.
  agents->SetPauseListener([feed = r.feed](const std::string& user_id) {
    feed->Publish(ChangeFeed::kAgentPaused, user_id);
  });
  // The first poll before anything is served, so the cursor predates every token cached here.
  if (Status polled = r.feed->Poll(); !polled.ok()) {
    spdlog::warn("changes: cannot read the change feed yet (retrying): {}", polled.message());
  }
  r.feed->Start();
}

lifecycle::LifecycleOptions LifecycleOptionsFrom(const config::Settings& s,
                                                 const std::string& replica_id) {
  lifecycle::LifecycleOptions o;
  o.replica_id = replica_id;
  o.lease_ttl = std::chrono::milliseconds(s.lease_ms);
  auto url = store::ParseDatabaseUrl(s.database_url);
  o.shared_store = url.ok() && url->kind == store::DatabaseUrl::Kind::kPostgres;
  o.image = s.openclaw_image;
  o.contract = image::AgentContract();
  o.network = s.openclaw_network;
  o.api_url = s.mosaic_api_url.value_or("");
  o.address_mode = s.agent_addressing == "name"        ? lifecycle::AddressMode::kContainerName
                   : s.agent_addressing == "published" ? lifecycle::AddressMode::kPublished
                                                       : lifecycle::AddressMode::kContainerIp;
  // A swarm's agents answer on their node's address only (BERTH_AGENT_ADDRESSING does not apply).
  if (s.runtime == "swarm") o.address_mode = lifecycle::AddressMode::kNodePort;
  o.memory_bytes = s.agent_memory_bytes;
  o.nano_cpus = static_cast<int64_t>(s.agent_cpus * 1e9);
  o.start_nano_cpus = static_cast<int64_t>(s.agent_start_cpus * 1e9);
  o.start_burst = std::chrono::seconds(s.agent_start_burst_s);
  o.pids_limit = s.agent_pids;
  o.start_timeout = std::chrono::seconds(s.start_timeout_s);
  o.max_concurrent_starts = s.max_concurrent_starts;
  o.reap_interval = std::chrono::seconds(s.reap_interval_s);
  o.idle_pause = std::chrono::seconds(s.idle_pause_s);
  o.warm_pool = s.warm_pool;
  o.pool_keep_warm = std::chrono::seconds(s.pool_keep_warm_s);
  o.health_interval = std::chrono::seconds(s.health_interval_s);
  return o;
}

int Serve(const std::map<std::string, std::string>& flags,
          const std::optional<std::string>& config_file) {
  // Before any thread exists (the HTTP handlers' pool, the lifecycle's loops): threads inherit
  // the mask, so SIGTERM reaches only the signal waiter and shutdown stays graceful.
  cli::BlockTerminationSignals();
  bool stopped = false;
  auto opened = Open(flags, config_file, /*wait_for_database=*/true, &stopped);
  if (stopped) {
    spdlog::info("berth stopped while waiting for the database");
    return 0;
  }
  if (!opened.ok()) return Fail(opened.status());
  Opened& o = *opened;
  // SQLite allows one berth at a time; held until exit (store/serve_lock.hpp).
  auto serve_lock = store::ServeLock::Acquire(o.settings.database_url);
  if (!serve_lock.ok()) return Fail(serve_lock.status());
  if (Status st = service::CheckKeysPresent(*o.store, *o.keys); !st.ok()) return Fail(st);

  ClockPtr clock = std::make_shared<SystemClock>();
  Replication replication = Replicate(o, clock);
  http::ApiServices services;
  services.store = o.store;
  services.accounts = std::make_shared<service::AccountService>(
      o.store, clock, o.settings.admin_token, std::chrono::milliseconds(o.settings.token_cache_ms));
  services.providers = std::make_shared<service::ProviderService>(
      o.store, o.secrets, clock,
      service::ProviderLimits{static_cast<std::size_t>(o.settings.max_providers_per_user),
                              static_cast<std::size_t>(o.settings.max_models_per_provider)});
  services.containers =
      std::make_shared<service::ContainerService>(o.store, o.secrets, services.providers, clock);
  // Agents that reach berth at a configured URL find its LLM gateway there from the start; else
  // the lifecycle tells once the internal listener is open.
  if (o.settings.mosaic_api_url) {
    services.providers->SetLlmGatewayUrl(*o.settings.mosaic_api_url + lifecycle::kLlmGatewayPath);
  }
  // On PostgreSQL agent-config lookups that arrive together share one round trip.
  std::shared_ptr<service::ConfigBatcher> config_batcher;
  if (replication.feed) {
    config_batcher =
        std::make_shared<service::ConfigBatcher>(o.store, service::ConfigBatcher::Options{});
    services.containers->SetConfigBatcher(config_batcher);
  }

  auto bootstrap = services.accounts->BootstrapAdminToken();
  if (!bootstrap.ok()) return Fail(bootstrap.status());
  if (*bootstrap) {
    // Shown once, on stdout (not the log): berth keeps only its hash.
    std::printf("berth: created the first admin token (shown once, store it now):\n%s\n",
                (*bootstrap)->c_str());
    std::fflush(stdout);
  }

  auto engine = cli::MakeRuntime(o.settings, image::AgentContract().gateway_port);
  if (!engine.ok()) return Fail(engine.status());
  if (Status st = cli::CheckRuntimeRole(**engine, o.settings); !st.ok()) return Fail(st);
  auto agents = std::make_shared<lifecycle::AgentManager>(
      LifecycleOptionsFrom(o.settings, replication.replica_id), o.store, *engine,
      services.containers, services.providers, o.secrets,
      std::make_shared<lifecycle::HttpGatewayProbe>(), clock, replication.leadership);
  services.agents = agents;
  // The services tell the lifecycle what their changes mean for running agents.
  auto hooks = std::make_shared<lifecycle::AgentHooksImpl>(agents, replication.feed);
  services.accounts->SetAgentHooks(hooks);
  services.providers->SetAgentHooks(hooks);
  services.containers->SetAgentHooks(hooks);
  services.internal_limiter = std::make_shared<http::AttemptLimiter>();
  services.blocking = std::make_shared<net::thread_pool>(16);
  // With the internal listener on, agents reach berth there only; the public listener then does
  // not serve /api/internal/* at all.
  services.internal_on_public =
      o.settings.mosaic_api_url.has_value() || o.settings.internal_listen == "off";
  const int server_threads =
      o.settings.threads > 0 ? o.settings.threads
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto work = std::make_shared<http::WorkPool>(
      http::WorkPool::Options{.threads = std::max(4, 2 * server_threads)});

  // berth's LLM gateway: agents' provider calls go out from here, never from the agent. Its
  // policy learns berth's own listeners as they open.
  auto provider_tls = llm::ProviderClient::SystemTlsContext();
  if (!provider_tls.ok()) return Fail(provider_tls.status());
  auto provider_policy = cli::ProviderPolicy(o.settings, {});
  if (!provider_policy.ok()) return Fail(provider_policy.status());
  services.llm_client =
      std::make_shared<llm::ProviderClient>(std::move(*provider_policy), *provider_tls);
  std::mutex own_mu;
  std::vector<net::ip::tcp::endpoint> own_listeners;
  const auto add_own_listener = [&](const net::ip::tcp::endpoint& listener) {
    std::lock_guard lock(own_mu);
    own_listeners.push_back(listener);
    auto policy = cli::ProviderPolicy(o.settings, own_listeners);
    if (policy.ok()) services.llm_client->SetPolicy(std::move(*policy));
  };

  // Usage through the gateway, written in batches (every replica its own; the store adds up).
  services.usage = std::make_shared<service::UsageLedger>(o.store, clock);
  services.budget = std::make_shared<service::LlmBudget>(o.store, clock);
  auto metrics = std::make_shared<http::BerthMetrics>();
  services.metrics = &metrics->registry();
  http::Router internal_router;
  http::RegisterInternalRoutes(internal_router, services);
  metrics->Watch(agents);
  http::InternalListener internal(o.settings.internal_listen, internal_router,
                                  metrics->RequestObserver());
  agents->SetApiUrlResolver([&](const runtime::NetworkInfo& network) -> Result<std::string> {
    auto url = internal.Open(network.gateway);
    if (!url.ok()) return url;
    const auto listener = cli::EndpointOfUrl(*url);
    if (listener) add_own_listener(*listener);
    if (o.settings.agent_egress == "berth-only") {
      // The internal network routes nothing out; the host firewall leaves agents berth alone.
      if (!listener) return Internal("the internal listener's URL has no port: " + *url);
      BERTH_RETURN_IF_ERROR(cli::LockAgentNetwork(network, listener->port()));
      spdlog::info("agents on {} ({}) reach only {}", network.name, network.bridge, *url);
    }
    return url;
  });

  http::ChatServices chat;
  chat.providers = services.providers;
  chat.work = work;
  chat.agents = agents;
  chat.limiter = std::make_shared<proxy::ChatLimiter>(
      proxy::ChatLimiter::Options{static_cast<std::size_t>(o.settings.chat_max_per_user),
                                  static_cast<std::size_t>(o.settings.chat_max_total)});
  chat.events = std::make_shared<proxy::AgentEventHub>();
  chat.options.idle_gap = std::chrono::seconds(o.settings.chat_idle_gap_s);
  chat.options.start_keepalive = std::chrono::milliseconds(o.settings.chat_keepalive_ms);
  chat.stats = std::make_shared<http::ChatStats>();
  metrics->Watch(chat.stats);
  agents->SetObserver([events = chat.events, metrics](const lifecycle::AgentEvent& event) {
    events->Publish(event);
    metrics->ObserveAgentEvent(event);
  });

  http::Router router;
  http::RegisterPublicRoutes(router, services, chat, metrics);
  http::ServerOptions options;
  options.host = o.settings.listen_host;
  options.port = o.settings.listen_port;
  options.threads = o.settings.threads;
  options.max_connections = http::ConnectionsWithinFileLimit(
      static_cast<std::size_t>(o.settings.max_connections), http::RaiseOpenFileLimit());
  options.max_connections_per_address =
      static_cast<std::size_t>(o.settings.max_connections_per_address);
  options.body_memory_limit = static_cast<std::size_t>(o.settings.body_memory_bytes);
  options.work_pool = work;
  options.stream_write_timeout = chat.options.idle_gap;
  options.on_request = metrics->RequestObserver();
  http::Server server(options, router);

  services.accounts->Start();
  services.usage->Start(std::chrono::seconds(2));
  PeriodicThread budget_pruner;  // ended budget windows are forgotten
  budget_pruner.Start(std::chrono::minutes(10), [&] { services.budget->Prune(); });
  FollowChanges(replication, services.accounts, agents);
  std::thread signals = cli::StartSignalWaiter([&server] { server.Stop(); });
  if (Status st = server.Listen(); !st.ok()) {
    cli::ReleaseSignalWaiter();
    signals.join();
    return Fail(Status(st.code(), "BERTH_LISTEN: " + st.message()));
  }
  {
    beast::error_code ec;
    const auto host = net::ip::make_address(o.settings.listen_host, ec);
    add_own_listener(net::ip::tcp::endpoint(ec ? net::ip::address_v4::any() : host, server.port()));
  }
  spdlog::info("berth listening on {}:{} (data dir {}, store {})", o.settings.listen_host,
               server.port(), o.settings.data_dir,
               o.settings.database_url.substr(0, o.settings.database_url.find("://")));

  // The API serves at once; agent operations answer 503 until the engine has answered and the
  // fleet is reconciled (an engine that is down at start, or restarting, is waited for).
  lifecycle::EngineWaiter waiter(*agents);
  waiter.Start();
  server.Run();
  signals.join();
  if (config_batcher) config_batcher->Stop();  // before the server's loops go
  waiter.Stop();
  if (replication.feed) replication.feed->Stop();
  agents->Stop();
  if (replication.lease) replication.lease->Stop();  // after the last pass; another leads next
  internal.Stop();
  // Pooled provider sockets belong to the listeners' io_contexts, which go with main's scope.
  services.llm_client->CloseIdle();
  services.accounts->Stop();
  services.usage->Stop();  // the last batch is written
  spdlog::info("berth stopped");
  return 0;
}

// `rotate-key`: re-encrypts every secret under the current key. With --generate (key-file mode)
// it first makes a new key file, keeping the old key in encryption.key.previous until every value
// is converted; a crashed run is finished by running `rotate-key` again.
int RotateKey(const std::map<std::string, std::string>& flags,
              const std::optional<std::string>& config_file, bool generate) {
  if (generate) {
    auto settings = config::LoadSettings(flags, config::SettingsFromEnvironment(), config_file);
    if (!settings.ok()) return Fail(settings.status());
    std::string note;
    if (Status st = service::GenerateNextKeyFile(*settings, &note); !st.ok()) return Fail(st);
    if (!note.empty()) std::fprintf(stderr, "berth: %s\n", note.c_str());
  }
  auto opened = Open(flags, config_file);
  if (!opened.ok()) return Fail(opened.status());
  auto report = service::RotateSecrets(*opened->store, *opened->secrets);
  if (!report.ok()) return Fail(report.status());
  // Every value is now under the current key: the old key file is no longer needed.
  service::ForgetPreviousKeyFile(opened->settings);
  std::printf("rotated %zu of %zu secrets to key %s (%zu were already under it)\n",
              report->resealed, report->total, opened->keys->CurrentKey().id.c_str(),
              report->current);
  return 0;
}

}  // namespace
}  // namespace berth

int main(int argc, char** argv) {
  berth::cli::ReturnLargeBlocksToTheSystem();
  CLI::App app{"berth: a private OpenClaw agent for every user"};
  app.require_subcommand(1);
  std::map<std::string, std::string> flags;
  std::optional<std::string> config_file;

  auto add_common = [&](CLI::App* cmd) {
    auto setting = [&, cmd](const std::string& flag, const std::string& name,
                            const std::string& help) {
      cmd->add_option_function<std::string>(
          flag, [&flags, name](const std::string& v) { flags[name] = v; },
          help + " [" + name + "]");
    };
    setting("--listen", "BERTH_LISTEN", "host:port to serve on (default 0.0.0.0:3000)");
    setting("--data-dir", "BERTH_DATA_DIR", "data directory (default ./data)");
    setting("--database-url", "BERTH_DATABASE_URL",
            "database URL (default sqlite://<data dir>/berth.db)");
    setting("--log-level", "BERTH_LOG_LEVEL", "trace|debug|info|warn|error|off");
    setting("--log-format", "BERTH_LOG_FORMAT", "json (one object per line) | text");
    setting("--threads", "BERTH_THREADS", "HTTP threads, 0 = one per core");
    setting("--image", "OPENCLAW_IMAGE", "agent image");
    setting("--network", "OPENCLAW_NETWORK", "agent network");
    setting("--api-url", "MOSAIC_API_URL", "berth's API base URL as agents reach it");
    setting("--docker-host", "DOCKER_HOST", "container engine address");
    setting("--runtime", "BERTH_RUNTIME", "docker (one engine) or swarm (DOCKER_HOST: a manager)");
    cmd->add_option_function<std::string>(
        "--config", [&config_file](const std::string& v) { config_file = v; },
        "file of NAME=VALUE settings (below flags and environment) [BERTH_CONFIG]");
  };

  auto* serve = app.add_subcommand("serve", "run the control plane");
  add_common(serve);
  auto* rotate =
      app.add_subcommand("rotate-key",
                         "re-encrypt every stored secret under the current key (old key in "
                         "BERTH_ENCRYPTION_KEY_PREVIOUS); safe to re-run");
  add_common(rotate);
  bool generate = false;
  rotate->add_flag("--generate", generate,
                   "make a new key file in the data dir first (key-file mode)");
  auto* image = app.add_subcommand("image", "agent images");
  image->require_subcommand(1);
  auto* image_build = image->add_subcommand(
      "build", "build an agent image locally and import it into the engine (DOCKER_HOST)");
  berth::image::ImageBuildCommand image_args;
  image_build->add_option("kind", image_args.kind, "openclaw | test-agent")->required();
  image_build->add_option("--tag", image_args.tag,
                          "image reference (default berth/openclaw:<openclaw version> or "
                          "berth/test-agent:<berth version>)");
  image_build->add_option("--env", image_args.env, "NAME=value baked into the image (repeatable)");
  image_build->add_option("--binary", image_args.binary,
                          "test-agent: the berth-test-agent to use (default: next to berth)");
  image_build->add_flag("--force", image_args.force, "build even when an identical build exists");
  berth::image::ImagePushCommand push_args;
  auto* image_push = berth::cli::AddImagePush(image, &push_args);
  auto* db = app.add_subcommand("db", "database maintenance");
  db->require_subcommand(1);
  auto* db_copy = db->add_subcommand(
      "copy",
      "copy every record, sealed secrets as they are, and the instance id into an empty database "
      "(e.g. SQLite to PostgreSQL); safe to re-run");
  berth::cli::DbCopyArgs copy_args;
  db_copy->add_option("--from", copy_args.from, "source database URL")->required();
  db_copy->add_option("--to", copy_args.to, "target database URL")->required();
  db_copy->add_flag("--force", copy_args.force,
                    "replace the target's records even when it holds other data");
  app.add_subcommand("version", "print the version")->callback([] {
    std::printf("berth 0.1.0\n");
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve->parsed()) return berth::Serve(flags, config_file);
  if (rotate->parsed()) return berth::RotateKey(flags, config_file, generate);
  if (image_build->parsed()) return berth::image::RunImageBuild(image_args);
  if (image_push->parsed()) return berth::image::RunImagePush(push_args);
  if (db_copy->parsed()) return berth::cli::RunDbCopy(copy_args);
  return 0;
}
