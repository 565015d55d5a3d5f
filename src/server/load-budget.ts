import { Gauge, type Registry } from "prom-client";

/** One request's hold on the budget. */
export interface BudgetTicket {
  /**
   * Counts bytes of the body as they arrive. When they do not fit, the request holding the most bytes
   * goes: another one is told through its `evict` (and its bytes freed), or, when that is this one,
   * false comes back and the caller sheds it.
   */
  grow(bytes: number): boolean;
  /**
   * The whole body is here and a decision is under way: its bytes stay counted, but it is no longer
   * evicted (cutting it now would waste the work and leave what it wrote to nobody).
   */
  settle(): void;
  /** Gives the room back; a second call does nothing. */
  release(): void;
}

interface Holder {
  bytes: number;
  evict: () => void;
  settled: boolean;
}

/**
 * Room for requests in progress: at most `maxRequests` at once, holding at most `maxBytes` of bodies.
 * Bytes are counted as they arrive, not as declared: a client that declares 3 MiB and sends a byte a
 * second holds a byte a second, so a few slow uploads cannot keep every review out. When bodies do not fit,
 * the largest goes — an admission review of a PipelineRun is small, a body that fills the budget is not one.
 */
export class LoadBudget {
  private readonly holders = new Set<Holder>();
  private bytes = 0;
  private readonly maxRequests: number;
  private readonly maxBytes: number;

  constructor(maxRequests: number, maxBytes: number) {
    this.maxRequests = maxRequests;
    this.maxBytes = maxBytes;
  }

  /** Takes room for one request, or undefined when `maxRequests` are in progress. */
  take(evict: () => void): BudgetTicket | undefined {
    if (this.holders.size >= this.maxRequests) return undefined;
    const holder: Holder = { bytes: 0, evict, settled: false };
    this.holders.add(holder);
    const release = () => {
      if (!this.holders.delete(holder)) return;
      this.bytes -= holder.bytes;
    };
    return {
      grow: (bytes) => {
        if (!this.holders.has(holder)) return false;
        holder.bytes += bytes;
        this.bytes += bytes;
        // One body larger than the whole budget still gets through alone (--max-body caps it).
        while (this.bytes > this.maxBytes && this.holders.size > 1) {
          const largest = this.largest(holder);
          if (largest === holder) {
            release();
            return false;
          }
          this.holders.delete(largest);
          this.bytes -= largest.bytes;
          largest.evict();
        }
        return true;
      },
      settle: () => {
        holder.settled = true;
      },
      release,
    };
  }

  /** Bytes of bodies held now. */
  held(): number {
    return this.bytes;
  }

  /** The unsettled holder with the most bytes; `grower` when none holds more. */
  private largest(grower: Holder): Holder {
    let largest = grower;
    for (const h of this.holders) if (!h.settled && h.bytes > largest.bytes) largest = h;
    return largest;
  }
}

/** Shows what the budget holds: tekton_lineage_admission_body_bytes, read at each scrape. */
export function exposeLoadBudget(budget: LoadBudget, registry: Registry): void {
  new Gauge({
    name: "tekton_lineage_admission_body_bytes",
    help: "Bytes of admission review bodies held now, counted as they arrive (bounded by --max-in-flight-bytes).",
    registers: [registry],
    collect() {
      this.set(budget.held());
    },
  });
}
