#!/usr/bin/env bash
# Renders a kustomization with the first of: `kustomize build` (a kustomize on the PATH), `kubectl
# kustomize` (a kubectl on the PATH), or the kubectl built from the Kubernetes modules (binaries.sh,
# built once and cached). `make release` uses it, so a machine with kustomize or kubectl builds nothing.
#
#   kustomize.sh <dir>
set -euo pipefail
dir="$1"
if command -v kustomize >/dev/null 2>&1; then
  exec kustomize build "$dir"
elif command -v kubectl >/dev/null 2>&1; then
  exec kubectl kustomize "$dir"
fi
kubectl="$(bash "$(dirname "$0")/binaries.sh" kubectl | sed -n 's/^KUBECTL=//p')"
exec "$kubectl" kustomize "$dir"
