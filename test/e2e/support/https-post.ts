import { request } from "node:https";

/** A POST over HTTPS trusting only the given CA, as any client could send it (no client certificate). */
export function httpsPost(
  url: string,
  options: { ca: string; body: string | Buffer; headers?: Record<string, string>; timeoutMs?: number },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        ca: options.ca,
        headers: { "content-type": "application/json", ...options.headers },
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`POST ${url} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A made-up AdmissionReview for a CREATE of `object`, as any pod could post it to /mutate. */
export function createReview(object: { metadata?: { namespace?: string } }, uid = "made-up"): string {
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
