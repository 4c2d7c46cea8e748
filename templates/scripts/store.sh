# shellcheck shell=sh
# shellcheck disable=SC2154 # work, cnf, fail, say and the rest are common.sh's, sourced before this part
## The object store's part of the Jobs' scripts (store_backup.sh, store_restore.sh), sourced after common.sh: the
## store's variables, reading the instance's folder, and streaming a dump out of the store. The store is rclone's
## remote `store`, configured by RCLONE_CONFIG_STORE_* variables (the keys through secretKeyRef).

# check_store_path NAME VALUE: VALUE is a folder of the store (`bucket/prefix/...`: no empty, . or .. part).
check_store_path() {
  case $2 in
    '' | /* | */ | *//* | *[!A-Za-z0-9._/-]*) fail InvalidEnvironment "$1 must be bucket/prefix/..." ;;
  esac
  case /$2/ in */../* | */./*) fail InvalidEnvironment "$1 must not hold . or .. parts" ;; esac
}

# check_store_env: the object store's variables (store_backup.sh, store_restore.sh); sets rclone_opts. The store is
# rclone's remote `store`, configured by RCLONE_CONFIG_STORE_* variables (keys through secretKeyRef).
check_store_env() {
  for _t in rclone mkfifo tee; do
    command -v "$_t" >/dev/null 2>&1 || fail MissingTool "$_t is not in the image"
  done
  check_store_path STORE_PATH "${STORE_PATH:-}"
  case ${INSTANCE_CLUSTER:-} in
    *[!A-Za-z0-9._@:-]*) fail InvalidEnvironment 'INSTANCE_CLUSTER must be a context name' ;;
  esac
  # rclone's own retries would repeat a streamed upload it cannot replay: one try, bounded waits. Parts of
  # 16 MiB, two at a time: 32 MiB of memory, and a dump of up to 156 GiB (S3 allows 10000 parts).
  rclone_opts='--retries 1 --low-level-retries 3 --contimeout 15s --timeout 60s'
  rclone_opts="$rclone_opts --s3-chunk-size 16Mi --s3-upload-concurrency 2"
}

# read_store_folder: the instance's folder in the store, as list_backups reads a volume's: `dir` holds a copy of
# every manifest and an empty stand-in of every dump (list_backups needs it to exist), `$work/sizes` each dump's
# `stem size`, `$work/objects` the listing (`size;name`), `$work/names` the names alone. A folder that cannot be
# listed or read fails with DownloadFailed: it never counts as "no backup".
read_store_folder() {
  # shellcheck disable=SC2086 # rclone_opts: split on purpose
  rclone $rclone_opts lsf --files-only --format sp "store:$STORE_PATH" > "$work/objects" 2> "$work/err" ||
    fail DownloadFailed "cannot list $STORE_PATH: $(tail -n 2 "$work/err")"
  dir=$work/manifests
  rm -rf "$dir"
  mkdir "$dir" || fail TempDirFailed 'cannot create a temporary directory'
  : > "$work/sizes"
  while IFS=';' read -r _size _name; do
    case $_name in '' | *[!A-Za-z0-9._-]*) continue ;; esac
    case $_name in
      *.manifest)
        # shellcheck disable=SC2086 # rclone_opts: split on purpose
        rclone $rclone_opts cat "store:$STORE_PATH/$_name" > "$dir/$_name" 2> "$work/err" ||
          fail DownloadFailed "cannot read $STORE_PATH/$_name: $(tail -n 2 "$work/err")"
        ;;
      *.sql)
        : > "$dir/$_name" || fail TempDirFailed 'cannot write in the temporary directory'
        printf '%s %s\n' "${_name%.sql}" "$_size" >> "$work/sizes"
        ;;
    esac
  done < "$work/objects"
  cut -d ';' -f 2 "$work/objects" > "$work/names" || fail TempDirFailed 'cannot write in the temporary directory'
}

# read_dump STEM SINK...: streams STEM.sql from the store (under STORE_PATH) through tee to sha256sum, tail and
# SINK (a command), each on a named pipe so that every exit status is seen; sets got (sha256), last (the last
# line) and sink_rc; returns rclone's exit status. The store's backup reads its upload back with it, the store's
# restore verifies and loads with it.
# shellcheck disable=SC2034 # got, last, sink_rc: for the caller
read_dump() {
  _stem=$1
  shift
  rm -f "$work/p.in" "$work/p.sum" "$work/p.tail" "$work/p.sink"
  mkfifo "$work/p.in" "$work/p.sum" "$work/p.tail" "$work/p.sink" || return 1
  sha256sum < "$work/p.sum" > "$work/sum.out" 2>/dev/null &
  _sum_pid=$!
  tail -n 1 < "$work/p.tail" > "$work/last.out" 2>/dev/null &
  _tail_pid=$!
  "$@" < "$work/p.sink" > /dev/null 2> "$work/sink.err" &
  _sink_pid=$!
  tee "$work/p.sum" "$work/p.tail" < "$work/p.in" > "$work/p.sink" 2>/dev/null &
  _tee_pid=$!
  pids="$_sum_pid $_tail_pid $_sink_pid $_tee_pid"
  # shellcheck disable=SC2086 # rclone_opts: split on purpose
  rclone $rclone_opts cat "store:$STORE_PATH/$_stem.sql" > "$work/p.in" 2> "$work/err" &
  child=$!
  wait "$child"
  _dl_rc=$?
  child=''
  wait "$_tee_pid"
  wait "$_sum_pid"
  wait "$_tail_pid"
  wait "$_sink_pid"
  sink_rc=$?
  pids=''
  got=$(cut -d ' ' -f 1 < "$work/sum.out")
  last=$(cat "$work/last.out")
  return "$_dl_rc"
}
