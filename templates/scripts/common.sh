# shellcheck shell=sh
## Shell code shared by the backup and restore Jobs (backup.sh and restore.sh source it; the build embeds it in
## their place, see tools/gen_job_scripts.ts): environment checks, tool discovery, the client option file, the
## report, manifest reading and the listing of an instance's complete backups. The manifest format version exists
## in shell text and in storage/catalog.ts, which reads the manifests in an object store: the backup writes
## `format=1` and both listings skip any other version.
##
## Option-file quoting (MySQL and MariaDB `my_default` parser, proved against a real server by
## tests/backup_restore_test.ts): a line is `key=value`; leading and trailing whitespace of the value is dropped,
## then one pair of matching quotes around it is removed; `#` starts a comment unless inside quotes; inside the
## value `\n \t \r \b \s \" \' \\` are escapes (an unknown `\x` keeps the backslash); a line may not exceed 4 KiB.
## So every value is written inside double quotes with `\`, `"`, `'`, newline, CR, tab and backspace escaped:
## spaces at either end, `#`, `$` and quotes then round-trip exactly.
##
## Lines starting with `##` and shellcheck directives are for maintainers: the build leaves them out of the Jobs.

# POSIX sh has no local variables: variables of functions start with _ so that they never clobber the caller's.
LC_ALL=C
export LC_ALL
umask 077
REPORT_FILE=${REPORT_FILE:-/dev/termination-log}
work=''
child=''
tmp_dump=''
tmp_manifest=''
unfinished=''
pids=''
remote_unfinished=''
rclone_opts=''

say() {
  printf '%s\n' "$*" >&2
}

# clean TEXT: only characters that are safe inside JSON and logs, on one line, at most 300 of them.
clean() {
  printf '%s' "$1" | tr -c 'A-Za-z0-9 ._:,;/()=+@%-' ' ' | cut -c 1-300
}

cleanup() {
  if [ -n "$child" ]; then
    kill "$child" 2>/dev/null
    child=''
  fi
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # a list of PIDs
    kill $pids 2>/dev/null
    pids=''
  fi
  if [ -n "$remote_unfinished" ]; then
    # An object uploaded without its manifest is not a backup; removed here when possible, else by retention.
    # shellcheck disable=SC2086 # rclone_opts: split on purpose
    rclone $rclone_opts deletefile "$remote_unfinished" 2>/dev/null ||
      say "warning: could not delete the unfinished upload ${remote_unfinished#store:}"
    remote_unfinished=''
  fi
  if [ -n "$tmp_dump" ]; then rm -f "$tmp_dump"; tmp_dump=''; fi
  if [ -n "$tmp_manifest" ]; then rm -f "$tmp_manifest"; tmp_manifest=''; fi
  if [ -n "$unfinished" ]; then rm -f "$unfinished"; unfinished=''; fi
  if [ -n "$work" ]; then rm -rf "$work"; work=''; fi
}

# report JSON: print the one report line and write it to REPORT_FILE (the termination message). The Job's UID goes
# first in it when the Job passed a well-formed one: the operator trusts a report only for the Job it names.
report() {
  _r=$1
  case ${JOB_UID:-} in
    '' | *[!A-Za-z0-9-]*) ;;
    *) [ ${#JOB_UID} -gt 64 ] || _r="{\"jobUid\":\"$JOB_UID\",${_r#?}" ;;
  esac
  printf '%s\n' "$_r"
  if ! printf '%s\n' "$_r" 2>/dev/null > "$REPORT_FILE"; then
    say "warning: cannot write the report to $REPORT_FILE"
  fi
}

# fail REASON MESSAGE: clean up, report the failure and exit non-zero.
fail() {
  trap - HUP INT TERM
  cleanup
  report "{\"result\":\"Failed\",\"reason\":\"$1\",\"message\":\"$(clean "$2")\"}"
  exit 1
}

trap 'fail Interrupted "stopped by signal TERM"' TERM
trap 'fail Interrupted "stopped by signal INT"' INT
trap 'fail Interrupted "stopped by signal HUP"' HUP
trap 'cleanup' EXIT

# check_env_common: what every Job checks (the database, the identity, the server); sets tag.
check_env_common() {
  case ${MYSQL_DATABASE:-} in
    '' | *[!A-Za-z0-9_-]*) fail InvalidEnvironment 'MYSQL_DATABASE must be made of A-Z a-z 0-9 _ -' ;;
  esac
  [ ${#MYSQL_DATABASE} -le 64 ] || fail InvalidEnvironment 'MYSQL_DATABASE is longer than 64 characters'
  case ${INSTANCE_ID:-} in
    '' | *[!A-Za-z0-9._/-]*) fail InvalidEnvironment 'INSTANCE_ID must be namespace/name' ;;
  esac
  case ${INSTANCE_UID:-} in
    *[!A-Za-z0-9-]*) fail InvalidEnvironment 'INSTANCE_UID must be a UID' ;;
  esac
  # Without JOB_UID (a run outside a Job) the reports name no Job, and the operator would trust none of them.
  case ${JOB_UID:-} in
    *[!A-Za-z0-9-]*) fail InvalidEnvironment 'JOB_UID must be a UID' ;;
  esac
  [ ${#JOB_UID} -le 64 ] || fail InvalidEnvironment 'JOB_UID must be a UID'
  [ -n "${MYSQL_HOST:-}" ] || fail InvalidEnvironment 'MYSQL_HOST must be set'
  MYSQL_PORT=${MYSQL_PORT:-3306}
  case $MYSQL_PORT in
    *[!0-9]*) fail InvalidEnvironment 'MYSQL_PORT must be a number' ;;
  esac
  MYSQL_USER=${MYSQL_USER:-root}
  export MYSQL_HOST MYSQL_PORT MYSQL_USER
  [ "${MYSQL_PASSWORD+set}" = set ] || fail InvalidEnvironment 'MYSQL_PASSWORD must be set'
  # Names of this instance's files start with the tag (identity itself is always read from the manifests).
  tag=$(printf '%s' "$INSTANCE_ID" | tr -c 'A-Za-z0-9.-' '_')
  [ -n "$tag" ] || fail InvalidEnvironment 'INSTANCE_ID must be namespace/name'
}

