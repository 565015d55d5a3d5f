import { readFile } from "node:fs/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import { admissionHandler } from "../admission/handler.ts";
import { createAdmissionMetrics } from "../admission/metrics.ts";
import { LiveSettings } from "../config/live.ts";
import type { Config } from "../config/settings.ts";
import { countApiRequests } from "../kube/api-metrics.ts";
import { loadKubeConfig, ownNamespace } from "../kube/kubeconfig.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { createRegistry } from "../observability/metrics.ts";
import { createAdmissionApp, createOpsApp, startOpsServer } from "../server/app.ts";
import { drain } from "../server/drain.ts";
import { startHttpsServer } from "../server/https-server.ts";
import { InFlight } from "../server/in-flight.ts";
import { exposeLoadBudget, LoadBudget } from "../server/load-budget.ts";
import { Readiness } from "../server/readiness.ts";
import { fileTlsSource, secretTlsSource } from "../server/tls-source.ts";
import type { Component } from "./component.ts";
import { SettingsWatch } from "./settings-watch.ts";
import { createShared, type Shared, startShared, stopShared } from "./shared.ts";

export type Role = "webhook" | "reconciler" | "all";

export interface ServiceContext {
  /** The settings the process started with; the live ones as they are now are in `settings`. */
  config: Config;
  settings: LiveSettings;
  /** The watched settings ConfigMap (--settings-configmap), when there is one; its leader rolls. */
  settingsWatch?: SettingsWatch;
  logger: Logger;
  registry: Registry;
  kubeConfig: KubeConfig;
  namespace: string;
  /** What both roles use, one instance per process. */
  shared: Shared;
}

export type ComponentFactory = (context: ServiceContext) => Component;

/**
 * Starts the HTTPS server and the components of a role, and drains on SIGTERM/SIGINT: readiness fails
 * first, new connections stop after the drain delay, in-flight reviews finish, then components stop.
 */
export async function runService(
  role: Role,
  config: Config,
  factories: Record<Role, ComponentFactory[]>,
  fromFlags: ReadonlySet<string> = new Set(),
) {
  const logger = createLogger({ level: config.logLevel, instance: config.instanceId });
  const registry = createRegistry({ defaultMetrics: true });
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  countApiRequests(kubeConfig, registry);
  const namespace = ownNamespace(config.namespace);
  const shared = createShared({ config, logger, registry, kubeConfig, namespace });
  const settings = new LiveSettings(config);
  settings.onChange((changed) => {
    if (changed.logLevel) logger.level = changed.logLevel;
  });
  const settingsWatch = config.settingsConfigMap
    ? new SettingsWatch({
        kubeConfig,
        namespace,
        configMap: config.settingsConfigMap,
        deployment: config.rolloutDeployment,
        settings,
        startEnv: { ...process.env },
        fromFlags,
        logger,
      })
    : undefined;
  const context: ServiceContext = {
    config,
    settings,
    settingsWatch,
    logger,
    registry,
    kubeConfig,
    namespace,
    shared,
  };
  const components = factories[role].map((make) => make(context));
  const readiness = new Readiness();
  const inFlight = new InFlight();
  for (const component of components) {
    // In a process that also admits, admission never waits for the reconciler's caches to sync.
    const gating = role === "reconciler" || component.name !== "reconciler";
    for (const [name, check] of Object.entries(component.readiness ?? {}))
      readiness.add(name, check, { gating });
  }
  const budget = new LoadBudget(config.maxInFlightReviews, config.maxInFlightBytes);
  exposeLoadBudget(budget, registry);
  const envelope = {
    inFlight,
    logger,
    metrics: createAdmissionMetrics(registry),
    deadlineMs: config.admissionDeadline,
    maxBodyBytes: config.maxBodyBytes,
    budget,
    client: { certificate: config.clientCa !== "", names: config.clientCaSubjects },
  };
  const app = createAdmissionApp(
    Object.fromEntries(
      components
        .flatMap((c) => c.routes ?? [])
        .map((route) => [route.path, admissionHandler(route, envelope)]),
    ),
  );
  // Up first and down last: probes see the process come up, and see it not ready while it drains.
  const ops = await startOpsServer(createOpsApp({ readiness, registry }), config.metricsListen, logger);
  const tls = config.tlsSecret
    ? await secretTlsSource({
        kubeConfig,
        namespace: context.namespace,
        name: config.tlsSecret,
        logger,
        registry,
      })
    : await fileTlsSource({ certFile: config.tlsCert, keyFile: config.tlsKey, logger, registry });
  readiness.add("tls", () => tls.ready);
  const server = await startHttpsServer(app, {
    listen: config.listen,
    initial: tls.initial,
    clientCa: config.clientCa ? await readFile(config.clientCa, "utf8") : undefined,
    maxConnections: config.maxConnections,
    logger,
    registry,
  });
  tls.start(server.install);
  startShared(shared);
  settingsWatch?.start();
  for (const component of components) await component.start();
  logger.info({ role, namespace: context.namespace, components: components.map((c) => c.name) }, "started");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await drain({
      readiness,
      inFlight,
      logger,
      delayMs: config.drainDelay,
      timeoutMs: config.drainTimeout,
      server: { close: server.close, closeAllConnections: () => server.server.closeAllConnections() },
    });
    tls.stop();
    settingsWatch?.stop();
    for (const component of [...components].reverse()) {
      try {
        await component.stop();
      } catch (error) {
        logger.error({ err: error, component: component.name }, "component did not stop cleanly");
      }
    }
    await stopShared(shared);
    await ops.close();
    logger.info("stopped");
    logger.flush();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return { port: server.port, metricsPort: ops.port };
}
