import { readFileSync } from "node:fs";
import { createServer } from "node:https";

/** What a helper server reads of an AdmissionReview. */
export interface BenchReview {
  request: { uid: string; object?: { metadata?: { annotations?: Record<string, string> } } };
}

/**
 * An HTTPS server on loopback, on the bench's certificate, that answers every AdmissionReview with what
 * `decide` says (allowed or not) and its uid, nothing else; prints {"port":N} once listening and stops on
 * SIGTERM. The no-op and floor servers measured beside /mutate.
 */
export function serveReviews(
  cert: string,
  key: string,
  decide: (review: BenchReview) => Promise<boolean>,
): void {
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as BenchReview;
      const answer = (allowed: boolean) =>
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            response: { uid: review.request.uid, allowed },
          }),
        );
      decide(review).then(answer, () => answer(false));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(
      `${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`,
    );
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
