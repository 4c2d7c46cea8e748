#!/bin/sh
# Entry point of the locally built MariaDB image. It honours what the official mysql image's entry point does
# for the variables the operator sets:
#   MYSQL_ROOT_PASSWORD  root password for root@'%' and root@localhost (required on an empty datadir unless
#                        MYSQL_ALLOW_EMPTY_PASSWORD is set)
#   MYSQL_DATABASE       database created on first start (optional)
# On an empty datadir it runs mariadb-install-db, starts a socket-only server, applies the settings, stops it, and
# then runs the server on 0.0.0.0:3306. An initialised datadir is used as it is (the settings are not re-applied).
#
# Values from the environment are never spliced into shell or SQL text: they reach SQL as hex literals
# (UNHEX('...')), so any byte (quotes, `$`, spaces, newlines) is safe, and they never appear in any argv.
set -eu

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

log() { printf '%s [Entrypoint]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# No arguments or only server flags: run the server; anything else (`command:` overrides keep the entry point
# out of the way already) is executed as given, like the official image.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi
case "$1" in
mariadbd | mysqld) shift ;;
*) exec "$@" ;;
esac

# Hex of standard input, one line, no spaces: a safe SQL literal for UNHEX().
hex() { od -An -v -tx1 | tr -d ' \n'; }

mkdir -p /run/mysqld "$DATADIR"
chown mysql:mysql /run/mysqld
# The volume (a PVC subPath) is created by the kubelet as root: hand it to the server's user.
find "$DATADIR" \! -user mysql -exec chown mysql:mysql {} +

if [ ! -d "$DATADIR/mysql" ]; then
	if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ]; then
		die "database is uninitialized and MYSQL_ROOT_PASSWORD is not set (set MYSQL_ALLOW_EMPTY_PASSWORD to allow an empty one)"
	fi
	log "initializing $DATADIR"
	# --force: the pod's hostname may not resolve, and grants use IP addresses only (--skip-name-resolve).
	mariadb-install-db --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=socket \
		--skip-test-db --skip-name-resolve --force >/dev/null ||
		die "mariadb-install-db failed"

	log "starting a socket-only server to apply the settings"
	mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --skip-networking --skip-name-resolve \
		--skip-log-bin &
	pid=$!
	tries=0
	until mariadb-admin --socket="$SOCKET" --connect-timeout=1 ping >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || die "the temporary server exited during start-up"
		tries=$((tries + 1))
		[ "$tries" -le 600 ] || die "the temporary server did not answer within 60 s"
		sleep 0.1
	done

	pw_hex=$(printf '%s' "${MYSQL_ROOT_PASSWORD:-}" | hex)
	db_hex=$(printf '%s' "${MYSQL_DATABASE:-}" | hex)
	# OS root reaches root@localhost through unix_socket; the password is set for both root accounts, and
	# root@localhost keeps unix_socket so this script (and `mariadb` in a kubectl exec) still gets in.
	# QUOTE() turns the decoded value into a correctly escaped SQL literal for the statements that only take
	# literals (ALTER/CREATE USER); the text of these statements is never logged.
	mariadb --protocol=socket --socket="$SOCKET" -uroot --database=mysql <<-EOSQL || {
		SET @@SESSION.SQL_LOG_BIN = 0;
		SET @pw = CONVERT(UNHEX('$pw_hex') USING utf8mb4);
		SET @db = CONVERT(UNHEX('$db_hex') USING utf8mb4);
		DELETE FROM mysql.global_priv WHERE User = '';
		EXECUTE IMMEDIATE CONCAT('ALTER USER ''root''@''localhost'' IDENTIFIED VIA mysql_native_password',
		  ' USING PASSWORD(', QUOTE(@pw), ') OR unix_socket');
		EXECUTE IMMEDIATE CONCAT('CREATE USER ''root''@''%'' IDENTIFIED BY ', QUOTE(@pw));
		GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
		GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;
		EXECUTE IMMEDIATE IF(@db = '', 'DO 0',
		  CONCAT('CREATE DATABASE IF NOT EXISTS \`', REPLACE(@db, '\`', '\`\`'), '\`'));
		FLUSH PRIVILEGES;
	EOSQL
		kill "$pid"
		die "applying MYSQL_ROOT_PASSWORD/MYSQL_DATABASE failed"
	}

	kill "$pid"
	wait "$pid" || die "the temporary server did not stop cleanly"
	log "initialization done"
fi

exec mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --bind-address=0.0.0.0 --port=3306 \
	--skip-name-resolve "$@"
