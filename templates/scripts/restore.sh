#!/bin/sh
# shellcheck source-path=SCRIPTDIR
## The restore Job's script: constant POSIX sh text, every value from the environment (see templates/jobs.ts).
##
## It restores only into a fresh instance: when `MYSQL_DATABASE` already holds tables, routines or events it fails
## with `DatabaseNotEmpty` and loads nothing. Otherwise it takes this instance's complete backups (identity read
## from each manifest, never from a file name alone), newest first by the manifest's sequence number, and loads
## the first whose size, sha256 and completion line match its manifest. A newer backup that fails verification is
## skipped and named in the report's `message` (decision: an older good backup beats an empty instance; the
## operator surfaces the message). No complete backup at all reports `NothingToRestore` and exits 0; backups that
## all fail verification report `NoValidBackup`. A load that fails half-way drops and re-creates the database so
## that a retry starts from empty again.
##
## Run as `/bin/sh -c RESTORE_SCRIPT` (templates/restore_script.ts): the build embeds common.sh and load.sh
## where they are sourced, so the Job carries one self-contained text.
# mysql-operator restore job (see templates/restore_script.ts)
. ./common.sh
. ./load.sh

check_env
check_tools
client=$(pick mariadb mysql) || fail MissingTool 'neither mariadb nor mysql is in the image'
make_work
write_credentials

list_backups || fail BackupVolumeMissing 'cannot list the backups'
[ -s "$work/list.sorted" ] || report_nothing_to_restore "$BACKUP_SUBDIR"

db=$MYSQL_DATABASE
require_empty_database "$client"

chosen=''
skipped=''
# shellcheck disable=SC2034 # seq: the sequence number, read to get past it
while read -r seq stem; do
  want=$(mget "$dir/$stem.manifest" sha256)
  size=$(mget "$dir/$stem.manifest" bytes)
  have=$(size_of "$dir/$stem.sql") || have=''
  if [ -n "$have" ] && [ "$have" = "$size" ]; then
    last=$(tail -n 1 "$dir/$stem.sql") || last=''
    case $last in
      '-- Dump completed'*)
        got=$(sha_of "$dir/$stem.sql") || got=''
        if [ -n "$got" ] && [ "$got" = "$want" ]; then
          chosen=$stem
          break
        fi
        ;;
    esac
  fi
  say "skipping $BACKUP_SUBDIR/$stem.sql: it does not match its manifest (size, completion line or sha256)"
  skipped="$skipped $stem.sql"
done < "$work/list.sorted"
[ -n "$chosen" ] || fail NoValidBackup "no backup of $INSTANCE_ID passed verification:$skipped"

create_database "$client"
say "loading $BACKUP_SUBDIR/$chosen.sql into $db with $client"
# In the background so that a TERM is handled at once; the exit status is checked below.
"$client" --defaults-extra-file="$cnf" "$db" < "$dir/$chosen.sql" 2> "$work/load.err" &
child=$!
wait "$child"
rc=$?
child=''
if [ "$rc" -ne 0 ]; then
  reason=$(classify "$work/load.err" RestoreFailed)
  detail=$(tail -n 2 "$work/load.err")
  undo_partial_load "$client"
  fail "$reason" "loading $BACKUP_SUBDIR/$chosen.sql failed with status $rc: $detail; $undo"
fi

verify_tables "$client" "$dir/$chosen.manifest" "$BACKUP_SUBDIR/$chosen.sql"
report_restored "$BACKUP_SUBDIR/$chosen.sql" "$dir/$chosen.manifest" "$want" "$skipped"
exit 0
