import { setTimeout as sleep } from "node:timers/promises";
import type { V1Lease } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { compareAndSwap, type LeaseAccess, microTime } from "./leases.ts";
import { managedByLabel } from "./managed-by.ts";
import { Rounds } from "./rounds.ts";

export interface LeaderElectionOptions {
  store: LeaseAccess;
  /** Name of the Lease that elects the leader. */
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  /** Runs while this process leads; `epoch` (leaseTransitions) grows with every change of leader. */
  onStartedLeading(epoch: number, signal: AbortSignal): void;
  onStoppedLeading?(): void;
  /** Awaited after stepping down and before releasing the Lease on stop(): the work of the term ends first. */
  beforeRelease?(): Promise<void>;
  /** A monotonic clock in ms; leases are judged by this process's own clock, never the writer's. */
  now?: () => number;
  /** Labels the Lease carries besides managed-by (so its kind can be listed). */
  labels?: Record<string, string>;
  /**
   * What this process already saw of the Lease before this elector started (by the same clock): a holder
   * seen silent that long expires that much sooner, by the same rule.
   */
  observed?: Observed;
}

export interface Observed {
  holder: string;
  /** The Lease's resourceVersion: every renewal is a write, so a holder renews while it moves. */
  version: string;
  /** When this process saw that holder and version (its own clock). */
  at: number;
}

/**
 * Leader election on a Lease, as client-go does it: a Lease is expired when this process has not seen it
 * change for leaseDuration by its own clock (tolerant of clock skew between nodes); every write is
 * conditional on the resourceVersion read. A leader that cannot renew within renewDeadline steps down
 * before anyone else may take over (renewDeadline < leaseDuration).
 */
export class LeaderElector {
  private readonly options: Required<
    Omit<LeaderElectionOptions, "onStoppedLeading" | "beforeRelease" | "labels" | "observed">
  > &
    Pick<LeaderElectionOptions, "onStoppedLeading" | "beforeRelease" | "labels">;
  private observed: Observed | undefined;
  private leading: AbortController | undefined;
  private lastRenew = 0;
  private epochValue = 0;
  /** Fires renewDeadline after the last renew: a leader whose renew hangs steps down on time. */
  private watchdog: NodeJS.Timeout | undefined;
  private readonly rounds: Rounds;

  constructor(options: LeaderElectionOptions) {
    this.options = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: () => performance.now(),
      ...options,
    };
    this.observed = options.observed;
    this.rounds = new Rounds(this.options.retryPeriodMs, () => this.tick());
  }

  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  get epoch(): number {
    return this.epochValue;
  }

  /** Who held the Lease when this process last looked ("" for nobody), undefined before the first look. */
  get observedHolder(): string | undefined {
    return this.observed?.holder;
  }

  start(): void {
    this.rounds.start();
  }

  /** Stops competing; a leader releases the Lease so another replica can take over at once. */
  async stop(): Promise<void> {
    // A round hung on the API server is not waited for beyond the renew deadline.
    await Promise.race([this.rounds.stop(), sleep(this.options.renewDeadlineMs, undefined, { ref: false })]);
    if (!this.leading) return;
    this.stepDown("stopping");
    // The term's work must end before another replica may start it: bounded, since a hung write ends
    // anyway when the Lease expires.
    if (this.options.beforeRelease)
      await Promise.race([
        this.options.beforeRelease().catch(() => undefined),
        sleep(this.options.renewDeadlineMs, undefined, { ref: false }),
      ]);
    try {
      await compareAndSwap(this.options.store, this.options.name, (current) => {
        if (current?.spec?.holderIdentity !== this.options.identity) return undefined;
        return { ...current, spec: { ...current.spec, holderIdentity: "", leaseDurationSeconds: 1 } };
      });
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not release the leader Lease; it will expire");
    }
  }

  private async tick(): Promise<void> {
    try {
      // One round is one attempt (a second after a conflict); the next round comes after retryPeriod.
      // A leader's round may not outlast its renew deadline: after it, the round is abandoned and the
      // watchdog has stepped down.
      const leftMs = this.leading
        ? this.lastRenew + this.options.renewDeadlineMs - this.options.now()
        : this.options.renewDeadlineMs;
      const written = await compareAndSwap(
        this.options.store,
        this.options.name,
        (current) => this.claim(current),
        { maxAttempts: 2, signal: AbortSignal.timeout(Math.max(1, Math.ceil(leftMs))) },
      );
      if (written?.spec?.holderIdentity === this.options.identity) {
        this.lastRenew = this.options.now();
        this.observe(written);
        if (!this.leading) this.becomeLeader(written.spec?.leaseTransitions ?? 0);
        this.armWatchdog();
      } else {
        if (written) this.observe(written);
        if (this.leading) this.stepDown(`lease is held by ${written?.spec?.holderIdentity || "nobody"}`);
      }
    } catch (error) {
      this.options.logger.debug({ err: error }, "leader election round failed");
      if (this.leading && this.options.now() - this.lastRenew > this.options.renewDeadlineMs) {
        this.stepDown("could not renew within the renew deadline");
      }
    }
  }

  /** The Lease to write this round, or undefined to leave it as it is. */
  private claim(current: V1Lease | undefined): V1Lease | undefined {
    const now = new Date();
    const spec = current?.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    if (current) this.observe(current);
    const expired =
      this.observed !== undefined &&
      this.options.now() - this.observed.at > (spec.leaseDurationSeconds ?? 15) * 1000;
    const ours = holder === this.options.identity;
    if (holder && !ours && !expired) return undefined;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        ...current?.metadata,
        labels: { ...current?.metadata?.labels, ...this.options.labels, ...managedByLabel },
      },
      spec: {
        ...spec,
        holderIdentity: this.options.identity,
        leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
        renewTime: microTime(now),
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : microTime(now),
        leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
  }

  private observe(lease: V1Lease): void {
    const holder = lease.spec?.holderIdentity ?? "";
    const version = observedVersion(lease);
    if (!this.observed || this.observed.holder !== holder || this.observed.version !== version) {
      this.observed = { holder, version, at: this.options.now() };
    }
  }

  private becomeLeader(epoch: number): void {
    this.epochValue = epoch;
    this.leading = new AbortController();
    this.options.logger.info({ lease: this.options.name, epoch }, "became leader");
    this.options.onStartedLeading(epoch, this.leading.signal);
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.stepDown("could not renew within the renew deadline");
    }, this.options.renewDeadlineMs);
    this.watchdog.unref();
  }

  private stepDown(why: string): void {
    clearTimeout(this.watchdog);
    if (!this.leading) return;
    this.leading.abort(new Error(`lost leadership: ${why}`));
    this.leading = undefined;
    this.options.logger.warn({ lease: this.options.name, why }, "stopped leading");
    this.options.onStoppedLeading?.();
  }
}

/** What changes with every write of a Lease: its resourceVersion (its renewTime where it has none). */
export function observedVersion(lease: V1Lease): string {
  return lease.metadata?.resourceVersion || String(lease.spec?.renewTime ?? "");
}
