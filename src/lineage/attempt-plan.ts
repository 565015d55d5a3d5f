/** Pure planning of attempt numbers: what the counter holds and how a batch of requests is served. */

export interface CounterRecord {
  /** The last attempt number handed out (0 when none). */
  last: number;
  /** Name given to the last attempt. */
  lastName?: string;
  /** Lineage key of the last attempt (ids are digests; the key tells two lineages apart). */
  lineageKey?: string;
  /** What the last attempt was admitted as (namespace, PaC annotations), for reporting it if never created. */
  lastSubject?: AdmittedRunRecord;
  /**
   * Attempts whose admission fell back after the counter was written (the run was created without them):
   * never to be reported as never created.
   */
  fallenBack?: readonly number[];
  /**
   * The attempts of the same lineage handed out before the last, newest first (at most three): what is
   * needed to tell, once a retest was admitted, that an earlier attempt was never created.
   */
  earlier?: readonly EarlierAttempt[];
}

/** An attempt handed out before the last one. */
export interface EarlierAttempt {
  attempt: number;
  name: string;
  /** When it was admitted (RFC 3339). */
  admittedAt?: string;
}

/** How many earlier attempts a counter remembers. */
export const earlierKept = 3;

/** The parts of an admitted run worth keeping in case the run itself never exists. */
export interface AdmittedRunRecord {
  namespace: string;
  annotations: Record<string, string>;
  /** When it was admitted (RFC 3339): PaC's record of a failed create follows it closely. */
  admittedAt?: string;
}

export interface AttemptRequest {
  lineageKey: string;
  subject?: AdmittedRunRecord;
  /** The run's name for a given attempt: deterministic, or the name the user chose. */
  nameFor(attempt: number): string;
}

export interface Allocation {
  attempt: number;
  name: string;
  /** Name of the attempt this one replaces, when that attempt belongs to the same lineage. */
  supersedes?: string;
}

/** Hands out consecutive attempt numbers after `record.last`, one per request, in order. */
export function planAllocations(
  record: CounterRecord,
  requests: readonly AttemptRequest[],
): { record: CounterRecord; allocations: Allocation[] } {
  let previous = record;
  const allocations = requests.map((request) => {
    const attempt = previous.last + 1;
    const name = request.nameFor(attempt);
    const sameLineage = previous.lineageKey === request.lineageKey;
    const supersedes = sameLineage ? previous.lastName : undefined;
    const before: EarlierAttempt | undefined =
      sameLineage && previous.last > 0 && previous.lastName
        ? { attempt: previous.last, name: previous.lastName, admittedAt: previous.lastSubject?.admittedAt }
        : undefined;
    previous = {
      last: attempt,
      lastName: name,
      lineageKey: request.lineageKey,
      lastSubject: request.subject,
      fallenBack: record.fallenBack,
      earlier: before ? [before, ...(previous.earlier ?? [])].slice(0, earlierKept) : [],
    };
    return supersedes ? { attempt, name, supersedes } : { attempt, name };
  });
  return { record: previous, allocations };
}
