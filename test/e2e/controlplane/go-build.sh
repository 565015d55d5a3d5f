#!/usr/bin/env bash
# Shared by binaries.sh and ../testbed/binaries.sh (sourced): the Go toolchain, the cache folder, and one
# way to build packages of an upstream module from a throwaway wrapper module.
KUBE_VERSION="${TL_KUBE_VERSION:-v1.36.3}"
CACHE="${TL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tekton-lineage}"
# The recipe revision of the Kubernetes binaries is part of their cache key.
RECIPE_KUBE=r2

log() { echo "[binaries] $*" >&2; }

PATH="$(bash "$(dirname "${BASH_SOURCE[0]}")/ensure-go.sh"):$PATH"
export PATH GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

# Builds packages of one upstream module from a throwaway module that requires it and repeats its replaces.
#   build_from_module <module> <version> <out-dir> <replace-lines> <ldflags> <package>...
build_from_module() {
  local module="$1" version="$2" out="$3" replaces="$4" ldflags="$5"; shift 5
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  (
    cd "$work"
    cat >go.mod <<MOD
module tekton-lineage.local/testbed-build

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

# Kubernetes' staging modules, pinned to the release (its go.mod replaces them with local paths).
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
