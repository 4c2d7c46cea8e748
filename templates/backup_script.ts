/**
 * The backup Job's script: constant POSIX sh text (no value is ever spliced into it; everything comes from the
 * environment contract of backup and restore Jobs, see templates/jobs.ts).
 *
 * What it guarantees:
 * - The dump (`--single-transaction`, routines, triggers, events, the one database `MYSQL_DATABASE`) goes to a
 *   hidden temporary file on the backup volume, never through a pipe (a pipe would hide the dump's exit status).
 *   It counts only when the dump tool exited 0, the file is not empty and its last line is the dump tool's
 *   `-- Dump completed` marker; then it is renamed to `<subdir>/<tag>-<UTC time>-<48 random bits>.sql`.
 * - A backup exists only once its manifest (`<same stem>.manifest`, written to a temporary file and renamed last)
 *   is in place: instance identity (`INSTANCE_ID`, `INSTANCE_UID`), database, time, size, sha256, a sequence number
 *   that orders backups independent of clocks, and a format version. A killed or failed run leaves no manifest,
 *   so no restore can pick its file, and the previous backups are untouched.
 * - Retention keeps the newest `BACKUP_RETENTION` complete backups of this instance (identity read from the
 *   manifests, so other instances' files in the same directory are never touched) and never the one just made.
 * - Credentials go to a client option file (mode 600, in a temporary directory removed on exit) passed with
 *   `--defaults-extra-file`; the password is never on a command line. See {@linkcode COMMON_SH} for the quoting.
 * - The last action writes one JSON line to `REPORT_FILE` (default /dev/termination-log), also echoed to stdout.
 *
 * @module
 */

/**
 * Tag for embedded shell text: the raw template text, except that `\${` becomes `${` (JavaScript templates need
 * the backslash; shell text needs no literal `\${`). Backslashes are otherwise kept exactly as written.
 */
export function sh(strings: TemplateStringsArray): string {
  return strings.raw.join("").replaceAll("\\${", "${");
}

/** Version of the manifest format (`format=1` in the text) that the backup writes and the restore requires. */
export const MANIFEST_FORMAT = 1;

/**
 * Shell code shared by the backup and restore scripts: environment checks, tool discovery, the client option file,
 * the report, manifest reading and the listing of an instance's complete backups.
 *
 * Option-file quoting (MySQL and MariaDB `my_default` parser, proved against a real server by
 * tests/backup_restore_test.ts): a line is `key=value`; leading and trailing whitespace of the value is dropped,
 * then one pair of matching quotes around it is removed; `#` starts a comment unless inside quotes; inside the
 * value `\n \t \r \b \s \" \' \\` are escapes (an unknown `\x` keeps the backslash); a line may not exceed 4 KiB.
 * So every value is written inside double quotes with `\`, `"`, `'`, newline, CR, tab and backspace escaped:
 * spaces at either end, `#`, `$` and quotes then round-trip exactly.
 */
