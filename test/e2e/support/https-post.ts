import { type HttpsAnswer, httpsRequest } from "./https-get.ts";

/** A POST over HTTPS trusting only the given CA, as any client could send it (no client certificate). */
export function httpsPost(
  url: string,
  options: { ca: string; body: string | Buffer; headers?: Record<string, string>; timeoutMs?: number },
): Promise<HttpsAnswer> {
  return httpsRequest("POST", url, {
    ca: options.ca,
    headers: { "content-type": "application/json", ...options.headers },
    body: options.body,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
}

/** A made-up AdmissionReview for a CREATE of `object`, as any pod could post it to /mutate. */
export function createReview(
  object: {
    apiVersion?: string;
    kind?: string;
    metadata?: { namespace?: string; generateName?: string; name?: string };
  },
  uid = "made-up",
): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "tekton.dev", version: "v1", kind: "PipelineRun" },
      resource: { group: "tekton.dev", version: "v1", resource: "pipelineruns" },
      namespace: object.metadata?.namespace,
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:somewhere:pod" },
      object,
      dryRun: false,
    },
  });
}
