#!/bin/sh
# shellcheck source-path=SCRIPTDIR
## The backup Job's script for an object store (`spec.backup.objectStore`): constant POSIX sh text, every value
## from the environment (the contract of backup.sh, the backup volume's variables replaced by the store's):
## - `STORE_PATH`: `<bucket>/<prefix>/<cluster>/<namespace>/<name>` (storage/catalog.ts `instancePrefix`, the
##   bucket in front), reached through rclone's remote `store`, configured by `RCLONE_CONFIG_STORE_*` variables
##   (the keys from the credentials Secret through secretKeyRef: never on a command line);
## - `BACKUP_RETENTION`: how many complete backups of the instance the folder keeps (as on the volume).
##
## What it guarantees, as backup.sh does on the volume:
## - The dump streams to the store: no copy of it is kept in the pod. It goes through `tee` to the upload, to
##   sha256sum and to wc, each reading a named pipe, so every exit status is checked (a plain pipe would hide the
##   dump's); the last line must be the dump tool's `-- Dump completed` marker.
## - A backup exists only once its manifest (`<stem>.manifest`, uploaded last) is in the store; before that the
##   object just uploaded is read back and its sha256 compared. A run that fails or is killed before leaves a dump
##   without manifest, which no listing shows and no restore picks; it tries to delete it, and the operator's
##   next backup removes what is left after an hour (the Job's deadline is one hour: no upload runs longer).
## - The sequence number is one more than the highest of the folder's complete backups, read before the dump (a
##   folder that cannot be read fails the backup with DownloadFailed before anything is frozen or written).
## - Retention keeps the newest `BACKUP_RETENTION` complete backups, the new one included and never removed (nor
##   the newest `migrate` backup: a migration may still restore it); an
##   old backup goes manifest first, so no half of it is ever listed as a backup. Only this instance's folder is
##   touched, and in it only complete backups and dumps without any manifest.
## - A final backup first stops writes for good and proves it (freeze.sh), as on the volume.
##
## Run as `/bin/sh -c STORE_BACKUP_SCRIPT`: the build embeds common.sh, store.sh and freeze.sh where they are sourced.
# mysql-operator backup job, object store (see templates/backup_script.ts)
. ./common.sh
. ./store.sh

# prune_stale_uploads: dumps of runs killed outright (no trap ran) that never got a manifest, older than an hour.
prune_stale_uploads() {
  # shellcheck disable=SC2086 # rclone_opts: split on purpose
  rclone $rclone_opts lsf --files-only --min-age 1h --include '*.sql' "store:$STORE_PATH" > "$work/stale" \
    2> "$work/err" || { say "warning: cannot list stale uploads: $(tail -n 1 "$work/err")"; return 0; }
  while IFS= read -r _f; do
    case $_f in '' | *[!A-Za-z0-9._-]* | "$stem.sql") continue ;; esac
    # Any manifest of that name keeps the dump, even one not understood (never delete on a guess).
    grep -q -x -F -e "${_f%.sql}.manifest" "$work/names" && continue
    # shellcheck disable=SC2086 # rclone_opts: split on purpose
    rclone $rclone_opts deletefile "store:$STORE_PATH/$_f" 2> "$work/err" &&
      say "removed dump without manifest $STORE_PATH/$_f"
  done < "$work/stale"
}

check_env_common
check_tools
check_store_env
retention_keep
dump=$(pick mariadb-dump mysqldump) || fail MissingTool 'neither mariadb-dump nor mysqldump is in the image'
case ${BACKUP_REASON:-manual} in
  '' | *[!a-z]*) reason=manual ;;
  *) reason=${BACKUP_REASON:-manual} ;;
esac

make_work
write_credentials
read_store_folder
list_backups || fail TempDirFailed 'cannot list the backups'
seq=0
read -r seq rest < "$work/list.sorted" || seq=0
seq=$((seq + 1))
. ./freeze.sh

new_stem
remote=store:$STORE_PATH/$stem

gtid=''
if "$dump" --help 2>/dev/null | grep -q -e '--set-gtid-purged'; then gtid='--set-gtid-purged=OFF'; fi