# check_env: check_env_common and the backup volume's variables; sets dir.
check_env() {
  check_env_common
  case ${BACKUP_SUBDIR:-} in
    '' | '.' | '..' | *[!A-Za-z0-9._-]*) fail InvalidEnvironment 'BACKUP_SUBDIR must be a plain directory name' ;;
  esac
  if [ -z "${BACKUP_DIR:-}" ] || [ ! -d "$BACKUP_DIR" ]; then
    fail BackupVolumeMissing 'BACKUP_DIR is not a directory'
  fi
  dir=$BACKUP_DIR/$BACKUP_SUBDIR
}

# retention_keep: how many complete backups retention keeps (BACKUP_RETENTION, default 7, at least 1), in keep.
retention_keep() {
  case ${BACKUP_RETENTION:-} in
    '') keep=7 ;;
    *[!0-9]*) say "BACKUP_RETENTION=${BACKUP_RETENTION} is not a number: keeping 7"; keep=7 ;;
    ??????*) keep=100000 ;;
    *) keep=$BACKUP_RETENTION ;;
  esac
  [ "$keep" -ge 1 ] || keep=1
}

# new_stem: the new backup's name, `<tag>-<UTC time>-<48 random bits>` (unique; callers check it as well), in
# stem, and its start time in started.
# shellcheck disable=SC2034 # stem, started: for the caller
new_stem() {
  # shellcheck disable=SC2046 # split on purpose: the two words are the two times
  set -- $(date -u '+%Y%m%dT%H%M%SZ %Y-%m-%dT%H:%M:%SZ')
  case ${1:-} in '' | *[!0-9TZ]*) fail TempDirFailed 'date failed' ;; esac
  started=${2:-}
  _rnd=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  case $_rnd in '' | *[!0-9a-f]*) fail WriteFailed 'cannot read /dev/urandom' ;; esac
  [ ${#_rnd} -eq 12 ] || fail WriteFailed 'cannot read /dev/urandom'
  stem=$tag-$1-$_rnd
}

# pick NAME...: the first program found on PATH (MariaDB 11 images only have the mariadb-* names).
pick() {
  for _p in "$@"; do
    if command -v "$_p" >/dev/null 2>&1; then
      printf '%s' "$_p"
      return 0
    fi
  done
  return 1
}

check_tools() {
  for _t in awk sed grep tr cut tail sort wc od mv rm mkdir mktemp date sha256sum; do
    command -v "$_t" >/dev/null 2>&1 || fail MissingTool "$_t is not in the image"
  done
}

make_work() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/mysql-job.XXXXXX") || {
    work=''
    fail TempDirFailed 'cannot create a temporary directory'
  }
}

