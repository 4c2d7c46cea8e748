#!/usr/bin/env bash
# Builds the pinned local-Kubernetes binaries from the Go module proxy into a cache keyed by version.
#
#   tools/cluster/build.sh            build what is missing, print the bin dirs
#   tools/cluster/build.sh --check    exit 0 when every binary is cached, 1 otherwise (builds nothing)
#   tools/cluster/build.sh --dirs     print KEY=path lines for the cache directories (builds nothing)
#
# Each component set is built into a temporary directory and renamed into place only after every binary in it
# built and ran `--version`; a failed or interrupted build therefore never leaves a directory that looks complete.
# Builds take an exclusive lock (flock on $CACHE/.build.lock), so concurrent callers wait instead of racing.
# $CACHE/bin holds symlinks to every binary of the current versions: the one directory to put first on PATH.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE="${MYSQL_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mysql-operator}"

K8S_DIR="$CACHE/k8s-$K8S_VERSION"
ETCD_DIR="$CACHE/etcd-$ETCD_VERSION"
KWOK_DIR="$CACHE/kwok-$KWOK_VERSION-k8s-$K8S_VERSION"
BIN_DIR="$CACHE/bin"

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
ETCD_BINS=(etcd etcdctl)
KWOK_BINS=(kwok kwokctl)

die() { printf 'cluster build: error: %s\n' "$*" >&2; exit 1; }
# reports WANT CMD...: CMD succeeds and its output (stdout and stderr) contains WANT. The output is read whole
# first: with pipefail, `CMD | grep -q WANT` fails at random when grep exits at the first match and CMD, still
# writing, dies of SIGPIPE (seen on a fresh machine: "kubectl does not report v1.34.4").
reports() {
  local want="$1" text; shift
  text=$("$@" 2>&1) || return 1
  [[ "$text" == *"$want"* ]]
}
log() { printf 'cluster build: %s\n' "$*" >&2; }

# complete DIR BIN...: the set was renamed into place by finish() and still holds every binary.
complete() {
  local dir="$1" b; shift
  [ -f "$dir/.complete" ] || return 1
  for b in "$@"; do [ -x "$dir/$b" ] || return 1; done
}
all_complete() {
  complete "$K8S_DIR" "${K8S_BINS[@]}" && complete "$ETCD_DIR" "${ETCD_BINS[@]}" && complete "$KWOK_DIR" "${KWOK_BINS[@]}"
}
# link_bins: (re)points $BIN_DIR/<binary> at the cached sets; idempotent.
link_bins() {
  mkdir -p "$BIN_DIR"
  local b
  for b in "${K8S_BINS[@]}"; do ln -sfn "$K8S_DIR/$b" "$BIN_DIR/$b"; done
  for b in "${ETCD_BINS[@]}"; do ln -sfn "$ETCD_DIR/$b" "$BIN_DIR/$b"; done
  for b in "${KWOK_BINS[@]}"; do ln -sfn "$KWOK_DIR/$b" "$BIN_DIR/$b"; done
}
print_dirs() {
  printf 'CACHE=%s\nK8S_DIR=%s\nETCD_DIR=%s\nKWOK_DIR=%s\nBIN_DIR=%s\n' \
    "$CACHE" "$K8S_DIR" "$ETCD_DIR" "$KWOK_DIR" "$BIN_DIR"
}

case "${1:-}" in
  --check) all_complete && exit 0; exit 1 ;;
  --dirs) print_dirs; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (use --check, --dirs or nothing)" ;;
esac
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
# Leftovers of a build that was killed (SIGKILL skips the EXIT trap). Call only while holding the lock.
remove_leftovers() {
  local d
  for d in "$CACHE"/.k8s-mod.* "$CACHE"/.k8s-bin.* "$CACHE"/.etcd-mod.* "$CACHE"/.etcd-bin.* \
    "$CACHE"/.kwok-mod.* "$CACHE"/.kwok-bin.*; do
    [ -e "$d" ] || continue
    log "removing the leftovers of an interrupted build: $d"
    rm -rf "$d"
  done
}
# Fast path: nothing to build (and no Go toolchain needed); tidy up only if no build holds the lock.
if all_complete; then
  if flock -n 9; then remove_leftovers; fi
  link_bins
  print_dirs
  exit 0
fi

