# shellcheck shell=sh
# shellcheck disable=SC2154 # work, cnf and reason are backup.sh's, set before it sources this part
## The final backup's first step: stop writes for good, and prove it, before the dump starts, so that no write
## acknowledged to a client after the dump's snapshot can be missing from it (the data is deleted after this
## backup). Sourced by backup.sh and store_backup.sh, run only when `BACKUP_REASON` is `final` or `migrate` (the
## source of `mysql-operator migrate` stays read-only: a write it acknowledged after the copy would be lost).
##
## How, per server (found out on MariaDB 10.11, the real node's server; proven by tests/backup_freeze_test.ts and
## tests/real_node_final_state_test.ts):
## - MariaDB: `read_only=ON` stops only accounts without the READ_ONLY ADMIN privilege, and root has it (as part of
##   ALL PRIVILEGES, or through a role or PUBLIC). So READ_ONLY ADMIN is revoked from every account, role and PUBLIC
##   (before 10.11 SUPER implied it, so SUPER goes too), and then every other connection is killed: a connected
##   session keeps the global privileges it logged in with. After that nobody can write, nor switch read_only off,
##   nor grant the privilege back (granting needs it). The dump only reads, so it works unprivileged.
## - MySQL: `super_read_only=ON` stops every account, SUPER included; a transaction cannot commit writes after it.
##
## Proof, in a new connection, before anything is dumped: the flag reads 1, and a write of the backup account (which
## held every privilege) fails with the read-only error (1290). Only then does the report say `"readOnly":true`;
## otherwise the run fails with `ReadOnlyFailed` and nothing is dumped.
##
## What it does not cover (the residual gap): read_only is not persistent, so a mysqld restart between this step and
## the operator deleting the data (after the Job reported) accepts writes again (on MariaDB the accounts still lack
## READ_ONLY ADMIN, but with read_only OFF that does not matter); such writes are lost. Writes to temporary tables
## and by replication threads are allowed by read_only itself (neither is data of this instance). MariaDB before
## 10.5.2 (no READ_ONLY ADMIN) and MySQL before 5.7.8 (no super_read_only) cannot be frozen: the final backup fails
## with ReadOnlyFailed there, and the deletion waits (or is forced with `otus.homework/skip-final-backup`). Only
## MariaDB 10.11 was available to test: the SUPER branch (MariaDB 10.5.2 to 10.10) and the MySQL branch are not
## exercised here, but the proof above runs on every server, so a gap there fails the backup instead of hiding.
## The REVOKEs are persistent in that data directory: were it ever served again (it is meant to be deleted), its
## accounts would lack READ_ONLY ADMIN (read_only itself comes back OFF).
##
## Runs at the top level of backup.sh (after `write_credentials`, before the dump). Sets `read_only=true` when
## writes are stopped and proven stopped; fails the run otherwise. Other backups leave `read_only=false` and touch
## nothing. The MariaDB statements (client input with `DELIMITER //`) set read_only, revoke READ_ONLY ADMIN from
## every account and kill every other connection. Safe to run again (a retry after a failed dump): read_only is
## set only when off (setting it needs the privilege this very step revokes), and a REVOKE the account may no
## longer make is skipped; the check that no account still holds the privilege is what decides. The caller's own
## account goes last, so that an interrupted run leaves it able to finish the others. Account names are quoted by
## the server (QUOTE), never by the shell. READ_ONLY ADMIN is bit 33 and SUPER bit 15 of `mysql.global_priv`'s
## stored access mask (ALL PRIVILEGES is every bit).

. ./tables.sh

# freeze_fail MESSAGE: the step failed; ConnectionFailed when the server went away, else ReadOnlyFailed.
freeze_fail() {
  if [ "$(classify "$work/freeze.err" ReadOnlyFailed)" = ConnectionFailed ]; then fail ConnectionFailed "$1"; fi
  fail ReadOnlyFailed "$1"
}

read_only=false
summed=''
if [ "$reason" = final ] || [ "$reason" = migrate ]; then
  client=$(pick mariadb mysql) || fail MissingTool 'neither mariadb nor mysql is in the image'
  say "$reason backup: stopping writes to $INSTANCE_ID before the dump"
  server=$("$client" --defaults-extra-file="$cnf" --batch --skip-column-names -e 'SELECT VERSION()' \
    2> "$work/freeze.err") ||
    fail "$(classify "$work/freeze.err" ReadOnlyFailed)" "cannot read the server version: $(tail -n 2 "$work/freeze.err")"
  case $server in
    *MariaDB*)
      flag=read_only
      cat > "$work/freeze.sql" <<'SQL'
