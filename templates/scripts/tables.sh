# shellcheck shell=sh
# shellcheck disable=SC2154 # work and cnf are common.sh's, sourced before this part
## Row counts and checksums of every table of MYSQL_DATABASE: a backup taken read-only (final, migrate: nothing
## can change between the sums and the dump) writes them into its manifest, and a restore of it compares them
## with what it loaded (verify_tables, load.sh). Table names go through HEX() both ways, so a name with spaces,
## quotes or newlines never reaches the shell or a manifest line as text.

# table_sums CLIENT OUT: `table=<HEX(name)> <rows> <checksum>` per base table, sorted, in OUT; non-zero when the
# server does not answer. One connection: the statements come from a listing of hex names only.
table_sums() {
  "$1" --defaults-extra-file="$cnf" --batch --skip-column-names -e "SELECT HEX(TABLE_NAME) FROM
    information_schema.TABLES WHERE TABLE_SCHEMA = '$MYSQL_DATABASE' AND TABLE_TYPE = 'BASE TABLE'" \
    > "$work/tables.hex" 2> "$work/tables.err" || return 1
  : > "$work/tables.sql" || return 1
  while read -r _hex; do
    case $_hex in '' | *[!0-9A-F]*) return 1 ;; esac
    printf "SELECT '%s';\nSET @t = CONCAT('\`', REPLACE(CONVERT(UNHEX('%s') USING utf8mb4), '\`', '\`\`'), '\`');\n" \
      "$_hex" "$_hex"
    printf "SET @q = CONCAT('SELECT COUNT(*) FROM ', @t); PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;\n"
    printf "SET @q = CONCAT('CHECKSUM TABLE ', @t); PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;\n"
  done < "$work/tables.hex" >> "$work/tables.sql" || return 1
  "$1" --defaults-extra-file="$cnf" --batch --skip-column-names "$MYSQL_DATABASE" < "$work/tables.sql" \
    > "$work/tables.out" 2> "$work/tables.err" || return 1
  # Three lines per table: its hex name, COUNT(*), and CHECKSUM TABLE's `name<TAB>checksum` (the last field).
  # Not piped into sort: a pipeline's status is its last command's, and awk's says whether the answer was whole.
  awk -F '\t' 'NR % 3 == 1 { h = $1 } NR % 3 == 2 { n = $1 } NR % 3 == 0 { print "table=" h " " n " " $NF }
    END { exit NR % 3 != 0 }' "$work/tables.out" > "$work/tables.unsorted" || return 1
  sort "$work/tables.unsorted" > "$2"
}
