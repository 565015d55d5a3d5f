import { randomBytes } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { apiFailure } from "../../../src/kube/api-errors.ts";
import { adminKubeConfig } from "./context.ts";
import { suiteLabel } from "./webhooks.ts";

export interface Suite {
  /** Short unique id, used in namespace and webhook configuration names. */
  id: string;
  /** Creates a namespace labelled for this suite, so only this suite's webhooks see it. */
  namespace(purpose: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** Namespaces of one e2e file, removed at the end. */
export function createSuite(name: string): Suite {
  const id = `${name}-${randomBytes(3).toString("hex")}`;
  const api = adminKubeConfig().makeApiClient(CoreV1Api);
  const created: string[] = [];
  return {
    id,
    async namespace(purpose) {
      const namespace = `${id}-${purpose}`.slice(0, 63).replace(/-+$/, "");
      await api.createNamespace({ body: { metadata: { name: namespace, labels: { [suiteLabel]: id } } } });
      created.push(namespace);
      return namespace;
    },
    async cleanup() {
      for (const namespace of created) {
        try {
          await api.deleteNamespace({ name: namespace });
        } catch (error) {
          if (apiFailure(error).code !== 404) throw error;
        }
      }
    },
  };
}
