import { type BackoffPolicy, backoffDelay } from "../../kube/backoff.ts";

/** Why a host is held: it asked to wait (Retry-After), or it does not answer. */
export type HoldReason = "retry-after" | "unreachable";

/**
 * A host that does not answer is tried again after 500 ms, doubling to at most 5 s: one probe per
 * window, so an outage of a few seconds delays reports by about as long and never by minutes.
 */
export const unreachablePolicy: BackoffPolicy = { baseMs: 500, capMs: 5000 };

/** Hosts remembered at once; only hosts in trouble are kept, so this bounds tenant-chosen hosts too. */
const maxHosts = 1000;

interface HostState {
  notBefore: number;
  reason: HoldReason;
  /** Windows in a row in which the host did not answer. */
  failures: number;
}

/**
 * What tekton-lineage knows of each GitLab host, shared by every client of that host: until when it
 * must not be called, and why. Every answer is reported here; nothing is sent to a held host, so the
 * callers' work waits on the host, not on a backoff of its own that would keep growing while the host is
 * down. Listeners hear when a host that was unreachable answers again, so work parked on it resumes at
 * once.
 */
export class HostGate {
  private readonly hosts = new Map<string, HostState>();
  private readonly listeners: ((host: string) => void)[] = [];
  private readonly clock: () => number;
  private readonly random: () => number;

  constructor(clock: () => number = Date.now, random: () => number = Math.random) {
    this.clock = clock;
    this.random = random;
  }

  /** The host asked to wait (429 with Retry-After): nothing is sent to it before then. */
  hold(host: string, ms: number): void {
    const state = this.hosts.get(host);
    const notBefore = Math.max(state?.notBefore ?? 0, this.clock() + ms);
    this.remember(host, { notBefore, reason: "retry-after", failures: state?.failures ?? 0 });
  }

  /** The host did not answer. One failure per window counts, however many calls were under way. */
  unreachable(host: string): void {
    const now = this.clock();
    const state = this.hosts.get(host);
    if (state && state.reason === "unreachable" && now < state.notBefore) return;
    const failures = (state?.failures ?? 0) + 1;
    this.remember(host, {
      notBefore: now + backoffDelay(failures, unreachablePolicy, this.random),
      reason: "unreachable",
      failures,
    });
  }

  /** The host answered (whatever it said): it is reachable again. A Retry-After hold stays. */
  answered(host: string): void {
    const state = this.hosts.get(host);
    if (!state) return;
    const wasDown = state.failures > 0;
    if (state.reason === "retry-after" && this.clock() < state.notBefore) state.failures = 0;
    else this.hosts.delete(host);
    if (wasDown) for (const listener of this.listeners) listener(host);
  }

  /** Ms to wait before calling this host (0 when free), and why. */
  wait(host: string): { ms: number; reason?: HoldReason } {
    const state = this.hosts.get(host);
    const ms = state ? Math.max(0, state.notBefore - this.clock()) : 0;
    return ms > 0 ? { ms, reason: state?.reason } : { ms: 0 };
  }

  /** Told when a host that did not answer answers again. */
  onRecovered(listener: (host: string) => void): void {
    this.listeners.push(listener);
  }

  private remember(host: string, state: HostState): void {
    this.hosts.delete(host);
    this.hosts.set(host, state);
    if (this.hosts.size > maxHosts) {
      const oldest = this.hosts.keys().next().value;
      if (oldest !== undefined) this.hosts.delete(oldest);
    }
  }
}
