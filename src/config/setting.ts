/**
 * One setting: its flag, its environment variable (also the key in the ConfigMap that the Deployment
 * loads with envFrom), its default as a user would write it, what it does, and how it is parsed.
 * A setting without a default is optional and parses to undefined when absent.
 */
export interface Setting<T> {
  flag: string;
  env: string;
  default?: string;
  /** Shown instead of the default when the default is computed at start-up. */
  defaultText?: string;
  description: string;
  parse: (raw: string) => T;
  /**
   * Taken from the watched ConfigMap (--settings-configmap) while running, without a restart. Any other
   * setting changed there rolls the Deployment (--rollout-deployment).
   */
  live?: true;
}

export function setting<const S extends Setting<unknown>>(spec: S): S {
  return spec;
}
