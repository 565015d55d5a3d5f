import { createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { apiFailure } from "./api-errors.ts";
import { managedByLabel } from "./managed-by.ts";
import { retryUntilDone } from "./retry-until-done.ts";

const currentKey = "hmac-key";
const previousKey = "previous-hmac-key";

/**
 * The HMAC keys that sign admission claims, shared by every webhook replica through one Secret in
 * tekton-lineage's namespace. The first replica to start creates it (a conditional create: the loser of a
 * race reads the winner's key). The Secret is read again periodically, so a rotated key (with the old one
 * kept as previous-hmac-key) reaches every replica without a restart.
 */
export class SigningKeys {
  private keys: KeyObject[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly stopped = new AbortController();
  private readonly api: CoreV1Api;
  private readonly namespace: string;
  private readonly secretName: string;
  private readonly logger: Logger;

  constructor(options: { kubeConfig: KubeConfig; namespace: string; secretName: string; logger: Logger }) {
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = options.namespace;
    this.secretName = options.secretName;
    this.logger = options.logger;
  }

  get loaded(): boolean {
    return this.keys.length > 0;
  }

  /** The key new signatures use. */
  current(): KeyObject {
    const key = this.keys[0];
    if (!key) throw new Error("signing key not loaded yet");
    return key;
  }

  /** Every key a signature may have been made with. */
  all(): KeyObject[] {
    return this.keys;
  }

  async start(refreshMs = 60_000): Promise<void> {
    const loaded = await retryUntilDone(() => this.load(), {
      what: `load signing key Secret ${this.secretName}`,
      logger: this.logger,
      signal: this.stopped.signal,
    });
    if (!loaded) return;
    this.timer = setInterval(() => {
      this.load().catch((error: unknown) =>
        this.logger.warn({ err: error }, "could not refresh the signing key"),
      );
    }, refreshMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped.abort();
    clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    let secret = await this.read();
    if (!secret) {
      try {
        secret = await this.api.createNamespacedSecret({
          namespace: this.namespace,
          body: {
            metadata: {
              name: this.secretName,
              labels: { ...managedByLabel },
            },
            type: "Opaque",
            data: { [currentKey]: randomBytes(32).toString("base64") },
          },
        });
        this.logger.info({ secret: this.secretName }, "created the admission signing key");
      } catch (error) {
        if (apiFailure(error).code !== 409) throw error;
        secret = await this.read();
      }
    }
    const keys = [secret?.data?.[currentKey], secret?.data?.[previousKey]]
      .filter((value): value is string => typeof value === "string" && value.length > 0)
      .map((value) => Buffer.from(value, "base64"));
    if (keys.length === 0 || (keys[0]?.length ?? 0) < 16) {
      throw new Error(`Secret ${this.namespace}/${this.secretName} has no usable ${currentKey} (16+ bytes)`);
    }
    this.keys = keys.map((bytes) => createSecretKey(bytes));
  }

  private async read(): Promise<V1Secret | undefined> {
    try {
      return await this.api.readNamespacedSecret({ name: this.secretName, namespace: this.namespace });
    } catch (error) {
      if (apiFailure(error).code === 404) return undefined;
      throw error;
    }
  }
}
