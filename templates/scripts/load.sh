# shellcheck shell=sh
# shellcheck disable=SC2154 # work, cnf, fail, say and the rest are common.sh's, sourced before this part
## The restores' part of the Jobs' scripts (restore.sh, store_restore.sh), sourced after common.sh: only into an
## empty database, what a load that fails leaves, and the check of what was loaded against the backup's sums.

. ./tables.sh

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

# verify_tables CLIENT MANIFEST LABEL: when the manifest holds table sums (a backup taken read-only), the loaded
# database must have exactly those tables, rows and sums; otherwise the load is undone and the run fails
# with ChecksumMismatch. Sets verified to the number of tables compared (0: the backup has no sums).
verify_tables() {
  verified=0
  grep '^table=' "$2" | sort > "$work/tables.want"
  [ -s "$work/tables.want" ] || return 0
  if ! table_sums "$1" "$work/tables.got"; then
    _why=$(classify "$work/tables.err" RestoreFailed)
    undo_partial_load "$1"
    fail "$_why" "cannot sum the loaded tables: $(tail -n 2 "$work/tables.err"); $undo"
  fi
  if [ "$(cat "$work/tables.want")" != "$(cat "$work/tables.got")" ]; then
    _diff=$(awk 'NR == FNR { w[$0] = 1; next } { g[$0] = 1 }
      END { for (l in w) if (!(l in g)) print "< " l; for (l in g) if (!(l in w)) print "> " l }' \
      "$work/tables.want" "$work/tables.got" | head -n 4 | tr '\n' ' ')
    undo_partial_load "$1"
    fail ChecksumMismatch "the loaded tables differ from $3's sums (< backup, > loaded, table names in hex): $_diff; $undo"
  fi
  verified=$(wc -l < "$work/tables.want" | tr -d ' ')
  say "$verified tables match the backup's row counts and sums"
}

# report_restored LABEL MANIFEST SHA256 SKIPPED: the success report of a restore (LABEL names the dump loaded).
report_restored() {
  _taken=$(mget "$2" time)
  case $_taken in '' | *[!0-9TZ:-]*) _taken='' ;; esac
  _now=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
  _message="restored the backup taken at $_taken"
  [ "${verified:-0}" -eq 0 ] || _message="$_message; $verified tables match its row counts and sums"
  [ -z "$4" ] || _message="$_message; skipped newer backups that failed verification:$4"
  say "$_message"
  cleanup
  report "{\"result\":\"Restored\",\"backup\":\"$1\",\"sha256\":\"$3\",\"time\":\"$_now\",\"backupTime\":\"$_taken\",\"verifiedTables\":${verified:-0},\"message\":\"$(clean "$_message")\"}"
}

# report_nothing_to_restore WHERE: the restore's end when WHERE holds no complete backup of the instance.
report_nothing_to_restore() {
  say "no complete backup of $INSTANCE_ID in $1: nothing to restore"
  cleanup
  report "{\"result\":\"NothingToRestore\",\"message\":\"no complete backup of $INSTANCE_ID in $1\"}"
  exit 0
}
