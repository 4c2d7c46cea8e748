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

# check_store_path NAME VALUE: VALUE is a folder of the store (`bucket/prefix/...`: no empty, . or .. part).
check_store_path() {
  case $2 in
    '' | /* | */ | *//* | *[!A-Za-z0-9._/-]*) fail InvalidEnvironment "$1 must be bucket/prefix/..." ;;
  esac
  case /$2/ in */../* | */./*) fail InvalidEnvironment "$1 must not hold . or .. parts" ;; esac
}

# check_store_env: the object store's variables (store_backup.sh, store_restore.sh); sets rclone_opts. The store is
# rclone's remote `store`, configured by RCLONE_CONFIG_STORE_* variables (keys through secretKeyRef).
check_store_env() {
  for _t in rclone mkfifo tee; do
    command -v "$_t" >/dev/null 2>&1 || fail MissingTool "$_t is not in the image"
  done
  check_store_path STORE_PATH "${STORE_PATH:-}"
  case ${INSTANCE_CLUSTER:-} in
    *[!A-Za-z0-9._@:-]*) fail InvalidEnvironment 'INSTANCE_CLUSTER must be a context name' ;;
  esac
  # rclone's own retries would repeat a streamed upload it cannot replay: one try, bounded waits. Parts of
  # 16 MiB, two at a time: 32 MiB of memory, and a dump of up to 156 GiB (S3 allows 10000 parts).
  rclone_opts='--retries 1 --low-level-retries 3 --contimeout 15s --timeout 60s'
  rclone_opts="$rclone_opts --s3-chunk-size 16Mi --s3-upload-concurrency 2"
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

# read_store_folder: the instance's folder in the store, as list_backups reads a volume's: `dir` holds a copy of
# every manifest and an empty stand-in of every dump (list_backups needs it to exist), `$work/sizes` each dump's
# `stem size`, `$work/objects` the listing (`size;name`), `$work/names` the names alone. A folder that cannot be listed or read fails with
# DownloadFailed: it never counts as "no backup".
read_store_folder() {
  # shellcheck disable=SC2086 # rclone_opts: split on purpose
  rclone $rclone_opts lsf --files-only --format sp "store:$STORE_PATH" > "$work/objects" 2> "$work/err" ||
    fail DownloadFailed "cannot list $STORE_PATH: $(tail -n 2 "$work/err")"
  dir=$work/manifests
  rm -rf "$dir"
  mkdir "$dir" || fail TempDirFailed 'cannot create a temporary directory'
  : > "$work/sizes"
  while IFS=';' read -r _size _name; do
    case $_name in '' | *[!A-Za-z0-9._-]*) continue ;; esac
    case $_name in
      *.manifest)
        # shellcheck disable=SC2086 # rclone_opts: split on purpose
        rclone $rclone_opts cat "store:$STORE_PATH/$_name" > "$dir/$_name" 2> "$work/err" ||
          fail DownloadFailed "cannot read $STORE_PATH/$_name: $(tail -n 2 "$work/err")"
        ;;
      *.sql)
        : > "$dir/$_name" || fail TempDirFailed 'cannot write in the temporary directory'
        printf '%s %s\n' "${_name%.sql}" "$_size" >> "$work/sizes"
        ;;
    esac
  done < "$work/objects"
  cut -d ';' -f 2 "$work/objects" > "$work/names" || fail TempDirFailed 'cannot write in the temporary directory'
}

# require_empty_database CLIENT: fails with DatabaseNotEmpty unless MYSQL_DATABASE has no tables, routines or
# events (a restore loads only into a fresh instance; checked before any backup is read).
require_empty_database() {
  "$1" --defaults-extra-file="$cnf" --batch --skip-column-names -e "SELECT
  (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$MYSQL_DATABASE') +
  (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '$MYSQL_DATABASE') +
  (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '$MYSQL_DATABASE')" > "$work/count" 2> "$work/err"
  _rc=$?
  if [ "$_rc" -ne 0 ]; then
    fail "$(classify "$work/err" ConnectionFailed)" "$1 exited with status $_rc: $(tail -n 2 "$work/err")"
  fi
  _objects=''
  read -r _objects < "$work/count"
  case $_objects in '' | *[!0-9]*) fail ConnectionFailed "unexpected answer from the server: $_objects" ;; esac
  if [ "$_objects" -ne 0 ]; then
    fail DatabaseNotEmpty "database $MYSQL_DATABASE already has $_objects tables, routines or events: nothing was loaded"
  fi
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

# create_database CLIENT: creates MYSQL_DATABASE when missing (the restore loads into it).
create_database() {
  "$1" --defaults-extra-file="$cnf" -e "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`" 2> "$work/err"
  _rc=$?
  if [ "$_rc" -ne 0 ]; then
    fail "$(classify "$work/err" RestoreFailed)" "cannot create database $MYSQL_DATABASE: $(tail -n 2 "$work/err")"
  fi
}

# undo_partial_load CLIENT: after a failed load, drops and re-creates MYSQL_DATABASE so that a retry starts from
# empty again; sets undo to what it could do.
# shellcheck disable=SC2034 # undo: for the caller
undo_partial_load() {
  if "$1" --defaults-extra-file="$cnf" -e "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`; CREATE DATABASE \`$MYSQL_DATABASE\`" \
    2>/dev/null; then
    undo='the partial load was removed'
  else
    undo='the database may hold a partial load'
  fi
}

# report_restored LABEL MANIFEST SHA256 SKIPPED: the success report of a restore (LABEL names the dump loaded).
report_restored() {
  _taken=$(mget "$2" time)
  case $_taken in '' | *[!0-9TZ:-]*) _taken='' ;; esac
  _now=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
  _message="restored the backup taken at $_taken"
  [ -z "$4" ] || _message="$_message; skipped newer backups that failed verification:$4"
  say "$_message"
  cleanup
  report "{\"result\":\"Restored\",\"backup\":\"$1\",\"sha256\":\"$3\",\"time\":\"$_now\",\"backupTime\":\"$_taken\",\"message\":\"$(clean "$_message")\"}"
}

# read_dump STEM SINK...: streams STEM.sql from the store (under STORE_PATH) through tee to sha256sum, tail and
# SINK (a command), each on a named pipe so that every exit status is seen; sets got (sha256), last (the last
# line) and sink_rc; returns rclone's exit status. The store's backup reads its upload back with it, the store's
# restore verifies and loads with it.
# shellcheck disable=SC2034 # got, last, sink_rc: for the caller
read_dump() {
  _stem=$1
  shift
  rm -f "$work/p.in" "$work/p.sum" "$work/p.tail" "$work/p.sink"
  mkfifo "$work/p.in" "$work/p.sum" "$work/p.tail" "$work/p.sink" || return 1
  sha256sum < "$work/p.sum" > "$work/sum.out" 2>/dev/null &
  _sum_pid=$!
  tail -n 1 < "$work/p.tail" > "$work/last.out" 2>/dev/null &
  _tail_pid=$!
  "$@" < "$work/p.sink" > /dev/null 2> "$work/sink.err" &
  _sink_pid=$!
  tee "$work/p.sum" "$work/p.tail" < "$work/p.in" > "$work/p.sink" 2>/dev/null &
  _tee_pid=$!
  pids="$_sum_pid $_tail_pid $_sink_pid $_tee_pid"
  # shellcheck disable=SC2086 # rclone_opts: split on purpose
  rclone $rclone_opts cat "store:$STORE_PATH/$_stem.sql" > "$work/p.in" 2> "$work/err" &
  child=$!
  wait "$child"
  _dl_rc=$?
  child=''
  wait "$_tee_pid"
  wait "$_sum_pid"
  wait "$_tail_pid"
  wait "$_sink_pid"
  sink_rc=$?
  pids=''
  got=$(cut -d ' ' -f 1 < "$work/sum.out")
  last=$(cat "$work/last.out")
  return "$_dl_rc"
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