command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: install Go >= 1.26 (https://go.dev/doc/install or your distribution's golang package) and run again"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "${go_minor:-0}" -ge 26 ] 2>/dev/null || die "Go $(go env GOVERSION) is too old: kwok $KWOK_VERSION needs Go >= 1.26"

# One build at a time: a second caller waits here, then finds the sets complete and builds nothing.
if ! flock -n 9; then
  log "another build is running; waiting for it (lock $CACHE/.build.lock)"
  flock 9
  if all_complete; then link_bins; print_dirs; exit 0; fi
fi
remove_leftovers
for pair in "$K8S_DIR:${K8S_BINS[*]}" "$ETCD_DIR:${ETCD_BINS[*]}" "$KWOK_DIR:${KWOK_BINS[*]}"; do
  d="${pair%%:*}"
  # shellcheck disable=SC2086 # the binary list is meant to split
  if [ -e "$d" ] && ! complete "$d" ${pair#*:}; then
    log "the cached set $d is incomplete (a half-built or damaged cache); rebuilding it"
  fi
done
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false" GOTOOLCHAIN=local
BUILD_FLAGS=(-trimpath "-tags=selinux,notest,grpcnotrace")
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Runs `go` and turns a module-proxy failure into a clear message.
go_or_die() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | tail -n 30 >&2
    if grep -qiE 'proxy|dial tcp|i/o timeout|no such host|connection refused|410 Gone|404 Not Found|TLS handshake' <<<"$out"; then
      die "the Go module proxy ($(go env GOPROXY)) failed while running: $*"
    fi
    die "command failed: $*"
  fi
}

# new_tmp VAR NAME: sets VAR to a fresh scratch directory that is removed on exit. Not `$(new_tmp ...)`: a
# command substitution is a subshell, and the directory would never reach scratch_dirs (nor the cleanup).
scratch_dirs=()
cleanup() { local d; for d in "${scratch_dirs[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT
new_tmp() {
  local d
  d=$(mktemp -d "$CACHE/.$2.XXXXXX") || die "cannot create a scratch directory in $CACHE"
  scratch_dirs+=("$d")
  printf -v "$1" '%s' "$d"
}

finish() { # finish TMP_BIN FINAL_DIR: marks complete and renames atomically
  local tmp="$1" final="$2"
  printf 'built %s by tools/cluster/build.sh\n' "$build_date" >"$tmp/.complete"
  rm -rf "$final"
  mv "$tmp" "$final"
}

build_k8s() {
  complete "$K8S_DIR" "${K8S_BINS[@]}" && return 0
  log "building Kubernetes $K8S_VERSION (etcd-less control plane, kubectl, kubelet, kube-proxy); ~4-5 min cold"
  local mod out; new_tmp mod k8s-mod; new_tmp out k8s-bin
  local gomod
  gomod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>&1) \
    || { printf '%s\n' "$gomod" >&2; die "the Go module proxy ($(go env GOPROXY)) could not serve k8s.io/kubernetes@$K8S_VERSION"; }
  local upstream_gomod
  upstream_gomod=$(printf '%s' "$gomod" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$upstream_gomod" ] || die "could not find go.mod of k8s.io/kubernetes@$K8S_VERSION in the module cache"
  local staging_ver="v0.${K8S_VERSION#v1.}"
  {
    printf 'module local/k8s-build\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes %s\n\n' "$K8S_VERSION"
    # Every staging module k8s.io/kubernetes replaces with ./staging/... is pinned to the matching v0.X.Y.
    sed -n -E 's#^[[:space:]]*(k8s\.io/[^[:space:]]+) => \./staging/.*#\1#p' "$upstream_gomod" | sort -u |
      while read -r m; do printf 'replace %s => %s %s\n' "$m" "$m" "$staging_ver"; done
  } >"$mod/go.mod"
  [ "$(grep -c '^replace' "$mod/go.mod")" -gt 20 ] || die "found too few staging modules in $upstream_gomod"
  local pkgs=(cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl cmd/kubelet cmd/kube-proxy)
  local p
  for p in "${pkgs[@]}"; do go_or_die env -C "$mod" go get -tool "k8s.io/kubernetes/$p@$K8S_VERSION"; done
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local x=""
  for base in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $base.gitVersion=$K8S_VERSION -X $base.gitMajor=1 -X $base.gitMinor=$minor"
    x+=" -X $base.buildDate=$build_date -X $base.gitCommit= -X $base.gitTreeState=clean"
  done
  local full=(); for p in "${pkgs[@]}"; do full+=("k8s.io/kubernetes/$p"); done
  go_or_die env -C "$mod" go build "${BUILD_FLAGS[@]}" -ldflags "all=$x -s -w" -o "$out/" "${full[@]}"
  reports "$K8S_VERSION" "$out/kube-apiserver" --version || die "kube-apiserver does not report $K8S_VERSION"
  reports "$K8S_VERSION" "$out/kubectl" version --client || die "kubectl does not report $K8S_VERSION"
  finish "$out" "$K8S_DIR"
}

build_etcd() {
  complete "$ETCD_DIR" "${ETCD_BINS[@]}" && return 0
  log "building etcd $ETCD_VERSION; ~40 s cold"
  local mod out; new_tmp mod etcd-mod; new_tmp out etcd-bin
  printf 'module local/etcd-build\n\ngo 1.24.0\n' >"$mod/go.mod"
  go_or_die env -C "$mod" go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION"
  go_or_die env -C "$mod" go build "${BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  go_or_die env -C "$mod" go build "${BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3
  reports "${ETCD_VERSION#v}" "$out/etcd" --version || die "etcd does not report $ETCD_VERSION"
  finish "$out" "$ETCD_DIR"
}

build_kwok() {
  complete "$KWOK_DIR" "${KWOK_BINS[@]}" && return 0
  log "building kwok/kwokctl $KWOK_VERSION; ~1-1.5 min cold"
  local mod out; new_tmp mod kwok-mod; new_tmp out kwok-bin
  printf 'module local/kwok-build\n\ngo 1.26\n' >"$mod/go.mod"
  go_or_die env -C "$mod" go get -tool "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  local x="-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$K8S_VERSION"
  go_or_die env -C "$mod" go build "${BUILD_FLAGS[@]}" -ldflags "$x -s -w" -o "$out/" \
    sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  reports "${KWOK_VERSION#v}" "$out/kwokctl" --version || die "kwokctl does not report $KWOK_VERSION"
  finish "$out" "$KWOK_DIR"
}

build_etcd
build_kwok
build_k8s
all_complete || die "internal error: a binary set is still incomplete after the build"
link_bins
print_dirs