# Writes the client option file and drops the password from the environment of every later command.
write_credentials() {
  cnf=$work/client.cnf
  awk 'function q(s,    out, i, c) {
      out = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") c = "\\\\"
        else if (c == "\"") c = "\\\""
        else if (c == "\047") c = "\\\047"
        else if (c == "\n") c = "\\n"
        else if (c == "\r") c = "\\r"
        else if (c == "\t") c = "\\t"
        else if (c == "\b") c = "\\b"
        out = out c
      }
      if (length(out) > 4000) too_long = 1
      return "\"" out "\""
    }
    BEGIN {
      printf "[client]\n"
      printf "user=%s\n", q(ENVIRON["MYSQL_USER"])
      printf "password=%s\n", q(ENVIRON["MYSQL_PASSWORD"])
      printf "host=%s\n", q(ENVIRON["MYSQL_HOST"])
      printf "port=%s\n", q(ENVIRON["MYSQL_PORT"])
      printf "protocol=TCP\n"
      exit too_long ? 3 : 0
    }' > "$cnf"
  rc=$?
  [ "$rc" -ne 3 ] || fail InvalidEnvironment 'MYSQL_PASSWORD is too long for a client option file'
  [ "$rc" -eq 0 ] || fail TempDirFailed 'cannot write the client option file'
  unset MYSQL_PASSWORD
}

# classify ERRFILE DEFAULT: a failure reason from a client's error output.
classify() {
  if grep -q -i 'access denied' "$1" 2>/dev/null; then
    printf 'AccessDenied'
  elif grep -q -i -e "can't connect" -e 'lost connection' -e 'gone away' -e 'unknown server host' \
    -e 'unknown mysql server host' -e 'connection refused' "$1" 2>/dev/null; then
    printf 'ConnectionFailed'
  else
    printf '%s' "$2"
  fi
}

# print_manifest: the new backup's manifest (format 1; `cluster=` only for a store's backup, `table=` lines only
# for one taken read-only: freeze.sh), from stem, started, seq, bytes, sha, reason and tool: the one place its
# fields are written, by backup.sh and store_backup.sh.
# shellcheck disable=SC2154 # stem, started, seq, bytes, sha, reason, tool: the backup script's
print_manifest() {
  printf 'format=1\n'
  printf 'instance_id=%s\n' "$INSTANCE_ID"
  printf 'instance_uid=%s\n' "${INSTANCE_UID:-}"
  [ -z "${INSTANCE_CLUSTER:-}" ] || printf 'cluster=%s\n' "$INSTANCE_CLUSTER"
  printf 'database=%s\n' "$MYSQL_DATABASE"
  printf 'file=%s\n' "$stem.sql"
  printf 'time=%s\n' "$started"
  printf 'seq=%s\n' "$seq"
  printf 'bytes=%s\n' "$bytes"
  printf 'sha256=%s\n' "$sha"
  printf 'reason=%s\n' "$reason"
  printf 'tool=%s\n' "$(clean "$tool")"
  [ ! -s "$work/tables" ] || cat "$work/tables"
}

# mget MANIFEST KEY: the value of KEY (empty when absent).
mget() {
  sed -n "s/^$2=//p" "$1" 2>/dev/null
}

size_of() {
  _s=$(wc -c < "$1") || return 1
  # shellcheck disable=SC2086 # split on purpose: wc may pad the number with blanks
  set -- $_s
  case ${1:-} in '' | *[!0-9]*) return 1 ;; esac
  printf '%s' "$1"
}

sha_of() {
  _s=$(sha256sum "$1") || return 1
  _s=${_s%% *}
  case $_s in '' | *[!0-9a-f]*) return 1 ;; esac
  [ ${#_s} -eq 64 ] || return 1
  printf '%s' "$_s"
}

sync_path() {
  sync "$1" 2>/dev/null || sync
}

# list_backups: complete backups of THIS instance, newest first, as "seq stem" lines in $work/list.sorted.
# A backup is complete when its manifest is in place, names this instance and its dump file exists.
list_backups() {
  : > "$work/list" || return 1
  if [ -d "$dir" ]; then
    for _m in "$dir"/*.manifest; do
      [ -f "$_m" ] || continue
      _stem=${_m##*/}
      _stem=${_stem%.manifest}
      case $_stem in '' | *[!A-Za-z0-9._-]*) continue ;; esac
      [ "$(mget "$_m" format)" = 1 ] || continue
      [ "$(mget "$_m" instance_id)" = "$INSTANCE_ID" ] || continue
      [ "$(mget "$_m" file)" = "$_stem.sql" ] || continue
      [ -f "$dir/$_stem.sql" ] || continue
      _seq=$(mget "$_m" seq)
      case $_seq in '' | *[!0-9]*) continue ;; esac
      printf '%s %s\n' "$_seq" "$_stem" >> "$work/list" || return 1
    done
  fi
  sort -k1,1nr -k2,2r "$work/list" > "$work/list.sorted"
}

# newest_migrate: the newest of list_backups' backups taken for `mysql-operator migrate`, which a migration may
# still restore from: retention never removes it.
newest_migrate() {
  while read -r _s _stem; do
    if [ "$(mget "$dir/$_stem.manifest" reason)" = migrate ]; then printf '%s' "$_stem"; return 0; fi
  done < "$work/list.sorted"
}