export const COMMON_SH = sh`
# POSIX sh has no local variables: variables of functions start with _ so that they never clobber the caller's.
LC_ALL=C
export LC_ALL
umask 077
REPORT_FILE=\${REPORT_FILE:-/dev/termination-log}
work=''
child=''
tmp_dump=''
tmp_manifest=''
unfinished=''

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
  if [ -n "$tmp_dump" ]; then rm -f "$tmp_dump"; tmp_dump=''; fi
  if [ -n "$tmp_manifest" ]; then rm -f "$tmp_manifest"; tmp_manifest=''; fi
  if [ -n "$unfinished" ]; then rm -f "$unfinished"; unfinished=''; fi
  if [ -n "$work" ]; then rm -rf "$work"; work=''; fi
}

# report JSON: print the one report line and write it to REPORT_FILE (the termination message).
report() {
  printf '%s\n' "$1"
  if ! printf '%s\n' "$1" 2>/dev/null > "$REPORT_FILE"; then
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

check_env() {
  case \${MYSQL_DATABASE:-} in
    '' | *[!A-Za-z0-9_-]*) fail InvalidEnvironment 'MYSQL_DATABASE must be made of A-Z a-z 0-9 _ -' ;;
  esac
  [ \${#MYSQL_DATABASE} -le 64 ] || fail InvalidEnvironment 'MYSQL_DATABASE is longer than 64 characters'
  case \${INSTANCE_ID:-} in
    '' | *[!A-Za-z0-9._/-]*) fail InvalidEnvironment 'INSTANCE_ID must be namespace/name' ;;
  esac
  case \${INSTANCE_UID:-} in
    *[!A-Za-z0-9-]*) fail InvalidEnvironment 'INSTANCE_UID must be a UID' ;;
  esac
  case \${BACKUP_SUBDIR:-} in
    '' | '.' | '..' | *[!A-Za-z0-9._-]*) fail InvalidEnvironment 'BACKUP_SUBDIR must be a plain directory name' ;;
  esac
  [ -n "\${MYSQL_HOST:-}" ] || fail InvalidEnvironment 'MYSQL_HOST must be set'
  MYSQL_PORT=\${MYSQL_PORT:-3306}
  case $MYSQL_PORT in
    *[!0-9]*) fail InvalidEnvironment 'MYSQL_PORT must be a number' ;;
  esac
  MYSQL_USER=\${MYSQL_USER:-root}
  export MYSQL_HOST MYSQL_PORT MYSQL_USER
  [ "\${MYSQL_PASSWORD+set}" = set ] || fail InvalidEnvironment 'MYSQL_PASSWORD must be set'
  if [ -z "\${BACKUP_DIR:-}" ] || [ ! -d "$BACKUP_DIR" ]; then
    fail BackupVolumeMissing 'BACKUP_DIR is not a directory'
  fi
  dir=$BACKUP_DIR/$BACKUP_SUBDIR
  # Names of this instance's files start with the tag (identity itself is always read from the manifests).
  tag=$(printf '%s' "$INSTANCE_ID" | tr -c 'A-Za-z0-9.-' '_')
  [ -n "$tag" ] || fail InvalidEnvironment 'INSTANCE_ID must be namespace/name'
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
  work=$(mktemp -d "\${TMPDIR:-/tmp}/mysql-job.XXXXXX") || {
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
  set -- $_s
  case \${1:-} in '' | *[!0-9]*) return 1 ;; esac
  printf '%s' "$1"
}

sha_of() {
  _s=$(sha256sum "$1") || return 1
  _s=\${_s%% *}
  case $_s in '' | *[!0-9a-f]*) return 1 ;; esac
  [ \${#_s} -eq 64 ] || return 1
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
      _stem=\${_m##*/}
      _stem=\${_stem%.manifest}
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
`;

