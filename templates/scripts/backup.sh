#!/bin/sh
# shellcheck source-path=SCRIPTDIR
## The backup Job's script: constant POSIX sh text (no value is ever spliced into it; everything comes from the
## environment contract of backup and restore Jobs, see templates/jobs.ts).
##
## What it guarantees:
## - The dump (`--single-transaction`, routines, triggers, events, the one database `MYSQL_DATABASE`) goes to a
##   hidden temporary file on the backup volume, never through a pipe (a pipe would hide the dump's exit status).
##   It counts only when the dump tool exited 0, the file is not empty and its last line is the dump tool's
##   `-- Dump completed` marker; then it is renamed to `<subdir>/<tag>-<UTC time>-<48 random bits>.sql`.
## - A backup exists only once its manifest (`<same stem>.manifest`, written to a temporary file and renamed last)
##   is in place: instance identity (`INSTANCE_ID`, `INSTANCE_UID`), database, time, size, sha256, a sequence number
##   that orders backups independent of clocks, and a format version. A killed or failed run leaves no manifest,
##   so no restore can pick its file, and the previous backups are untouched.
## - Retention keeps the newest `BACKUP_RETENTION` complete backups of this instance (identity read from the
##   manifests, so other instances' files in the same directory are never touched) and never the one just made,
##   nor the newest `migrate` backup (a migration may still restore it).
## - Credentials go to a client option file (mode 600, in a temporary directory removed on exit) passed with
##   `--defaults-extra-file`; the password is never on a command line. See common.sh for the quoting.
## - A final backup (`BACKUP_REASON=final`) first stops writes for good and proves it (freeze.sh); its
##   report then says `"readOnly":true`. It fails with `ReadOnlyFailed`, dumping nothing, when it cannot.
## - The last action writes one JSON line to `REPORT_FILE` (default /dev/termination-log), also echoed to stdout,
##   naming the Job (`jobUid`, from `JOB_UID`).
##
## Run as `/bin/sh -c BACKUP_SCRIPT` (templates/backup_script.ts): the build embeds common.sh and freeze.sh where
## they are sourced, so the Job carries one self-contained text.
# mysql-operator backup job (see templates/backup_script.ts)
. ./common.sh

# prune_stale: this instance's leftovers of runs killed outright (no trap ran), older than an hour.
prune_stale() {
  command -v find >/dev/null 2>&1 || return 0
  find "$dir" -maxdepth 1 -type f -name ".partial-$tag-*" -mmin +60 > "$work/stale" 2>/dev/null || return 0
  while IFS= read -r _f; do
    rm -f "$_f" && say "removed stale temporary file ${_f##*/}"
  done < "$work/stale"
  find "$dir" -maxdepth 1 -type f -name "$tag-*.sql" -mmin +60 > "$work/stale" 2>/dev/null || return 0
  while IFS= read -r _f; do
    [ -e "${_f%.sql}.manifest" ] || { rm -f "$_f" && say "removed dump without manifest ${_f##*/}"; }
  done < "$work/stale"
}

check_env
check_tools
dump=$(pick mariadb-dump mysqldump) || fail MissingTool 'neither mariadb-dump nor mysqldump is in the image'
retention_keep
case ${BACKUP_REASON:-manual} in
  '' | *[!a-z]*) reason=manual ;;
  *) reason=${BACKUP_REASON:-manual} ;;
esac

make_work
write_credentials
mkdir -p "$dir" || fail BackupVolumeMissing "cannot create $BACKUP_SUBDIR on the backup volume"
. ./freeze.sh


# 48 random bits make the name unique; it is checked as well, so a rename can never replace an older backup.
new_stem
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
print_manifest > "$tmp_manifest" || fail WriteFailed 'cannot write the manifest'
sync_path "$tmp_manifest"
# This rename is the commit point: from here on the backup exists.
mv -f "$tmp_manifest" "$dir/$stem.manifest" || fail WriteFailed 'cannot rename the manifest'
tmp_manifest=''
unfinished=''
sync_path "$dir"
say "backup $BACKUP_SUBDIR/$stem.sql complete: $bytes bytes, sha256 $sha"

# Retention: newest first by sequence; the backup just made and the newest migrate backup are never deleted.
if list_backups; then
  pinned=$(newest_migrate)
  n=0
  # shellcheck disable=SC2034 # s: the sequence number, read to get past it
  while read -r s old; do
    n=$((n + 1))
    [ "$n" -gt "$keep" ] || continue
    [ "$old" != "$stem" ] || continue
    [ "$old" != "$pinned" ] || continue
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
report "{\"result\":\"BackedUp\",\"readOnly\":$read_only$summed,\"file\":\"$BACKUP_SUBDIR/$stem.sql\",\"bytes\":$bytes,\"sha256\":\"$sha\",\"time\":\"$started\"}"
exit 0
