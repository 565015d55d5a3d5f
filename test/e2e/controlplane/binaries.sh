#!/usr/bin/env bash
# Obtains the control-plane binaries the e2e suite runs against: kube-apiserver (and kubectl, for
# people) built from the Kubernetes Go modules, and etcd built from the etcd Go modules.
# Nothing is committed: binaries are cached by version under $TL_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/tekton-lineage), so later runs skip the build.
#
#   binaries.sh            build what is missing, print "KUBE_APISERVER=... ETCD=..." lines
#   binaries.sh kubectl    also build kubectl
set -euo pipefail

ETCD_VERSION="${TL_ETCD_VERSION:-v3.6.16}"
WANT_KUBECTL="${1:-}"
# shellcheck source=go-build.sh
source "$(dirname "$0")/go-build.sh"

kube_dir="$CACHE/kubernetes-$KUBE_VERSION-$RECIPE_KUBE"
etcd_dir="$CACHE/etcd-$ETCD_VERSION-$RECIPE_KUBE"
mkdir -p "$kube_dir" "$etcd_dir"

if [ ! -x "$kube_dir/kube-apiserver" ] || { [ "$WANT_KUBECTL" = kubectl ] && [ ! -x "$kube_dir/kubectl" ]; }; then
  pkgs=(k8s.io/kubernetes/cmd/kube-apiserver)
  [ "$WANT_KUBECTL" = kubectl ] && pkgs+=(k8s.io/kubernetes/cmd/kubectl)
  build_from_module k8s.io/kubernetes "$KUBE_VERSION" "$kube_dir" "$(kube_replaces)" "$(kube_ldflags)" "${pkgs[@]}"
fi

if [ ! -x "$etcd_dir/etcd" ]; then
  build_from_module go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$etcd_dir" "" "" go.etcd.io/etcd/server/v3
fi

echo "KUBE_APISERVER=$kube_dir/kube-apiserver"
echo "ETCD=$etcd_dir/etcd"
[ -x "$kube_dir/kubectl" ] && echo "KUBECTL=$kube_dir/kubectl"
exit 0
