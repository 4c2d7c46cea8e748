#!/bin/sh
# shellcheck source-path=SCRIPTDIR
## The restore Job's script for an object store: constant POSIX sh text, every value from the environment (the
## contract of store_backup.sh: `STORE_PATH`, rclone's remote `store` from `RCLONE_CONFIG_STORE_*`).
##
## It restores as restore.sh does from the volume: only into an empty `MYSQL_DATABASE` (`DatabaseNotEmpty`
## otherwise); this instance's complete backups (a manifest naming this instance and a listed dump of its size),
## newest first by sequence number; the first that verifies is loaded, newer ones that do not are skipped and
## named. No copy is kept in the pod: each candidate is read once to verify it (size, completion line, sha256)
## before the database is touched, then read again into the client with its sha256 checked once more; a load that
## fails or whose bytes differ drops and re-creates the database. A store that cannot be listed fails with
## `DownloadFailed`: only a store that answered with no backup gives `NothingToRestore`.
##
## Run as `/bin/sh -c STORE_RESTORE_SCRIPT`: the build embeds common.sh, load.sh and store.sh where they are sourced.
# mysql-operator restore job, object store (see templates/restore_script.ts)
. ./common.sh
. ./load.sh
. ./store.sh

check_env_common
check_tools
check_store_env
client=$(pick mariadb mysql) || fail MissingTool 'neither mariadb nor mysql is in the image'
make_work
write_credentials

read_store_folder
list_backups || fail TempDirFailed 'cannot list the backups'
# spec.restoreFrom: another instance's backups, only while this one has none of its own (a re-created instance
# restores its own newest, never the source's again). The source must have the backup asked for: an empty or
# mistyped source fails, it never starts this instance empty.
if [ ! -s "$work/list.sorted" ] && [ -n "${RESTORE_FROM_PATH:-}" ]; then
  check_store_path RESTORE_FROM_PATH "$RESTORE_FROM_PATH"
  case ${RESTORE_FROM_ID:-} in
    '' | */*/* | /* | */ | *[!A-Za-z0-9._/-]*) fail InvalidEnvironment 'RESTORE_FROM_ID must be namespace/name' ;;
  esac
  say "no backup of $INSTANCE_ID in $STORE_PATH: restoring from $RESTORE_FROM_ID in $RESTORE_FROM_PATH"
  STORE_PATH=$RESTORE_FROM_PATH
  INSTANCE_ID=$RESTORE_FROM_ID
  read_store_folder
  list_backups || fail TempDirFailed 'cannot list the backups'
  if [ -n "${RESTORE_FROM_BACKUP:-}" ]; then
    case $RESTORE_FROM_BACKUP in
      *.sql) ;;
      *) fail InvalidEnvironment 'RESTORE_FROM_BACKUP must be a backup file name' ;;
    esac
    awk -v s="${RESTORE_FROM_BACKUP%.sql}" '$2 == s' "$work/list.sorted" > "$work/list.one" ||
      fail TempDirFailed 'cannot list the backups'
    mv "$work/list.one" "$work/list.sorted" || fail TempDirFailed 'cannot list the backups'
    [ -s "$work/list.sorted" ] ||
      fail NoValidBackup "$RESTORE_FROM_BACKUP is not a complete backup of $INSTANCE_ID in $STORE_PATH"
  fi
  [ -s "$work/list.sorted" ] || fail NoValidBackup "no complete backup of $INSTANCE_ID in $STORE_PATH"
fi
[ -s "$work/list.sorted" ] || report_nothing_to_restore "$STORE_PATH"

db=$MYSQL_DATABASE
require_empty_database "$client"

chosen=''
skipped=''
# shellcheck disable=SC2034 # seq: the sequence number, read to get past it
while read -r seq stem; do
  want=$(mget "$dir/$stem.manifest" sha256)
  size=$(mget "$dir/$stem.manifest" bytes)
  have=$(awk -v s="$stem" '$1 == s { print $2 }' "$work/sizes")
  if [ -n "$have" ] && [ "$have" = "$size" ]; then
    read_dump "$stem" cat || fail DownloadFailed "cannot read $STORE_PATH/$stem.sql: $(tail -n 2 "$work/err")"
    case $last in
      '-- Dump completed'*)
        if [ -n "$got" ] && [ "$got" = "$want" ]; then
          chosen=$stem
          break
        fi
        ;;
    esac
  fi
  say "skipping $STORE_PATH/$stem.sql: it does not match its manifest (size, completion line or sha256)"
  skipped="$skipped $stem.sql"
done < "$work/list.sorted"
[ -n "$chosen" ] || fail NoValidBackup "no backup of $INSTANCE_ID passed verification:$skipped"

create_database "$client"
say "loading $STORE_PATH/$chosen.sql into $db with $client"
if read_dump "$chosen" "$client" --defaults-extra-file="$cnf" "$db" && [ "$sink_rc" -eq 0 ] && [ "$got" = "$want" ]; then
  :
else
  if [ "$sink_rc" -ne 0 ]; then
    reason=$(classify "$work/sink.err" RestoreFailed)
    detail="status $sink_rc: $(tail -n 2 "$work/sink.err")"
  else
    reason=DownloadFailed
    detail="the bytes read differ from the verified ones: $(tail -n 2 "$work/err")"
  fi
  undo_partial_load "$client"
  fail "$reason" "loading $STORE_PATH/$chosen.sql failed with $detail; $undo"
fi

verify_tables "$client" "$dir/$chosen.manifest" "$STORE_PATH/$chosen.sql"
report_restored "$STORE_PATH/$chosen.sql" "$dir/$chosen.manifest" "$want" "$skipped"
exit 0