DELIMITER //
SET SESSION sql_mode = ''//
SET SESSION lock_wait_timeout = 60//
BEGIN NOT ATOMIC
  DECLARE privs VARCHAR(40) DEFAULT 'READ_ONLY ADMIN';
  DECLARE bits BIGINT UNSIGNED DEFAULT 8589934592;
  DECLARE marker BIGINT UNSIGNED;
  DECLARE others INT;
  DECLARE tries INT DEFAULT 0;
  IF CAST(SUBSTRING_INDEX(VERSION(), '.', 1) AS UNSIGNED) * 1000 +
     CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(VERSION(), '.', 2), '.', -1) AS UNSIGNED) < 10011 THEN
    SET privs = 'READ_ONLY ADMIN, SUPER', bits = bits | 32768;
  END IF;
  IF @@global.read_only = 0 THEN
    SET GLOBAL read_only = ON;
  END IF;
  BEGIN
    DECLARE CONTINUE HANDLER FOR 1045 BEGIN END;
    FOR a IN (SELECT User AS u, Host AS h, is_role AS r FROM mysql.user
              WHERE CONCAT(User, '@', Host) <> CURRENT_USER()) DO
      EXECUTE IMMEDIATE CONCAT('REVOKE ', privs, ' ON *.* FROM ', QUOTE(a.u),
        IF(a.r = 'Y', '', CONCAT('@', QUOTE(a.h))));
    END FOR;
    EXECUTE IMMEDIATE CONCAT('REVOKE ', privs, ' ON *.* FROM CURRENT_USER');
  END;
  IF EXISTS (SELECT 1 FROM mysql.global_priv
             WHERE CAST(JSON_VALUE(Priv, '$.access') AS UNSIGNED) & bits <> 0) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an account still holds READ_ONLY ADMIN';
  END IF;
  -- Connections accepted after the REVOKE log in without the privilege (they get higher IDs); the older ones go.
  SELECT MAX(ID) INTO marker FROM information_schema.PROCESSLIST;
  kill_loop: LOOP
    SET others = 0;
    BEGIN
      DECLARE CONTINUE HANDLER FOR 1094 BEGIN END;
      FOR c IN (SELECT ID AS id FROM information_schema.PROCESSLIST
                WHERE ID <= marker AND ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'
                  AND USER <> 'system user') DO
        EXECUTE IMMEDIATE CONCAT('KILL CONNECTION ', c.id);
        SET others = others + 1;
      END FOR;
    END;
    IF others = 0 THEN
      LEAVE kill_loop;
    END IF;
    SET tries = tries + 1;
    IF tries > 300 THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'other connections did not end within 30 s';
    END IF;
    DO SLEEP(0.1);
  END LOOP;
END//
DELIMITER ;
SQL
      ;;
    *)
      flag=super_read_only
      printf 'SET GLOBAL super_read_only = ON;\n' > "$work/freeze.sql"
      ;;
  esac
  [ -s "$work/freeze.sql" ] || fail TempDirFailed 'cannot write the statements that stop writes'
  if ! "$client" --defaults-extra-file="$cnf" --batch --skip-column-names < "$work/freeze.sql" > /dev/null \
    2> "$work/freeze.err"; then
    freeze_fail "could not stop writes: $(tail -n 2 "$work/freeze.err")"
  fi
  # The proof, in a new connection: the flag is on, and this account (it held every privilege) cannot write.
  on=$("$client" --defaults-extra-file="$cnf" --batch --skip-column-names -e "SELECT @@global.$flag" \
    2> "$work/freeze.err") || freeze_fail "cannot read $flag: $(tail -n 2 "$work/freeze.err")"
  [ "$on" = 1 ] || fail ReadOnlyFailed "$flag is $on after stopping writes"
  if "$client" --defaults-extra-file="$cnf" --batch -e 'CREATE DATABASE IF NOT EXISTS mysql' > /dev/null \
    2> "$work/freeze.err"; then
    fail ReadOnlyFailed "the server still accepts writes of $MYSQL_USER after $flag=ON"
  fi
  grep -q 'ERROR 1290' "$work/freeze.err" ||
    freeze_fail "the write probe failed otherwise: $(tail -n 2 "$work/freeze.err")"
  # shellcheck disable=SC2034 # read by backup.sh, in its report
  read_only=true
  say "writes stopped: $flag is ON and a write of $MYSQL_USER is refused"
  # Nothing changes from here on: each table's rows and sum go into the manifest for the restore to compare, and
  # their number into the report (what `migrate` requires the target's restore to have verified).
  table_sums "$client" "$work/tables" ||
    fail "$(classify "$work/tables.err" DumpFailed)" "cannot sum the tables: $(tail -n 2 "$work/tables.err")"
  _n=$(wc -l < "$work/tables" | tr -d ' ')
  case $_n in '' | *[!0-9]*) fail WriteFailed 'cannot count the table sums' ;; esac
  # shellcheck disable=SC2034 # read by backup.sh, in its report
  summed=",\"tables\":$_n"
fi
