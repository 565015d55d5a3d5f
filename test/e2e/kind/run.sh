#!/usr/bin/env bash
# make e2e-kind: tekton-lineage in a kind cluster with a real Tekton Pipelines.
#
#   1. creates the kind cluster (KIND_CLUSTER, default tekton-lineage-e2e) unless it exists;
#   2. installs a Tekton Pipelines release (TEKTON_VERSION) and PaC's Repository CRD;
#   3. builds the image, loads it into kind, and applies the in-cluster release (make release), scoped to
#      namespaces labelled tekton-lineage.io/kind-smoke=true so that the e2e suite's own processes, which
#      the suite starts on this machine, do not meet it;
#   4. smoke-tests the in-cluster install with the real Tekton controller (a run gets its deterministic
#      name and claims, and Tekton runs it);
#   5. runs the same e2e suite as `make test` against the cluster, with webhooks reaching this machine
#      at the kind network's gateway.
#
# Needs Docker, kind and network access to the Tekton release. Not run in this repository's CI, which has
# no Docker engine; CI instead applies every manifest to a real kube-apiserver and runs tekton-lineage as
# its ServiceAccount (test/e2e/install.e2e.test.ts).
set -euo pipefail
cd "$(dirname "$0")/../../.."

CLUSTER="${KIND_CLUSTER:-tekton-lineage-e2e}"
TEKTON_VERSION="${TEKTON_VERSION:-v1.6.0}"
IMAGE="tekton-lineage:e2e"
for tool in docker kind; do command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is required" >&2; exit 1; }; done
KUBECTL="$(bash test/e2e/controlplane/binaries.sh kubectl | sed -n 's/^KUBECTL=//p')"
KUBECONFIG_FILE="$(mktemp)"
trap 'rm -f "$KUBECONFIG_FILE"' EXIT

kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 180s
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG_FILE"
k() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

k apply -f "https://storage.googleapis.com/tekton-releases/pipeline/previous/$TEKTON_VERSION/release.yaml"
k -n tekton-pipelines rollout status deploy/tekton-pipelines-controller --timeout 300s
k -n tekton-pipelines rollout status deploy/tekton-pipelines-webhook --timeout 300s
k apply --server-side -f ../shared/crds/pac-repository.yaml

docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"
make release IMAGE="$IMAGE"
# Scope the in-cluster install to the smoke namespace (and keep the image local).
sed -e 's#imagePullPolicy: IfNotPresent#imagePullPolicy: Never#' \
    -e 's#^  TEKTON_LINEAGE_WATCH_NAMESPACES: ""#  TEKTON_LINEAGE_WATCH_NAMESPACES: "kind-smoke"#' dist/tekton-lineage.yaml \
  | k apply --server-side -f -
for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do
  k patch "$kind" tekton-lineage --type=json \
    -p '[{"op":"add","path":"/webhooks/0/namespaceSelector/matchLabels","value":{"tekton-lineage.io/kind-smoke":"true"}}]'
done
k -n tekton-lineage rollout status deploy/tekton-lineage --timeout 300s

# Smoke: a PipelineRun through the in-cluster webhooks, run by the real Tekton controller.
k create namespace kind-smoke --dry-run=client -o yaml | k apply -f -
k label namespace kind-smoke tekton-lineage.io/kind-smoke=true --overwrite
cat <<'YAML' | k apply -f -
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: build, namespace: kind-smoke}
spec:
  tasks:
    - name: hello
      taskSpec:
        steps:
          - name: hello
            image: busybox:1.36
            script: echo hello
YAML
name="$(sed 's/namespace: demo/namespace: kind-smoke/' examples/pipelinerun.yaml | k create -f - -o jsonpath='{.metadata.name}')"
echo "e2e-kind: created $name"
[[ "$name" =~ ^build-[a-z2-7]{10}-[0-9]+$ ]] || { echo "e2e-kind: not a tekton-lineage name: $name" >&2; exit 1; }
k -n kind-smoke wait --for=condition=Succeeded "pipelinerun/$name" --timeout 300s

# The e2e suite, unchanged, against this cluster.
GATEWAY="$(docker network inspect kind -f '{{(index .IPAM.Config 0).Gateway}}')"
E2E_WEBHOOK_HOST="$GATEWAY" make e2e KUBECONFIG="$KUBECONFIG_FILE"
