#!/usr/bin/env bash
# Builds (or finds in the cache) the release tools the tests run, each from its Go module, pinned:
#   helm                                  helm.sh/helm/v4 v4.3.2 (the chart: lint, template, dry-run)
#   krew, validate-krew-manifest          sigs.k8s.io/krew v0.4.3 (the plugin's manifest and archive)
# Cached by version under $TL_CACHE like the control plane's binaries: a warm run builds nothing.
# Prints NAME=path lines.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../test/e2e/controlplane/go-build.sh
source "$here/../test/e2e/controlplane/go-build.sh"

HELM_VERSION="${TL_HELM_VERSION:-v4.3.2}"
KREW_VERSION="${TL_KREW_VERSION:-v0.4.3}"
RECIPE=r1

helm_out="$CACHE/helm-$HELM_VERSION-$RECIPE"
mkdir -p "$helm_out"
if [ ! -x "$helm_out/helm" ]; then
  build_from_module helm.sh/helm/v4 "$HELM_VERSION" "$helm_out" "" \
    "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" helm.sh/helm/v4/cmd/helm
fi

krew_out="$CACHE/krew-$KREW_VERSION-$RECIPE"
mkdir -p "$krew_out"
if [ ! -x "$krew_out/krew" ] || [ ! -x "$krew_out/validate-krew-manifest" ]; then
  build_from_module sigs.k8s.io/krew "$KREW_VERSION" "$krew_out" "" \
    "-X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" \
    sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
fi

echo "HELM=$helm_out/helm"
echo "KREW=$krew_out/krew"
echo "VALIDATE_KREW_MANIFEST=$krew_out/validate-krew-manifest"
