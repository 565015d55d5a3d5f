import { describe, expect, it } from "vitest";
import { resourceOf } from "./api-metrics.ts";

describe("resourceOf", () => {
  it.each([
    ["https://k/api/v1/namespaces/ns/events", "events", false],
    ["https://k/apis/tekton.dev/v1/namespaces/ns/pipelineruns/build-1", "pipelineruns", false],
    ["https://k/apis/tekton.dev/v1/namespaces/ns/pipelineruns/build-1/status", "pipelineruns/status", false],
    ["https://k/apis/coordination.k8s.io/v1/namespaces/tl/leases?watch=true", "leases", true],
    ["https://k/apis/tekton.dev/v1/pipelineruns?labelSelector=x", "pipelineruns", false],
    ["https://k/api/v1/namespaces", "namespaces", false],
  ])("reads %s", (url, resource, watch) => {
    expect(resourceOf(url)).toEqual({ resource, watch });
  });
});
