/**
 * The baseline: an HTTPS server on the same certificate that reads an AdmissionReview and answers
 * "allowed" with its uid, doing nothing else. Prints {"port":N} once listening.
 *
 *   node bench/noop-server.ts <tls.crt> <tls.key>
 */
import { serveReviews } from "./lib/review-server.ts";

serveReviews(process.argv[2] ?? "", process.argv[3] ?? "", async () => true);