/** The backup Job's script (run as `/bin/sh -c BACKUP_SCRIPT`). */
export const BACKUP_SCRIPT: string = "# mysql-operator backup job (see templates/backup_script.ts)\n" +
  COMMON_SH +
  sh`
# prune_stale: this instance's leftovers of runs killed outright (no trap ran), older than an hour.
prune_stale() {
  command -v find >/dev/null 2>&1 || return 0
  find "$dir" -maxdepth 1 -type f -name ".partial-$tag-*" -mmin +60 > "$work/stale" 2>/dev/null || return 0
  while IFS= read -r _f; do
    rm -f "$_f" && say "removed stale temporary file \${_f##*/}"
  done < "$work/stale"
  find "$dir" -maxdepth 1 -type f -name "$tag-*.sql" -mmin +60 > "$work/stale" 2>/dev/null || return 0
  while IFS= read -r _f; do
    [ -e "\${_f%.sql}.manifest" ] || { rm -f "$_f" && say "removed dump without manifest \${_f##*/}"; }
  done < "$work/stale"
}

check_env
check_tools
dump=$(pick mariadb-dump mysqldump) || fail MissingTool 'neither mariadb-dump nor mysqldump is in the image'
case \${BACKUP_RETENTION:-} in
  '') keep=7 ;;
  *[!0-9]*) say "BACKUP_RETENTION=\${BACKUP_RETENTION} is not a number: keeping 7"; keep=7 ;;
  ??????*) keep=100000 ;;
  *) keep=$BACKUP_RETENTION ;;
esac
[ "$keep" -ge 1 ] || keep=1
case \${BACKUP_REASON:-manual} in
  '' | *[!a-z]*) reason=manual ;;
  *) reason=\${BACKUP_REASON:-manual} ;;
esac

make_work
write_credentials
mkdir -p "$dir" || fail BackupVolumeMissing "cannot create $BACKUP_SUBDIR on the backup volume"

set -- $(date -u '+%Y%m%dT%H%M%SZ %Y-%m-%dT%H:%M:%SZ')
stamp=\${1:-}
started=\${2:-}
case $stamp in '' | *[!0-9TZ]*) fail TempDirFailed 'date failed' ;; esac

# 48 random bits make the name unique; it is checked as well, so a rename can never replace an older backup.
rnd=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
case $rnd in '' | *[!0-9a-f]*) fail WriteFailed 'cannot read /dev/urandom' ;; esac
[ \${#rnd} -eq 12 ] || fail WriteFailed 'cannot read /dev/urandom'
stem=$tag-$stamp-$rnd
if [ -e "$dir/$stem.sql" ] || [ -e "$dir/$stem.manifest" ]; then
  fail WriteFailed "$stem exists already"
fi
# noclobber: the temporary file is created only if no other run has it.
if ! (set -C && : > "$dir/.partial-$stem.sql") 2>/dev/null; then
  fail WriteFailed "cannot create a file in $BACKUP_SUBDIR on the backup volume"
fi
tmp_dump=$dir/.partial-$stem.sql

# MySQL 8 adds GTID statements to dumps unless told not to; MariaDB's tools have no such option.
gtid=''
if "$dump" --help 2>/dev/null | grep -q -e '--set-gtid-purged'; then gtid='--set-gtid-purged=OFF'; fi

say "dumping database $MYSQL_DATABASE of $INSTANCE_ID with $dump"
# Not piped, in the background so that a TERM is handled at once; the exit status is checked below.
"$dump" --defaults-extra-file="$cnf" --single-transaction --routines --triggers --events --hex-blob \
  --no-tablespaces --default-character-set=utf8mb4 $gtid "$MYSQL_DATABASE" > "$tmp_dump" 2> "$work/dump.err" &
child=$!
wait "$child"
rc=$?
child=''
if [ "$rc" -ne 0 ]; then
  fail "$(classify "$work/dump.err" DumpFailed)" "$dump exited with status $rc: $(tail -n 2 "$work/dump.err")"
fi
[ -s "$tmp_dump" ] || fail DumpIncomplete "$dump wrote nothing"
last=$(tail -n 1 "$tmp_dump") || fail DumpIncomplete 'cannot read the dump'
case $last in
  '-- Dump completed'*) ;;
  *) fail DumpIncomplete "the dump does not end with the completion line of $dump" ;;
esac
bytes=$(size_of "$tmp_dump") || fail WriteFailed 'cannot measure the dump'
sha=$(sha_of "$tmp_dump") || fail WriteFailed 'cannot checksum the dump'
tool=$("$dump" --version 2>/dev/null) || tool=$dump
sync_path "$tmp_dump"

list_backups || fail WriteFailed 'cannot list the existing backups'
seq=0
read -r seq rest < "$work/list.sorted" || seq=0
seq=$((seq + 1))

[ ! -e "$dir/$stem.sql" ] || fail WriteFailed "$stem.sql exists already"
mv -f "$tmp_dump" "$dir/$stem.sql" || fail WriteFailed 'cannot rename the dump'
unfinished=$dir/$stem.sql
tmp_dump=''
tmp_manifest=$dir/.partial-$stem.manifest
{
  printf 'format=1\n'
  printf 'instance_id=%s\n' "$INSTANCE_ID"
  printf 'instance_uid=%s\n' "\${INSTANCE_UID:-}"
  printf 'database=%s\n' "$MYSQL_DATABASE"
  printf 'file=%s\n' "$stem.sql"
  printf 'time=%s\n' "$started"
  printf 'seq=%s\n' "$seq"
  printf 'bytes=%s\n' "$bytes"
  printf 'sha256=%s\n' "$sha"
  printf 'reason=%s\n' "$reason"
  printf 'tool=%s\n' "$(clean "$tool")"
} > "$tmp_manifest" || fail WriteFailed 'cannot write the manifest'
sync_path "$tmp_manifest"
# This rename is the commit point: from here on the backup exists.
mv -f "$tmp_manifest" "$dir/$stem.manifest" || fail WriteFailed 'cannot rename the manifest'
tmp_manifest=''
unfinished=''
sync_path "$dir"
say "backup $BACKUP_SUBDIR/$stem.sql complete: $bytes bytes, sha256 $sha"

# Retention: newest first by sequence; the backup just made is never deleted.
if list_backups; then
  n=0
  while read -r s old; do
    n=$((n + 1))
    [ "$n" -gt "$keep" ] || continue
    [ "$old" != "$stem" ] || continue
    if rm -f "$dir/$old.manifest" && rm -f "$dir/$old.sql"; then
      say "retention ($keep): removed $BACKUP_SUBDIR/$old.sql"
    else
      say "warning: retention could not remove $BACKUP_SUBDIR/$old.sql"
    fi
  done < "$work/list.sorted"
else
  say 'warning: retention skipped: cannot list the backups'
fi
prune_stale

cleanup
report "{\"result\":\"BackedUp\",\"file\":\"$BACKUP_SUBDIR/$stem.sql\",\"bytes\":$bytes,\"sha256\":\"$sha\",\"time\":\"$started\"}"
exit 0
`;
