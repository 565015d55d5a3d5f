import type { TLSSocket } from "node:tls";
import type { Request, RequestHandler, Response } from "express";
import type { Logger } from "../observability/logger.ts";
import type { InFlight } from "../server/in-flight.ts";
import type { BudgetTicket, LoadBudget } from "../server/load-budget.ts";
import { jsonBodyReader } from "./body.ts";
import { type ClientRequirement, type ClientSocket, clientRefusal } from "./client-check.ts";
import type { AdmissionMetrics } from "./metrics.ts";
import { buildResponse, outcomeOf, parseAdmissionReview } from "./review.ts";
import type { AdmissionDecision, AdmissionRequest } from "./types.ts";

export interface DecisionContext {
  /** Aborted when the in-process deadline passes; work still running then is abandoned. */
  signal: AbortSignal;
  logger: Logger;
}

/** The business side of one admission path: a decision, and what to answer when no decision comes in time. */
export interface AdmissionRoute {
  path: string;
  decide(request: AdmissionRequest, context: DecisionContext): Promise<AdmissionDecision>;
  /** Answer when `decide` misses the deadline or throws; `why` says which, for logs and audit Events. */
  fallback(request: AdmissionRequest, why: string): AdmissionDecision;
  /** Told every decision once it is made (after any fallback), for audit Events; must not block. */
  onDecision?(request: AdmissionRequest, decision: AdmissionDecision): void;
  /**
   * Told of a decision that came after the fallback was answered: what it wrote meanwhile (an attempt,
   * a queue ticket) belongs to no run and must be undone or marked.
   */
  abandoned?(request: AdmissionRequest, decision: AdmissionDecision): Promise<void>;
}

export interface EnvelopeOptions {
  deadlineMs: number;
  maxBodyBytes: number;
  metrics: AdmissionMetrics;
  logger: Logger;
  inFlight: InFlight;
  /**
   * Room for reviews in progress: one that finds no place is answered 429 before its body is read; bodies
   * that outgrow the bytes while they arrive are shed, the largest first.
   */
  budget?: LoadBudget;
  /** Who may send reviews: only clients presenting a certificate the server verified (the API server). */
  client?: ClientRequirement;
}

/**
 * The one handler that owns the AdmissionReview envelope for every path: Content-Type, body cap, parse,
 * uid echo, deadline, metrics and one log line per review. Decisions come from the route.
 */
