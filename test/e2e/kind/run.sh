#!/usr/bin/env bash
# make e2e-kind: tekton-lineage in a kind cluster with a real Tekton Pipelines.
#
#   1. creates the kind cluster (KIND_CLUSTER, default tekton-lineage-e2e; KIND_NODE_IMAGE picks the
#      Kubernetes version) unless it exists;
#   2. installs a pinned Tekton Pipelines release (TEKTON_VERSION) and PaC's Repository CRD;
#   3. builds the image, loads it into kind, and applies the in-cluster release with the kind patches
#      (test/e2e/kind/overlay: the local image, scoped to namespaces labelled tekton-lineage.io/kind-smoke);
#   4. smoke-tests what only a real cluster shows (smoke_* below);
#   5. runs the same e2e suite as `make test` against the cluster, with webhooks reaching this machine
#      at the kind network's gateway.
#
# E2E_KIND_DRY_RUN=1 needs neither Docker, kind nor the network: it prints every step, command and
# manifest instead of running them, and applies the rendered release and the smoke manifests it can
# with --dry-run=server to $KUBECONFIG (under `make test`, the local control plane), so the manifests
# and patches of this script are checked on every change. .github/workflows/e2e-kind.yaml runs it for real.
set -euo pipefail
cd "$(dirname "$0")/../../.."

CLUSTER="${KIND_CLUSTER:-tekton-lineage-e2e}"
TEKTON_VERSION="${TEKTON_VERSION:-v1.6.6}"
# Tekton moved its releases from storage.googleapis.com to infra.tekton.dev (from the v1.x releases on).
TEKTON_RELEASE="https://infra.tekton.dev/tekton-releases/pipeline/previous/$TEKTON_VERSION/release.yaml"
IMAGE="tekton-lineage:e2e"
SMOKE_NS="kind-smoke"
DRY="${E2E_KIND_DRY_RUN:-}"
KUBECTL="${KUBECTL:-$(bash test/e2e/controlplane/binaries.sh kubectl | sed -n 's/^KUBECTL=//p')}"

step() { echo; echo "== e2e-kind: $*"; }
# A command with effects: run it, or in a dry run print it.
act() { if [ -n "$DRY" ]; then echo "+ $*"; else "$@"; fi; }
fail() { echo "e2e-kind: $*" >&2; exit 1; }

if [ -n "$DRY" ]; then
  KUBECONFIG_FILE="${KUBECONFIG:?E2E_KIND_DRY_RUN needs KUBECONFIG: the cluster to validate the manifests against}"
  echo "e2e-kind: dry run against $KUBECONFIG_FILE; nothing is created"
else
  for tool in docker kind; do command -v "$tool" >/dev/null || fail "$tool is required"; done
  KUBECONFIG_FILE="$(mktemp)"
  trap 'rm -f "$KUBECONFIG_FILE"' EXIT
fi
k() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# Applies YAML from stdin (server-side); a dry run prints it and validates it with --dry-run=server.
# $1 names it; further arguments go to kubectl (e.g. -n).
apply_manifest() {
  local name="$1" yaml
  shift
  yaml="$(cat)"
  if [ -n "$DRY" ]; then
    echo "--- manifest: $name"
    echo "$yaml"
    echo "--- server dry run: $name"
    echo "$yaml" | k apply --server-side --force-conflicts --field-manager=e2e-kind --dry-run=server "$@" -f -
  else
    echo "$yaml" | k apply --server-side --force-conflicts --field-manager=e2e-kind "$@" -f -
  fi
}
# A Tekton manifest: Tekton's own CRDs (Pipeline) exist only in the kind cluster; a dry run prints it.
apply_tekton_manifest() {
  local name="$1" yaml
  shift
  yaml="$(cat)"
  if [ -n "$DRY" ]; then
    echo "--- manifest: $name (Tekton's CRD, not on the dry run's cluster: printed only)"
    echo "$yaml"
  else
    echo "$yaml" | k apply --server-side --field-manager=e2e-kind "$@" -f -
  fi
}
# Creates a PipelineRun from stdin and prints its name; a dry run validates it with --dry-run=server.
create_run() {
  if [ -n "$DRY" ]; then
    k create --dry-run=server -n default -o jsonpath='{.metadata.generateName}{"(dry run)"}' -f -
  else
    k create -n "$SMOKE_NS" -o jsonpath='{.metadata.name}' -f -
  fi
}
is_lineage_name() { [[ "$1" =~ ^[a-z0-9-]+-[a-z2-7]{10}-[0-9]+$ ]]; }

step "1. kind cluster $CLUSTER ${KIND_NODE_IMAGE:+($KIND_NODE_IMAGE)}"
if [ -n "$DRY" ]; then
  echo "+ kind create cluster --name $CLUSTER ${KIND_NODE_IMAGE:+--image $KIND_NODE_IMAGE} --wait 180s"
  echo "+ kind get kubeconfig --name $CLUSTER"
else
  kind get clusters | grep -qx "$CLUSTER" \
    || kind create cluster --name "$CLUSTER" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 180s
  kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG_FILE"
fi

step "2. Tekton Pipelines $TEKTON_VERSION and PaC's Repository CRD"
act k apply -f "$TEKTON_RELEASE"
act k -n tekton-pipelines rollout status deploy/tekton-pipelines-controller --timeout 300s
act k -n tekton-pipelines rollout status deploy/tekton-pipelines-webhook --timeout 300s
apply_manifest "PaC Repository CRD" <../shared/crds/pac-repository.yaml

