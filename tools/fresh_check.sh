#!/usr/bin/env bash
# The fresh-machine check (`deno task test:fresh [--runs N] [--keep-packages]`): runs `.ci/run` in fresh clones of
# this repository's HEAD as a brand-new machine would, N times in a row (default 1: the cold run), and prints each
# run's time and result; before them, `deno test -A templates/` alone on the bare machine. "Fresh" means:
#   - ~/.cache/mysql-operator (binaries, clusters, images) is moved aside; the Go, Deno and npm caches are replaced
#     by empty ones for the check (GOMODCACHE, GOCACHE, DENO_DIR, npm_config_cache);
#   - the Debian packages the tests install are purged (unless --keep-packages);
#   - every running local cluster is stopped and the real node taken down first.
# Afterwards the check's clusters and caches are deleted and the moved cache is put back (its clusters stopped; the
# tests or `deno task cluster up` start them again). The packages are not reinstalled: the tests install them.
# Needs root (apt-get, the real node). Only committed work is checked: commit first.
set -euo pipefail

runs=1
purge=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --keep-packages) purge=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "fresh check: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "fresh check: --runs needs a positive integer" >&2; exit 2 ;; esac

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
deno_bin="$repo/node_modules/deno/deno"
[ -x "$deno_bin" ] || deno_bin=$(command -v deno) || { echo "fresh check: no deno (run npm ci first)" >&2; exit 1; }
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
  echo "fresh check: note: uncommitted changes are not part of the check (it clones HEAD)" >&2

head=$(git -C "$repo" rev-parse HEAD) # every clone checks this commit out, whatever is committed meanwhile
cache="${MYSQL_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mysql-operator}"
stamp=$(date +%Y%m%d-%H%M%S)
aside="$cache.aside-$stamp"
scratch=$(mktemp -d /tmp/mo-fresh.XXXXXX)
log() { printf 'fresh check: %s\n' "$*" >&2; }

# The Debian packages the project's tests and tools install (tools/real_node/host.ts, tests/_mariadb.ts,
# templates/_script_lint.ts, tools/shell_scripts_test.ts, deploy/argocd/health_test.ts (lua5.1),
# deploy/monitoring/rules_test.ts (prometheus: promtool), tests/store_backup_test.ts (rclone), tools/allocator.ts
# (libjemalloc2, for every operator the tests start)) that a new machine of this kind does not have.
packages=(mariadb-server mariadb-server-core mariadb-client mariadb-client-core containerd runc
  containernetworking-plugins iptables debootstrap posh busybox shellcheck lua5.1 prometheus rclone libjemalloc2)

# shellcheck disable=SC2317 # called by the EXIT trap
restore() {
  set +e # every step is tried, whatever failed before
  log "cleaning up: the check's clusters, caches and clones"
  local removed=1
  if ! (cd "$repo" && "$deno_bin" task -q cluster down --all --real-node >/dev/null 2>&1); then
    removed=0
    log "could not delete the check's clusters: $cache is kept (delete them with 'deno task cluster down --all')"
  fi
  chmod -R u+w "$scratch" 2>/dev/null # Go's module cache is read-only
  rm -rf "$scratch"
  [ "$removed" = 1 ] && rm -rf "$cache"
  if [ -e "$aside" ]; then
    if [ -e "$cache" ]; then
      log "your cache is at $aside ($cache is still there: move it back by hand)"
    elif mv -T "$aside" "$cache"; then
      log "put $cache back"
    else
      log "your cache is at $aside: move it back to $cache by hand"
    fi
  fi
}

log "stopping every running local cluster (and the real node)"
(cd "$repo" && "$deno_bin" task -q cluster stop --all)
if [ -e "$cache" ]; then
  mv "$cache" "$aside"
  log "moved $cache aside to $aside"
fi
trap restore EXIT
if [ "$purge" = 1 ]; then
  installed=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 && installed+=("$p"); done
  if [ "${#installed[@]}" -gt 0 ]; then
    # Only these packages: refuse when purging them would take anything else with it (a package that depends on
    # them, e.g. docker.io on containerd). No autoremove: it would take every orphan of the machine.
    others=$(apt-get -s purge "${installed[@]}" | awk '/^(Purg|Remv) /{print $2}' | grep -vxF -f <(printf '%s\n' "${packages[@]}") || true)
    if [ -n "$others" ]; then
      log "purging ${installed[*]} would also remove: $(echo "$others" | tr '\n' ' ')— not purging; use --keep-packages or remove those first"
      exit 1
    fi
    log "purging ${installed[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${installed[@]}" >/dev/null
  fi
fi
export GOMODCACHE="$scratch/gomod" GOCACHE="$scratch/gobuild" DENO_DIR="$scratch/deno" npm_config_cache="$scratch/npm"

results=()
status=0
# First, on the bare machine, the unit tests of templates/ alone: they must bring what they need themselves.
unit="$scratch/unit"
git clone -q "$repo" "$unit" && git -C "$unit" checkout -q "$head"
log "deno test -A templates/ alone, on the bare machine"
rc=0
(cd "$unit" && npm ci --no-audit --no-fund && node_modules/deno/deno test -A templates/) >"$scratch/unit.log" 2>&1 || rc=$?
closing=$(sed 's/\x1b\[[0-9;]*m//g' "$scratch/unit.log" | grep -E '^(ok|FAILED) \|' | tail -n 1 || true)
results+=("templates/ alone: exit $rc; ${closing:-no summary line}")
log "${results[-1]}"
if [ "$rc" != 0 ]; then cp "$scratch/unit.log" "/tmp/mo-fresh-$stamp-unit.log"; status=1; fi
for i in $(seq 1 "$runs"); do
  clone="$scratch/clone-$i"
  git clone -q "$repo" "$clone" && git -C "$clone" checkout -q "$head"
  log "run $i/$runs: .ci/run in $clone"
  start=$(date +%s)
  rc=0
  (cd "$clone" && CI=true bash .ci/run </dev/null) >"$scratch/run-$i.log" 2>&1 || rc=$?
  secs=$(($(date +%s) - start))
  summary=$(grep -E '^tests: ' "$scratch/run-$i.log" | tail -n 1 || true)
  results+=("run $i: exit $rc in $((secs / 60)) min $((secs % 60)) s; ${summary:-no summary line}")
  log "${results[-1]}"
  if [ "$rc" != 0 ]; then
    status=1
    cp "$scratch/run-$i.log" "/tmp/mo-fresh-$stamp-run-$i.log"
    log "its output: /tmp/mo-fresh-$stamp-run-$i.log"
    break
  fi
done
printf 'fresh check of %s\n' "$head"
printf '%s\n' "${results[@]}"
exit "$status"