export function admissionHandler(route: AdmissionRoute, options: EnvelopeOptions): RequestHandler {
  const { metrics, logger } = options;
  const readBody = jsonBodyReader(options.maxBodyBytes);
  return async (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const done = options.inFlight.begin();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const reject = (status: number, message: string) => {
      metrics.reviews.inc({ path: route.path, outcome: "rejected" });
      metrics.duration.observe({ path: route.path, outcome: "rejected" }, seconds());
      logger.warn({ path: route.path, status, durationMs: Math.round(seconds() * 1000) }, message);
      const unread = status === 413 || status === 429;
      res
        .status(status)
        .set("Connection", unread ? "close" : "keep-alive")
        .json({ message });
      // The body was not read (413, 429), or not all of it: once the answer is flushed, cut the connection
      // rather than read (and buffer) the rest of the body just to keep it.
      if (unread) req.socket.destroySoon();
    };
    let ticket: BudgetTicket | undefined;
    let count: ((chunk: Buffer) => void) | undefined;
    // Shed while its body was arriving: answered (when it still can be) and cut; nothing more to do.
    let shed = false;
    let cut = () => {};
    // The body reader may never settle once its socket is cut: the handler stops waiting for it here.
    const whenCut = new Promise<undefined>((resolve) => {
      cut = () => resolve(undefined);
    });
    const shedNow = () => {
      if (shed) return;
      shed = true;
      cut();
      // Read no more of it: what still arrives would be buffered for nothing.
      req.pause();
      metrics.shed.inc({ path: route.path });
      if (res.headersSent) req.socket.destroy();
      else {
        res.set("Retry-After", "1");
        reject(429, "too many admission review bytes in progress; retry");
      }
    };
    try {
      const refusal = options.client && clientRefusal(req.socket as TLSSocket & ClientSocket, options.client);
      if (refusal) {
        reject(403, refusal);
        return;
      }
      ticket = options.budget?.take(shedNow);
      if (options.budget && !ticket) {
        metrics.shed.inc({ path: route.path });
        res.set("Retry-After", "1");
        reject(429, "too many admission reviews in progress; retry");
        return;
      }
      if (!req.is("application/json")) {
        reject(415, `Content-Type must be application/json, got ${req.get("content-type") ?? "none"}`);
        return;
      }
      const reading = readBody(req, res);
      // Counted as it arrives (after the reader listens, so no chunk flows past it).
      if (ticket) {
        const held = ticket;
        count = (chunk: Buffer) => {
          if (!held.grow(chunk.length)) shedNow();
        };
        req.on("data", count);
      }
      const body = await Promise.race([reading, whenCut]);
      if (shed || !body) return;
      ticket?.settle();
      if (!body.ok) {
        reject(body.status, body.message);
        return;
      }
      const parsed = parseAdmissionReview(body.value);
      if (!parsed.ok) {
        reject(400, parsed.message);
        return;
      }
      const request = parsed.review.request;
      const decision = await decideWithDeadline(route, request, options, logger);
      try {
        route.onDecision?.(request, decision);
      } catch (error) {
        logger.error({ err: error, uid: request.uid }, "decision observer failed");
      }
      const review = buildResponse(request, decision);
      const outcome = outcomeOf(review, decision);
      metrics.reviews.inc({ path: route.path, outcome });
      metrics.duration.observe({ path: route.path, outcome }, seconds());
      // One line per review is most of the CPU of a review at debug level: what was refused or fell back is
      // logged at info, every allowed review only at debug (tekton_lineage_admission_reviews_total counts them).
      const noteworthy = !decision.allowed || decision.fallback !== undefined;
      (noteworthy ? logger.info.bind(logger) : logger.debug.bind(logger))(
        {
          path: route.path,
          uid: request.uid,
          namespace: request.namespace,
          name: request.name || generateNameOf(request.object),
          operation: request.operation,
          user: request.userInfo.username,
          dryRun: request.dryRun === true,
          decision: outcome,
          ...(decision.allowed
            ? { fallback: decision.fallback }
            : { code: decision.code, reason: decision.message }),
          durationMs: Math.round(seconds() * 1e4) / 10,
        },
        "admission review",
      );
      // Written as is: no ETag (express would hash every answer) and no second serialisation.
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(review));
    } finally {
      ticket?.release();
      // The connection outlives the review (keep-alive, or a client slow to close): nothing it keeps may
      // hold the body, or released bodies would still fill the memory the budget bounds.
      if (count) req.off("data", count);
      (req as { body?: unknown }).body = undefined;
      done();
    }
  };
}

async function decideWithDeadline(
  route: AdmissionRoute,
  request: AdmissionRequest,
  options: EnvelopeOptions,
  logger: Logger,
): Promise<AdmissionDecision> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<AdmissionDecision>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`admission deadline of ${options.deadlineMs}ms passed`));
      resolve(route.fallback(request, `no decision within the ${options.deadlineMs}ms admission deadline`));
    }, options.deadlineMs);
  });
  const decided = route.decide(request, { signal: controller.signal, logger }).catch((error: unknown) => {
    // Shed under overload: expected, counted, and cheap; anything else is worth a line of its own.
    if ((error as Error).name === "ShedError") return route.fallback(request, (error as Error).message);
    logger.error({ err: error, uid: request.uid, path: route.path }, "admission decision failed");
    return route.fallback(request, `decision failed: ${(error as Error).message}`);
  });
  try {
    const answer = await Promise.race([decided, deadline]);
    if (controller.signal.aborted && route.abandoned) {
      // The fallback went out; a decision arriving later wrote for a run that will not carry it.
      void decided
        .then((late) => route.abandoned?.(request, late))
        .catch((error: unknown) =>
          logger.warn(
            { err: error, uid: request.uid, path: route.path },
            "could not undo an abandoned decision",
          ),
        );
    }
    return answer;
  } finally {
    clearTimeout(timer);
  }
}

function generateNameOf(object: unknown): string | undefined {
  const metadata = (object as { metadata?: { generateName?: string } } | undefined)?.metadata;
  return metadata?.generateName ? `${metadata.generateName}*` : undefined;
}
