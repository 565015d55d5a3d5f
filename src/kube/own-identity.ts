import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { apiFailure } from "./api-errors.ts";
import { retryUntilDone } from "./retry-until-done.ts";

/** Asks the API server who the caller is (a SelfSubjectReview) and returns the username. */
export function selfSubjectReview(kubeConfig: KubeConfig): () => Promise<string | undefined> {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return async () => {
    const review = await api.createSelfSubjectReview({
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    return review.status?.userInfo?.username;
  };
}

/**
 * The user tekton-lineage acts as, as the API server sees it, so its own writes are recognised whatever
 * its ServiceAccount is called. On API servers without SelfSubjectReview (before Kubernetes 1.28) or when
 * it is refused, the ServiceAccount the manifests create is assumed. Other failures are retried.
 */
export class OwnIdentity {
  private name: string | undefined;
  private readonly stopped = new AbortController();
  private readonly options: { review: () => Promise<string | undefined>; assumed: string; logger: Logger };

  constructor(options: { review: () => Promise<string | undefined>; assumed: string; logger: Logger }) {
    this.options = options;
  }

  /** The username, once known. */
  get username(): string | undefined {
    return this.name;
  }

  /** Resolves once the identity is known, or when stopped first. */
  async start(): Promise<void> {
    await retryUntilDone(() => this.resolve(), {
      what: "learn tekton-lineage's own user (SelfSubjectReview)",
      logger: this.options.logger,
      signal: this.stopped.signal,
    });
  }

  stop(): void {
    this.stopped.abort();
  }

  private async resolve(): Promise<void> {
    const { logger, assumed } = this.options;
    try {
      const username = await this.options.review();
      if (!username) throw new Error("the SelfSubjectReview came back without a username");
      this.name = username;
      logger.info(
        { user: username },
        "acting as this user; its changes to tekton-lineage's keys are trusted",
      );
    } catch (error) {
      const { code } = apiFailure(error);
      if (code !== 404 && code !== 403) throw error;
      this.name = assumed;
      logger.warn(
        { user: assumed, status: code },
        "the API server does not say who tekton-lineage is (no SelfSubjectReview); trusting the default ServiceAccount",
      );
    }
  }
}
