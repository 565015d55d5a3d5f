import type { AdmissionRoute } from "../admission/handler.ts";

/** A part of the process (the webhook, the reconciler): what it serves, when it is ready, how it starts and stops. */
export interface Component {
  name: string;
  routes?: AdmissionRoute[];
  /** Named readiness checks; the process is ready when all of them pass. */
  readiness?: Record<string, () => boolean>;
  start(): Promise<void> | void;
  /** Called on shutdown after the server stopped taking requests; release what is held. */
  stop(): Promise<void> | void;
}