step "3. tekton-lineage image $IMAGE and the in-cluster release with the kind patches"
act docker build -t "$IMAGE" .
act kind load docker-image "$IMAGE" --name "$CLUSTER"
"$KUBECTL" kustomize test/e2e/kind/overlay | apply_manifest "release (test/e2e/kind/overlay)"
act k -n tekton-lineage rollout status deploy/tekton-lineage --timeout 300s

step "4a. smoke: the webhook through its Service, with the certificate tekton-lineage made"
apply_manifest "namespace $SMOKE_NS" <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $SMOKE_NS
  labels:
    tekton-lineage.io/kind-smoke: "true"
YAML
apply_tekton_manifest "Pipeline build" -n "$SMOKE_NS" <test/e2e/kind/smoke/pipeline.yaml
if [ -z "$DRY" ]; then
  ca="$(k get mutatingwebhookconfiguration tekton-lineage -o jsonpath='{.webhooks[0].clientConfig.caBundle}')"
  [ -n "$ca" ] || fail "tekton-lineage wrote no caBundle into its webhook configuration"
  k -n tekton-lineage get secret tekton-lineage-tls -o name >/dev/null
fi
name="$(sed '/namespace: demo/d' examples/pipelinerun.yaml | create_run)"
echo "e2e-kind: created $name"
[ -n "$DRY" ] || is_lineage_name "$name" || fail "not a tekton-lineage name: $name"

step "4b. smoke: Tekton runs the admitted run, its name and claims intact after Tekton's own webhook"
if [ -z "$DRY" ]; then
  k -n "$SMOKE_NS" wait --for=condition=Succeeded "pipelinerun/$name" --timeout 300s
  for key in lineage-id attempt signature; do
    value="$(k -n "$SMOKE_NS" get "pipelinerun/$name" -o "jsonpath={.metadata.annotations.tekton-lineage\.io/$key}")"
    [ -n "$value" ] || fail "$name lost its tekton-lineage.io/$key annotation"
  done
fi

step "4c. smoke: the queue starts a Pending run, which Tekton then runs"
apply_manifest "Repository demo-repo (queue limit 1)" -n "$([ -n "$DRY" ] && echo default || echo "$SMOKE_NS")" \
  <test/e2e/kind/smoke/repository.yaml
# Two lineages of one repository (another commit for the first), so neither supersedes the other; the
# first runs 20 s, long enough for the second to be admitted while it holds the only slot.
slow="$(sed -e '/namespace: demo/d' -e 's/4d6f1f0c2b1e/5e7a2b1d3c2f/g' \
  -e 's/^    name: build$/    name: build\n  params:\n    - name: seconds\n      value: "20"/' examples/pipelinerun.yaml)"
first="$(echo "$slow" | create_run)"

second="$(sed '/namespace: demo/d' examples/pipelinerun.yaml | create_run)"
echo "e2e-kind: created $first and $second"
if [ -z "$DRY" ]; then
  status="$(k -n "$SMOKE_NS" get "pipelinerun/$second" -o jsonpath='{.spec.status}')"
  [ "$status" = "PipelineRunPending" ] || fail "$second should wait in the queue behind $first, is: '$status'"
  k -n "$SMOKE_NS" wait --for=condition=Succeeded "pipelinerun/$first" --timeout 300s
  k -n "$SMOKE_NS" wait --for=condition=Succeeded "pipelinerun/$second" --timeout 300s
fi

step "4d. smoke: a rolling restart of tekton-lineage fails no admission"
if [ -n "$DRY" ]; then
  echo "+ k -n tekton-lineage rollout restart deploy/tekton-lineage  (creating runs until the rollout is done)"
  create_run <test/e2e/kind/smoke/plain-run.yaml >/dev/null
else
  k -n tekton-lineage rollout restart deploy/tekton-lineage
  k -n tekton-lineage rollout status deploy/tekton-lineage --timeout 300s >/tmp/e2e-kind-rollout.log 2>&1 &
  rollout=$!
  created=0
  while kill -0 "$rollout" 2>/dev/null; do
    # failurePolicy Ignore would admit an unnamed run during an outage: every name must be tekton-lineage's.
    run="$(create_run <test/e2e/kind/smoke/plain-run.yaml)"
    is_lineage_name "$run" || fail "admitted without tekton-lineage during the rollout: $run"
    created=$((created + 1))
  done
  wait "$rollout" || { cat /tmp/e2e-kind-rollout.log; fail "the rollout did not finish"; }
  [ "$created" -gt 0 ] || fail "no run was created during the rollout"
  echo "e2e-kind: $created runs created during the rollout, every one named by tekton-lineage"
fi

step "5. the e2e suite against the cluster"
if [ -n "$DRY" ]; then
  echo "+ E2E_WEBHOOK_HOST=<kind network gateway> make e2e KUBECONFIG=<kind kubeconfig>"
else
  GATEWAY="$(docker network inspect kind -f '{{(index .IPAM.Config 0).Gateway}}')"
  E2E_WEBHOOK_HOST="$GATEWAY" make e2e KUBECONFIG="$KUBECONFIG_FILE"
fi
echo
echo "e2e-kind: ${DRY:+dry run }done"
