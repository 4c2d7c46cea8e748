# shellcheck shell=sh
# shellcheck disable=SC2154 # work and cnf are common.sh's, sourced before this part
## Row counts and sums of every table of MYSQL_DATABASE: a backup taken read-only (final, migrate: nothing can
## change between the sums and the dump) writes them into its manifest, and a restore of it compares them with
## what it loaded (verify_tables, load.sh). Table and column names go through HEX() and the server's own quoting,
## so a name with spaces, quotes or newlines never reaches the shell or a manifest line as text.
##
## The sum is of the rows as text (each column through QUOTE(), the form a dump carries), not CHECKSUM TABLE's:
## that one hashes the stored bytes, and a FLOAT that a dump writes with 6 significant digits reloads as other
## bytes (1.2345679 becomes 1.23457), so every restore of such a table would fail. Per row: the first 60 bits of
## SHA2 of the row's text; per table: their SUM (exact in DECIMAL, independent of row order; duplicates count).

# table_sums CLIENT OUT: `table=<HEX(name)> <rows> <sum>` per table (base and system-versioned), sorted, in OUT;
# non-zero when the server does not answer in full. One connection: the statements come from hex names only.
table_sums() {
  "$1" --defaults-extra-file="$cnf" --batch --skip-column-names -e "SELECT HEX(TABLE_NAME) FROM
    information_schema.TABLES WHERE TABLE_SCHEMA = '$MYSQL_DATABASE'
    AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')" > "$work/tables.hex" 2> "$work/tables.err" || return 1
  printf 'SET SESSION group_concat_max_len = 16777216;\n' > "$work/tables.sql" || return 1
  while read -r _hex; do
    case $_hex in '' | *[!0-9A-F]*) return 1 ;; esac
    printf "SELECT '%s';\nSET @t = CONVERT(UNHEX('%s') USING utf8mb4);\n" "$_hex" "$_hex"
    printf '%s\n' "SELECT GROUP_CONCAT(CONCAT('QUOTE(\`', REPLACE(COLUMN_NAME, '\`', '\`\`'), '\`)')" \
      "ORDER BY ORDINAL_POSITION SEPARATOR ', ') INTO @cols FROM information_schema.COLUMNS" \
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = @t;" \
      "SET @q = CONCAT('SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(SHA2(CONCAT_WS(0x1f, ', @cols," \
      "'), 256), 15), 16, 10) AS UNSIGNED)), 0) FROM \`', REPLACE(@t, '\`', '\`\`'), '\`');" \
      "PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s;"
  done < "$work/tables.hex" >> "$work/tables.sql" || return 1
  "$1" --defaults-extra-file="$cnf" --batch --skip-column-names "$MYSQL_DATABASE" < "$work/tables.sql" \
    > "$work/tables.out" 2> "$work/tables.err" || return 1
  # Two lines per table: its hex name, then `rows<TAB>sum`. Not piped into sort: a pipeline's status is its
  # last command's, and awk's says whether the answer was whole.
  awk -F '\t' 'NR % 2 == 1 { h = $1 } NR % 2 == 0 { if (NF != 2) { bad = 1; exit } print "table=" h " " $1 " " $2 }
    END { exit bad || NR % 2 != 0 }' "$work/tables.out" > "$work/tables.unsorted" || return 1
  sort "$work/tables.unsorted" > "$2"
}
