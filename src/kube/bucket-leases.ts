import { createHash } from "node:crypto";
import type { V1Lease } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { bucketsToCompeteFor } from "./bucket-assignment.ts";
import { LeaderElector, type Observed, observedVersion } from "./leader-election.ts";
import { compareAndSwap, type LeaseAccess, microTime } from "./leases.ts";
import { managedByLabel } from "./managed-by.ts";
import { Rounds } from "./rounds.ts";

/** The kind (value of the member label's key) of bucket Leases. */
const bucketLeaseKind = "bucket";

/** On a member Lease: the bucket count the member runs with. */
export const bucketCountKey = "tekton-lineage.io/bucket-count";

export interface BucketLeasesOptions {
  store: LeaseAccess;
  /** Leases are named <prefix>-bucket-<i>-of-<count> and <prefix>-member-<hash of identity>. */
  prefix: string;
  identity: string;
  count: number;
  /** Label (key and value) that marks member Leases, so they are listed by selector. */
  memberLabel: readonly [string, string];
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  /** The buckets this process holds now; called on every change. */
  onChange(held: ReadonlySet<number>): void;
  /** Awaited before a held bucket is given up: the work on it has stopped. */
  drain(): Promise<void>;
  /**
   * Who holds the leader Lease, as last seen. A holder that is no live member runs a release without
   * buckets, which reconciles everything: no bucket is acted on beside it.
   */
  leaderHolder?: () => string | undefined;
  now?: () => number;
}

interface Seen {
  identity: string;
  count: string;
  resourceVersion: string;
  /** When this process saw that resourceVersion (its own clock). */
  at: number;
  /** This process has seen the member renew (a Lease seen only once may be a dead member's). */
  renewed: boolean;
  /** Since when (its own clock) it has seen the member alive without a break; unset while it is not. */
  since?: number;
  /** Seen renewing within its duration (this process's own Lease: written within it). */
  alive: boolean;
}

/**
 * Buckets shared between replicas. Each replica keeps a member Lease renewed; all replicas compute the
 * same assignment from the members that may be alive (bucketsToCompeteFor) and compete only for their
 * own buckets, each through a Lease of its own and a LeaderElector: the Lease, not the assignment, says
 * who acts. No replica takes more than its share of the members it sees, so none lists every run while
 * the others start. A bucket the assignment moves away is given up in order, once its new member has
 * settled — its work stopped (drain), then its Lease released — and a replica that dies loses its buckets
 * when their Leases expire. Replicas act only while every live member runs the same bucket count, so a
 * change of the count never has two owners for one namespace.
 */
export class BucketLeases {
  private readonly options: BucketLeasesOptions;
  private readonly now: () => number;
  private readonly electors = new Map<number, LeaderElector>();
  private readonly heldBuckets = new Set<number>();
  private readonly seen = new Map<string, Seen>();
  private readonly rounds: Rounds;
  private wanted: readonly number[] = [];
  /** Every bucket Lease as last seen, so an elector started for one judges its holder from then. */
  private readonly bucketsSeen = new Map<string, Observed>();
  private heldBackFor: string | undefined;
  /** When this process first looked (its own clock): it takes no bucket of its own for a lease duration. */
  private startedAt: number | undefined;

  constructor(options: BucketLeasesOptions) {
    this.options = options;
    this.rounds = new Rounds(options.retryPeriodMs, () => this.look());
    this.now = options.now ?? (() => performance.now());
  }

  get memberLeaseName(): string {
    const hash = createHash("sha256").update(this.options.identity).digest("hex").slice(0, 16);
    return `${this.options.prefix}-member-${hash}`;
  }

  bucketLeaseName(bucket: number): string {
    return `${this.options.prefix}-bucket-${bucket}-of-${this.options.count}`;
  }

  get held(): ReadonlySet<number> {
    return this.heldBuckets;
  }

  /** The buckets this replica competes for now (its share of the assignment). */
  get assigned(): readonly number[] {
    return this.wanted;
  }

