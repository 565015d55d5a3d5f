import type { KubeConfig } from "@kubernetes/client-node";
import { type LiveSettings, settingsChange } from "../config/live.ts";
import { jitter } from "../kube/backoff.ts";
import { rollDeployment } from "../kube/deployment-rollout.ts";
import type { Informer } from "../kube/informer.ts";
import { type CachedConfigMap, configMapInformer } from "../kube/named-object-source.ts";
import type { Logger } from "../observability/logger.ts";

/**
 * The ConfigMap this process's settings come from (--settings-configmap), watched: live settings are
 * applied at once (LiveSettings); a change of one that needs a restart makes the leader roll the
 * Deployment (--rollout-deployment) by a checksum of those settings in its pod template. Every process
 * applies live settings; only the process that leads rolls.
 */
export class SettingsWatch {
  private readonly informer: Informer<CachedConfigMap>;
  private readonly options: {
    kubeConfig: KubeConfig;
    namespace: string;
    configMap: string;
    deployment: string;
    settings: LiveSettings;
    /** The environment the process started with (envFrom filled it from the ConfigMap). */
    startEnv: Readonly<Record<string, string | undefined>>;
    /** Settings given as flags: the ConfigMap does not change them. */
    fromFlags: ReadonlySet<string>;
    logger: Logger;
  };
  private leading: AbortSignal | undefined;
  /** What was last said, so a change is said once. */
  private said = "";

  constructor(options: SettingsWatch["options"]) {
    this.options = options;
    this.informer = configMapInformer({
      name: "settings-configmap",
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      configMapName: options.configMap,
      resyncMs: 300_000,
      logger: options.logger,
    });
    this.informer.onChange(() => void this.look());
  }

  start(): void {
    this.informer.start();
  }

  stop(): void {
    this.informer.stop();
  }

  /** While `signal` lasts this process leads: it rolls the Deployment when a restart is needed. */
  lead(signal: AbortSignal): void {
    this.leading = signal;
    void this.look();
  }

  /** Another look in a few seconds, while leading (a roll that met a moving Deployment, or an error). */
  private again(): void {
    setTimeout(
      () => {
        if (this.leading && !this.leading.aborted) void this.look();
      },
      jitter(5_000, 0.2),
    ).unref();
  }

  private async look(): Promise<void> {
    const { namespace, configMap, settings, startEnv, logger } = this.options;
    const found = this.informer.get(namespace, configMap);
    if (!found) return;
    const change = settingsChange(found.data ?? {}, settings.current(), startEnv, this.options.fromFlags);
    const applied = Object.keys(change.live);
    if (applied.length > 0) {
      settings.apply(change.live);
      logger.info({ settings: applied }, "settings applied without a restart");
    }
    const said = JSON.stringify([change.refused, change.needRestart, change.checksum]);
    const firstTime = said !== this.said;
    this.said = said;
    if (firstTime && change.refused.length > 0)
      logger.warn(
        { refused: change.refused },
        `ConfigMap ${configMap}: a live setting was refused; kept as it was`,
      );
    if (change.needRestart.length === 0) return;
    if (!this.leading || this.leading.aborted || !this.options.deployment) {
      if (firstTime)
        logger.info(
          { settings: change.needRestart },
          "settings changed that need a restart; the leader rolls the Deployment",
        );
      return;
    }
    try {
      const result = await rollDeployment(
        this.options.kubeConfig,
        namespace,
        this.options.deployment,
        change.checksum,
      );
      if (result === "rolled")
        logger.info(
          { settings: change.needRestart, deployment: this.options.deployment, checksum: change.checksum },
          "settings changed that need a restart: rolling the Deployment",
        );
      if (result === "missing" && firstTime)
        logger.warn({ deployment: this.options.deployment }, "no Deployment to roll for changed settings");
      // The Deployment moved meanwhile: look again shortly.
      if (result === "changed") this.again();
    } catch (error) {
      logger.warn({ err: error, deployment: this.options.deployment }, "could not roll the Deployment");
      this.again();
    }
  }
}
