import type { Component } from "../service/component.ts";
import type { ServiceContext } from "../service/run.ts";
import type { AdmissionRoute } from "./handler.ts";

/** The webhook role: /mutate and /validate. */
export function createWebhook(_context: ServiceContext): Component {
  const mutate: AdmissionRoute = {
    path: "/mutate",
    decide: async () => ({ allowed: true }),
    fallback: (_request, why) => ({ allowed: true, fallback: why }),
  };
  const validate: AdmissionRoute = {
    path: "/validate",
    decide: async () => ({ allowed: true }),
    fallback: (_request, why) => ({ allowed: true, fallback: why }),
  };
  return { name: "webhook", routes: [mutate, validate], start() {}, stop() {} };
}
