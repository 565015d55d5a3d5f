import { describe, expect, it } from "vitest";
import { templateOf } from "./substitute.ts";

const flags = new Map([["TEKTON_LINEAGE_LOG_LEVEL", "log-level"]]);
const doc = (text: string, kind = "Deployment", name = "tekton-lineage") => ({ kind, name, text });

describe("templateOf", () => {
  it.each<[string, string, string]>([
    ["the namespace field", "  namespace: tekton-lineage", "  namespace: {{ .Release.Namespace }}"],
    [
      "a subject's namespace",
      "- kind: ServiceAccount\n  namespace: tekton-lineage",
      "- kind: ServiceAccount\n  namespace: {{ .Release.Namespace }}",
    ],
    [
      "a Service DNS name",
      "  - tekton-lineage.tekton-lineage.svc.cluster.local",
      "  - tekton-lineage.{{ .Release.Namespace }}.svc.cluster.local",
    ],
    [
      "cert-manager's CA injection",
      "    cert-manager.io/inject-ca-from: tekton-lineage/tekton-lineage",
      "    cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/tekton-lineage",
    ],
    [
      "the webhooks' own namespace left out",
      "    - key: kubernetes.io/metadata.name\n      operator: NotIn\n      values:\n      - kube-system\n      - tekton-lineage",
      "    - key: kubernetes.io/metadata.name\n      operator: NotIn\n      values:\n      - kube-system\n      - {{ .Release.Namespace }}",
    ],
    ["a name is a name", "  name: tekton-lineage", "  name: tekton-lineage"],
    [
      "the image",
      "        image: ghcr.io/tekton-lineage/tekton-lineage:v0.1.0",
      '        image: {{ include "tekton-lineage.image" . }}',
    ],
    [
      "Go-template braces of the source",
      "  summary: '{{ $labels.x }}'",
      `  summary: '{{"{{"}} $labels.x {{"}}"}}'`,
    ],
  ])("%s", (_, text, expected) => {
    expect(templateOf(doc(text), flags)).toBe(expected);
  });

  it("makes the pod CIDR a required value", () => {
    expect(templateOf(doc("        - SET-YOUR-POD-CIDR"), flags)).toMatch(
      /^ {8}- \{\{ required "networkPolicy\.podCIDR: .*" \.Values\.networkPolicy\.podCIDR \| quote \}\}$/,
    );
  });

  it("makes each key of the settings ConfigMap the setting of that flag, the release's value its default", () => {
    expect(templateOf(doc('data:\n  TEKTON_LINEAGE_LOG_LEVEL: "info"', "ConfigMap"), flags)).toBe(
      'data:\n  TEKTON_LINEAGE_LOG_LEVEL: {{ include "tekton-lineage.setting" (list . "log-level" "info") }}',
    );
    // Another ConfigMap's data is its own.
    expect(templateOf(doc("data:\n  TEKTON_LINEAGE_LOG_LEVEL: info", "ConfigMap", "dashboard"), flags)).toBe(
      "data:\n  TEKTON_LINEAGE_LOG_LEVEL: info",
    );
  });

  it.each<[string, string, string]>([
    [
      "the image named elsewhere",
      "          value: ghcr.io/tekton-lineage/tekton-lineage:v0.1.0",
      "is left in the chart",
    ],
    ["a key that is no setting", "data:\n  TEKTON_LINEAGE_NOPE: x", "is no setting"],
  ])("refuses %s", (_, text, words) => {
    const kind = text.startsWith("data:") ? "ConfigMap" : "Deployment";
    expect(() => templateOf(doc(text, kind), flags)).toThrow(words);
  });
});
