#!/usr/bin/env bash
# Obtains the control-plane binaries the e2e suite runs against: kube-apiserver (and kubectl, for
# people) built from the Kubernetes Go modules, and etcd built from the etcd Go modules.
# Nothing is committed: binaries are cached by version under $TL_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/tekton-lineage), so later runs skip the build.
#
#   binaries.sh            build what is missing, print "KUBE_APISERVER=... ETCD=..." lines
#   binaries.sh kubectl    also build kubectl
set -euo pipefail

KUBE_VERSION="${TL_KUBE_VERSION:-v1.36.3}"
ETCD_VERSION="${TL_ETCD_VERSION:-v3.6.16}"
CACHE="${TL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tekton-lineage}"
WANT_KUBECTL="${1:-}"

log() { echo "[binaries] $*" >&2; }

PATH="$(bash "$(dirname "$0")/ensure-go.sh"):$PATH"
export PATH GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

# The recipe revision is part of the cache key: a changed recipe rebuilds instead of reusing.
RECIPE=r2
kube_dir="$CACHE/kubernetes-$KUBE_VERSION-$RECIPE"
etcd_dir="$CACHE/etcd-$ETCD_VERSION-$RECIPE"
mkdir -p "$kube_dir" "$etcd_dir"

# Builds packages of one upstream module from a throwaway module that pins its staging modules.
#   build_from_module <module> <version> <out-dir> <replace-lines> <ldflags> <package>...
build_from_module() {
  local module="$1" version="$2" out="$3" replaces="$4" ldflags="$5"; shift 5
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  (
    cd "$work"
    cat >go.mod <<MOD
module tekton-lineage.local/controlplane-build

go 1.24

require $module $version

$replaces
MOD
    printf 'package tools\n\nimport (\n' >tools.go
    for pkg in "$@"; do printf '\t_ "%s"\n' "$pkg" >>tools.go; done
    printf ')\n' >>tools.go
    # tools.go only names the packages for `go mod tidy`; mark it as non-buildable.
    sed -i '1i //go:build tools\n' tools.go
    log "resolving $module@$version"
    GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; }
    for pkg in "$@"; do
      local name="${pkg##*/}"
      [ "$name" = "v3" ] && name=etcd
      log "building $name ($module@$version)"
      CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" -o "$out/$name.tmp" "$pkg"
      mv "$out/$name.tmp" "$out/$name"
    done
  )
}

kube_replaces() {
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local minor="v0${KUBE_VERSION#v1}"
  echo "replace ("
  grep -E '^\s+k8s\.io/[a-z-]+ => \./staging/' "$gomod" | awk -v v="$minor" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
}

# The version the servers report (/version), as the release build stamps it.
kube_ldflags() {
  local v="${KUBE_VERSION#v}" pkg=k8s.io/component-base/version
  echo "-X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=${v%%.*} -X $pkg.gitMinor=$(echo "$v" | cut -d. -f2) -X $pkg.gitTreeState=clean"
}

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
