import { loadYaml } from "@kubernetes/client-node";

/** What the kustomize release names that the chart makes a value of. */
export const release = {
  namespace: "tekton-lineage",
  imageRepository: "ghcr.io/tekton-lineage/tekton-lineage",
  podCidrPlaceholder: "SET-YOUR-POD-CIDR",
  settingsConfigMap: "tekton-lineage",
} as const;

export interface RenderedDoc {
  readonly kind: string;
  readonly name: string;
  readonly text: string;
}

const ns = "{{ .Release.Namespace }}";

/**
 * One rendered document as template text: Go-template braces of the source (alert annotations, the
 * dashboard) escaped, then the image, the release namespace, the pod CIDR and every setting made values.
 * Throws when a reference to the release namespace or a placeholder is left, so a new kind of reference
 * in webhook-config/ fails `make chart` instead of pinning Helm installs to one namespace.
 */
export function templateOf(doc: RenderedDoc, flagOfEnv: ReadonlyMap<string, string>): string {
  let text = doc.text.replace(/\{\{|\}\}/g, (b) => `{{"${b}"}}`);
  text = text.replace(
    new RegExp(`^(\\s*(?:- )?image: )${literal(release.imageRepository)}[:@]\\S+$`, "gm"),
    '$1{{ include "tekton-lineage.image" . }}',
  );
  text = text
    .replace(new RegExp(`^(\\s*(?:- )?namespace: )${release.namespace}$`, "gm"), `$1${ns}`)
    .replace(new RegExp(`\\.${release.namespace}\\.svc\\b`, "g"), `.${ns}.svc`)
    .replace(new RegExp(`^(\\s*cert-manager\\.io/inject-ca-from: )${release.namespace}/`, "gm"), `$1${ns}/`)
    // The webhooks' namespaceSelector leaves out the namespace tekton-lineage runs in.
    .replace(
      new RegExp(
        `^(\\s*- key: kubernetes\\.io/metadata\\.name\\n\\s+operator: NotIn\\n\\s+values:\\n(?:\\s+- .*\\n)*?\\s+- )${release.namespace}$`,
        "gm",
      ),
      `$1${ns}`,
    );
  text = text.replace(
    new RegExp(`^(\\s*- )${release.podCidrPlaceholder}$`, "gm"),
    `$1{{ required "networkPolicy.podCIDR: your cluster's pod CIDR, from which only Prometheus may reach tekton-lineage (README, Install in a cluster)" .Values.networkPolicy.podCIDR | quote }}`,
  );
  if (doc.kind === "ConfigMap" && doc.name === release.settingsConfigMap)
    text = settingsAsValues(text, flagOfEnv);
  const left =
    new RegExp(
      `namespace: ${release.namespace}$|\\.${release.namespace}\\.svc|inject-ca-from: ${release.namespace}/|${release.podCidrPlaceholder}|${literal(release.imageRepository)}`,
      "m",
    ).exec(text) ?? undefined;
  if (left) throw new Error(`${doc.kind}/${doc.name}: "${left[0]}" is left in the chart; make it a value`);
  return text;
}

/** `  TEKTON_LINEAGE_X: value` → the value of settings.x, else the release's value. */
function settingsAsValues(text: string, flagOfEnv: ReadonlyMap<string, string>): string {
  return text.replace(
    /^( {2})(TEKTON_LINEAGE_[A-Z0-9_]+): (.*)$/gm,
    (_, indent: string, env: string, raw: string) => {
      const flag = flagOfEnv.get(env);
      if (!flag) throw new Error(`ConfigMap key ${env} is no setting of src/config/settings.ts`);
      const value = (loadYaml(`v: ${raw}`) as { v: unknown }).v;
      if (typeof value !== "string" || value.includes("{{")) {
        throw new Error(`ConfigMap key ${env}: ${raw} is not a plain string`);
      }
      return `${indent}${env}: {{ include "tekton-lineage.setting" (list . "${flag}" ${JSON.stringify(value)}) }}`;
    },
  );
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