  start(): void {
    this.rounds.start();
  }

  /** Gives every bucket up in order and leaves the members, so the others take over at once. */
  async stop(): Promise<void> {
    await this.rounds.stop();
    await Promise.all([...this.electors.values()].map((elector) => elector.stop()));
    this.electors.clear();
    try {
      const lease = await this.options.store.get(this.memberLeaseName);
      const version = lease?.metadata?.resourceVersion;
      if (version) await this.options.store.deleteIfUnchanged(this.memberLeaseName, version);
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not remove the member Lease; it will expire");
    }
  }

  /** One round: renew membership, read the members, compete for this replica's share only. */
  private async look(): Promise<void> {
    try {
      await this.renewMembership();
      this.startedAt ??= this.now();
      await this.observeBuckets();
      const members = await this.members();
      this.wanted = this.share(members);
    } catch (error) {
      // Membership unknown: keep competing for what we had; the bucket Leases stay the judges.
      this.options.logger.debug({ err: error }, "bucket membership round failed");
    }
    const wanted = new Set(this.wanted);
    for (const bucket of wanted) if (!this.electors.has(bucket)) this.compete(bucket);
    for (const [bucket, elector] of this.electors) {
      if (wanted.has(bucket)) continue;
      this.electors.delete(bucket);
      await elector.stop();
    }
  }

  private share(members: Seen[]): number[] {
    const alive = members.filter((m) => m.alive);
    const identities = new Set(alive.map((m) => m.identity));
    const count = String(this.options.count);
    const disagreeing = alive.filter((m) => m.count !== count);
    if (disagreeing.length > 0) {
      this.holdBack(
        `replicas run with another bucket count (${disagreeing.map((m) => `${m.identity}: ${m.count}`).join(", ")}; here ${count}): no bucket is reconciled until they agree`,
      );
      return [];
    }
    const leader = this.options.leaderHolder?.();
    if (leader && !identities.has(leader)) {
      this.holdBack(
        `the leader Lease is held by ${leader}, not seen renewing a member Lease (a replica without buckets, such as an older release's, reconciles everything): no bucket is reconciled beside it until it is`,
      );
      return [];
    }
    this.holdBack(undefined);
    // A member counts as settled once seen alive for a lease duration, and this one once up for as long:
    // in that time it has seen every replica started with it, so none takes the others' share, and a
    // replica restarting in a loop moves nothing back and forth.
    const now = this.now();
    const { leaseDurationMs, identity } = this.options;
    const candidates = members.map((m) => ({
      identity: m.identity,
      settled:
        m.identity === identity
          ? now - (this.startedAt ?? now) >= leaseDurationMs
          : m.since !== undefined && now - m.since >= leaseDurationMs,
    }));
    const held = new Set(this.heldBuckets);
    for (let bucket = 0; bucket < this.options.count; bucket++) {
      if (this.bucketsSeen.get(this.bucketLeaseName(bucket))?.holder === identity) held.add(bucket);
    }
    return bucketsToCompeteFor(this.options.count, identity, candidates, held);
  }

  /** Says once why this replica holds back from every bucket (and once when it no longer does). */
  private holdBack(why: string | undefined): void {
    if (why === this.heldBackFor) return;
    if (why) this.options.logger.warn(why);
    else if (this.heldBackFor) this.options.logger.info("replicas agree on buckets again");
    this.heldBackFor = why;
  }

  /**
   * Looks at every bucket Lease: a replica that takes over a dead member's bucket then waits one lease
   * duration from the holder's last renewal as seen here, not from its own first look.
   */
  private async observeBuckets(): Promise<void> {
    const [key] = this.options.memberLabel;
    const now = this.now();
    for (const lease of await this.options.store.list(`${key}=${bucketLeaseKind}`)) {
      const name = lease.metadata?.name ?? "";
      const holder = lease.spec?.holderIdentity ?? "";
      const version = observedVersion(lease);
      const before = this.bucketsSeen.get(name);
      const same = before && before.holder === holder && before.version === version;
      this.bucketsSeen.set(name, same ? before : { holder, version, at: now });
    }
  }

