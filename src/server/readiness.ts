/**
 * Named readiness checks (TLS loaded, informers synced, ...) and the draining switch. Gating checks decide
 * readiness; informational ones are only reported (the reconciler's caches, in a process that also serves
 * admission: admission must not wait for them).
 */
export class Readiness {
  private readonly checks = new Map<string, { check: () => boolean; gating: boolean }>();
  private draining = false;

  /** Registers a check; the process is ready only when every gating check passes. */
  add(name: string, check: () => boolean, options: { gating?: boolean } = {}): void {
    this.checks.set(name, { check, gating: options.gating ?? true });
  }

  /** From now on the process reports not ready, so endpoints stop routing to it. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The names of failing gating checks; empty when ready. */
  failing(): string[] {
    const failing = [...this.checks]
      .filter(([, { check, gating }]) => gating && !check())
      .map(([name]) => name);
    return this.draining ? ["draining", ...failing] : failing;
  }

  /** The names of failing informational checks (shown, never gating). */
  waiting(): string[] {
    return [...this.checks].filter(([, { check, gating }]) => !gating && !check()).map(([name]) => name);
  }
}