mkfifo "$work/dump" "$work/up" "$work/sum" "$work/count" || fail TempDirFailed 'cannot create named pipes'
say "dumping database $MYSQL_DATABASE of $INSTANCE_ID with $dump to $STORE_PATH/$stem.sql"
remote_unfinished=$remote.sql
# shellcheck disable=SC2086 # rclone_opts: split on purpose
rclone $rclone_opts rcat "$remote.sql" < "$work/up" 2> "$work/up.err" &
up_pid=$!
sha256sum < "$work/sum" > "$work/sum.out" 2>/dev/null &
sum_pid=$!
wc -c < "$work/count" > "$work/count.out" 2>/dev/null &
count_pid=$!
tee "$work/up" "$work/sum" "$work/count" < "$work/dump" 2> "$work/tee.err" | tail -n 1 > "$work/last" &
tee_pid=$!
pids="$up_pid $sum_pid $count_pid $tee_pid"
"$dump" --defaults-extra-file="$cnf" --single-transaction --routines --triggers --events --hex-blob \
  --no-tablespaces --default-character-set=utf8mb4 $gtid "$MYSQL_DATABASE" > "$work/dump" 2> "$work/dump.err" &
child=$!
wait "$child"
rc=$?
child=''
wait "$tee_pid"
wait "$up_pid"
up_rc=$?
wait "$sum_pid"
wait "$count_pid"
pids=''
# An upload that fails first breaks the pipe under the dump (errno 32): then the upload is the cause.
if [ "$up_rc" -ne 0 ] && { [ "$rc" -eq 0 ] || grep -q 'errno 32' "$work/dump.err"; }; then
  fail UploadFailed "rclone rcat exited with status $up_rc: $(tail -n 2 "$work/up.err")"
fi
if [ "$rc" -ne 0 ]; then
  fail "$(classify "$work/dump.err" DumpFailed)" "$dump exited with status $rc: $(tail -n 2 "$work/dump.err")"
fi
case $(cat "$work/last") in
  '-- Dump completed'*) ;;
  *) fail DumpIncomplete "the dump does not end with the completion line of $dump" ;;
esac
sha=$(cut -d ' ' -f 1 < "$work/sum.out")
case $sha in *[!0-9a-f]*) sha='' ;; esac
[ ${#sha} -eq 64 ] || fail WriteFailed 'cannot checksum the dump'
# shellcheck disable=SC2046 # split on purpose: wc may pad the number with blanks
set -- $(cat "$work/count.out")
bytes=${1:-}
case $bytes in '' | *[!0-9]*) fail WriteFailed 'cannot count the dump' ;; esac
[ "$bytes" -gt 0 ] || fail DumpIncomplete "$dump wrote nothing"

# Read back what the store holds: the manifest vouches for these bytes, not for what was sent; a failed read
# (DownloadFailed) is told apart from other bytes (UploadMismatch).
read_dump "$stem" cat ||
  fail DownloadFailed "cannot read back $STORE_PATH/$stem.sql: $(tail -n 2 "$work/err")"
[ "$got" = "$sha" ] || fail UploadMismatch "the stored dump's sha256 differs from the dump's"
tool=$("$dump" --version 2>/dev/null) || tool=$dump
print_manifest > "$work/manifest" || fail WriteFailed 'cannot write the manifest'
# This upload is the commit point: from here on the backup exists.
# shellcheck disable=SC2086 # rclone_opts: split on purpose
rclone $rclone_opts copyto "$work/manifest" "$remote.manifest" 2> "$work/up.err" ||
  fail UploadFailed "cannot upload the manifest: $(tail -n 2 "$work/up.err")"
remote_unfinished=''
say "backup $STORE_PATH/$stem.sql complete: $bytes bytes, sha256 $sha"

# Retention over the backups listed before this one (which is the newest and counts as the first kept); the
# newest migrate backup stays.
n=1
pinned=$(newest_migrate)
# shellcheck disable=SC2034 # s: the sequence number, read to get past it
while read -r s old; do
  n=$((n + 1))
  [ "$n" -gt "$keep" ] || continue
  [ "$old" != "$pinned" ] || continue
  # shellcheck disable=SC2086 # rclone_opts: split on purpose
  if rclone $rclone_opts deletefile "store:$STORE_PATH/$old.manifest" 2> "$work/err" &&
    rclone $rclone_opts deletefile "store:$STORE_PATH/$old.sql" 2> "$work/err"; then
    say "retention ($keep): removed $STORE_PATH/$old.sql"
  else
    say "warning: retention could not remove $STORE_PATH/$old.sql: $(tail -n 1 "$work/err")"
  fi
done < "$work/list.sorted"
prune_stale_uploads

cleanup
report "{\"result\":\"BackedUp\",\"readOnly\":$read_only$summed,\"file\":\"$STORE_PATH/$stem.sql\",\"bytes\":$bytes,\"sha256\":\"$sha\",\"time\":\"$started\"}"
exit 0