  private compete(bucket: number): void {
    const elector = new LeaderElector({
      store: this.options.store,
      name: this.bucketLeaseName(bucket),
      identity: this.options.identity,
      leaseDurationMs: this.options.leaseDurationMs,
      renewDeadlineMs: this.options.renewDeadlineMs,
      retryPeriodMs: this.options.retryPeriodMs,
      logger: this.options.logger.child({ bucket }),
      now: this.now,
      labels: { [this.options.memberLabel[0]]: bucketLeaseKind },
      observed: this.bucketsSeen.get(this.bucketLeaseName(bucket)),
      onStartedLeading: () => {
        this.heldBuckets.add(bucket);
        this.options.onChange(new Set(this.heldBuckets));
      },
      onStoppedLeading: () => {
        this.heldBuckets.delete(bucket);
        this.options.onChange(new Set(this.heldBuckets));
      },
      beforeRelease: () => this.options.drain(),
    });
    this.electors.set(bucket, elector);
    elector.start();
  }

  private async renewMembership(): Promise<void> {
    const { identity, leaseDurationMs, memberLabel, count } = this.options;
    await compareAndSwap(
      this.options.store,
      this.memberLeaseName,
      (current): V1Lease => ({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          ...current?.metadata,
          labels: { ...current?.metadata?.labels, ...managedByLabel, [memberLabel[0]]: memberLabel[1] },
          annotations: { ...current?.metadata?.annotations, [bucketCountKey]: String(count) },
        },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
          renewTime: microTime(new Date()),
        },
      }),
      { maxAttempts: 2, signal: AbortSignal.timeout(this.options.renewDeadlineMs) },
    );
  }

  /**
   * The members that may be alive: those whose Lease changed within its duration by this process's clock
   * (tolerant of skew, as leader election is), and those seen once and not yet for a duration (not
   * judged yet). Members silent for ten durations are removed, by a live member only.
   */
  private async members(): Promise<Seen[]> {
    const [key, value] = this.options.memberLabel;
    // Only this election's members: other installs' (another --leader-election-id) share the label.
    const mine = `${this.options.prefix}-member-`;
    const leases = (await this.options.store.list(`${key}=${value}`)).filter((lease) =>
      (lease.metadata?.name ?? "").startsWith(mine),
    );
    const now = this.now();
    const found: Seen[] = [];
    const names = new Set<string>();
    for (const lease of leases) {
      const name = lease.metadata?.name ?? "";
      names.add(name);
      // Every renewal is a write, so a member is alive while its resourceVersion moves.
      const resourceVersion = lease.metadata?.resourceVersion ?? "";
      const before = this.seen.get(name);
      const changed = before !== undefined && before.resourceVersion !== resourceVersion;
      const seen: Seen = {
        identity: lease.spec?.holderIdentity ?? "",
        count: lease.metadata?.annotations?.[bucketCountKey] ?? "",
        resourceVersion,
        at: before && !changed ? before.at : now,
        renewed: (before?.renewed ?? false) || changed,
        since: before?.since,
        alive: false,
      };
      const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
      const silentMs = now - seen.at;
      const possible = seen.identity !== "" && silentMs <= durationMs;
      seen.alive = possible && (seen.renewed || name === this.memberLeaseName);
      seen.since = seen.alive ? (seen.since ?? now) : undefined;
      this.seen.set(name, seen);
      if (possible) found.push(seen);
      else if (silentMs > 10 * durationMs && name !== this.memberLeaseName) {
        await this.options.store.deleteIfUnchanged(name, seen.resourceVersion).catch(() => false);
      }
    }
    for (const name of this.seen.keys()) if (!names.has(name)) this.seen.delete(name);
    return found;
  }
}
