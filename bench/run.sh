#!/usr/bin/env bash
# Benchmark twofactl side by side with the sqlite3 CLI, on this machine, in one run.
#
# Usage: bench/run.sh [--users N] [--reset N[,N...]] [--runs K] [--no-build] [--bin PATH]
#                     [--baseline PATH] [--sqlite-only]
#
#   --users N        users in the generated database            (default 1000000)
#   --reset N,...    users reset by the admin-reset benchmark; each size in turn
#                                                                (default 100000)
#   --runs K         timed runs per command, median reported     (default 5)
#   --no-build       do not run `cargo build --release`; use the existing binary
#   --bin PATH       benchmark this twofactl binary instead (implies --no-build)
#   --baseline PATH  also run admin-reset with this twofactl binary (e.g. one built from
#                    the previous commit), interleaved with the others: before and after
#   --sqlite-only    skip twofactl entirely (tests the generator and the sqlite3 half)
#
# What it does (the performance rules, README "Performance"):
#   1. Generates the application database from schema/app-schema.sql with the sqlite3 CLI
#      and a recursive CTE: N users (every 50th an admin; 60% 2FA enabled, 20% pending,
#      20% disabled), one session per enabled user, settings app.name=Bench.
#   2. list-users --format csv / json  vs  sqlite3 -csv -header / sqlite3 -json on the same
#      columns; plus twofactl's peak RSS for list-users csv at 10, N/10 and N users.
#   3. admin-reset --from-file of the first --reset users (admins too: --allow-admin; audit
#      rows, --no-notify), for each size, vs sqlite3 running the equivalent UPDATE statements
#      in one transaction (and vs --baseline). Each run works on a fresh copy of the pristine
#      database (the copy is not timed); each run is checked afterwards (users cleared,
#      others untouched; for twofactl one audit row per user).
#   4. Prints Markdown tables (median wall time of K runs, interleaved twofactl/sqlite3,
#      ratio twofactl/sqlite3, peak RSS from /usr/bin/time -f %M; admin-reset by size, with
#      the baseline) and writes them to bench/results.md (overwritten).
#
# Progress goes to stderr; the results go to stdout and bench/results.md.

set -euo pipefail
export LC_ALL=C

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench: %s\n' "$*" >&2; }

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }

# ---------------------------------------------------------------- arguments

USERS=1000000
RESET=100000
RUNS=5
BASELINE=
BUILD=1
TWOFACTL=1
BIN_ARG=

need_int() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (( 10#$2 < $3 )); then die "$1 needs an integer >= $3, got '$2'"; fi
}

while (( $# )); do
    case $1 in
        --users) (( $# >= 2 )) || die "--users needs a value"; USERS=$2; shift 2 ;;
        --users=*) USERS=${1#*=}; shift ;;
        --reset) (( $# >= 2 )) || die "--reset needs a value"; RESET=$2; shift 2 ;;
        --reset=*) RESET=${1#*=}; shift ;;
        --runs) (( $# >= 2 )) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --no-build) BUILD=0; shift ;;
        --bin) (( $# >= 2 )) || die "--bin needs a value"; BIN_ARG=$2; BUILD=0; shift 2 ;;
        --baseline) (( $# >= 2 )) || die "--baseline needs a value"; BASELINE=$2; shift 2 ;;
        --baseline=*) BASELINE=${1#*=}; shift ;;
        --sqlite-only) TWOFACTL=0; BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
need_int --users "$USERS" 1
need_int --runs "$RUNS" 1
# Strip leading zeros so that arithmetic does not read them as octal.
USERS=$((10#$USERS)); RUNS=$((10#$RUNS))
IFS=, read -r -a RESETS <<<"$RESET"
(( ${#RESETS[@]} >= 1 )) || die "--reset needs at least one size"
for i in "${!RESETS[@]}"; do
    need_int --reset "${RESETS[i]}" 1
    RESETS[i]=$((10#${RESETS[i]}))
    (( RESETS[i] <= USERS )) || die "--reset ${RESETS[i]} is more than --users $USERS"
done

# ---------------------------------------------------------------- environment

(( BASH_VERSINFO[0] >= 5 )) || die "bash >= 5 is needed (EPOCHREALTIME)"
command -v sqlite3 >/dev/null || die "sqlite3 CLI not found"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) not found"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
SCHEMA=$ROOT/schema/app-schema.sql
SHARED_SCHEMA=/work/shared/app-schema.sql
BIN=$ROOT/target/release/twofactl
if [[ -n $BIN_ARG ]]; then BIN=$(cd "$(dirname "$BIN_ARG")" && pwd)/$(basename "$BIN_ARG"); fi
RESULTS=$BENCH_DIR/results.md

if [[ ! -f $SCHEMA ]]; then
    [[ -f $SHARED_SCHEMA ]] || die "no schema at $SCHEMA (nor $SHARED_SCHEMA to copy)"
    mkdir -p "$ROOT/schema"
    cp "$SHARED_SCHEMA" "$SCHEMA"
    say "copied $SHARED_SCHEMA to $SCHEMA"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/twofactl-bench.XXXXXX")
cleanup() { rm -rf -- "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Keep the user's own twofactl environment out of the measurement.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^TWOFACTL_' || true)
export XDG_CONFIG_HOME=$TMP/xdg
mkdir -p "$XDG_CONFIG_HOME"
# An empty config file, so that a host's /etc/twofactl/config.toml plays no part.
: >"$TMP/config.toml"
export TWOFACTL_CONFIG=$TMP/config.toml

# ---------------------------------------------------------------- build

NO_NOTIFY=()
TF_OK_RCS=" 0 "
NOTES=()
if (( BUILD )); then
    say "cargo build --release"
    (cd "$ROOT" && cargo build --release >&2) || die "cargo build --release failed"
fi
if (( TWOFACTL )); then
    [[ -x $BIN ]] || die "$BIN not found (build it, or use --sqlite-only)"
    "$BIN" list-users --help >/dev/null 2>&1 || die "$BIN has no working 'list-users' subcommand"
    ar_help=$("$BIN" admin-reset --help 2>&1) || die "$BIN has no working 'admin-reset' subcommand"
    if [[ $ar_help == *--no-notify* ]]; then
        NO_NOTIFY=(--no-notify)
    else
        # Without --no-notify twofactl queues (and tries to send) one e-mail per user;
        # with no SMTP server configured that is expected to end with exit 6.
        TF_OK_RCS=" 0 6 "
        NOTES+=("twofactl admin-reset has no --no-notify yet: run without it (notifications queued, exit 6 tolerated).")
        say "warning: admin-reset has no --no-notify; running without it"
    fi
fi
if [[ -n $BASELINE ]]; then
    (( TWOFACTL )) || die "--baseline needs twofactl (not --sqlite-only)"
    BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
    [[ -x $BASELINE ]] || die "--baseline $BASELINE is not an executable"
    "$BASELINE" admin-reset --help 2>&1 | grep -q -- --no-notify ||
        die "--baseline $BASELINE has no working 'admin-reset --no-notify'"
fi

# ---------------------------------------------------------------- database generation

# shellcheck disable=SC2016  # a literal PHC string, nothing to expand
ARGON2_HASH='$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZrGqOWv3R3c6Ck2Zl2m1kA8pr2A0fN7iV3oV1m9xT1Y'
B32='ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

# gen_db PATH N: the application's database with N users.
#   user i: username userNNNNNNN, e-mail userNNNNNNN@example.com, admin when i % 50 = 0;
#   i % 5 in {0,1,2}: 2FA enabled (60%); 3: pending (20%); 4: disabled (20%).
#   One session per enabled user.
gen_db() {
    local db=$1 n=$2 t0 t1
    t0=${EPOCHREALTIME//[!0-9]/}
    rm -f -- "$db"
    sqlite3 -bail "$db" >/dev/null <<EOF
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
.read '$SCHEMA'
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $n)
INSERT INTO users (id, username, email, password_hash, is_admin, totp_secret, totp_enabled, created_at)
SELECT i,
       printf('user%07d', i),
       printf('user%07d@example.com', i),
       '$ARGON2_HASH',
       i % 50 = 0,
       CASE WHEN i % 5 < 4 THEN substr('$B32', i % 32 + 1, 32) END,
       i % 5 < 3,
       strftime('%Y-%m-%dT%H:%M:%SZ', 1704067200 + i * 60, 'unixepoch')
FROM seq;
INSERT INTO sessions (id, user_id, created_at, last_seen)
SELECT printf('sess%028d', id), id, created_at, created_at FROM users WHERE totp_enabled = 1;
INSERT INTO settings (key, value) VALUES ('app.name', 'Bench');
COMMIT;
EOF
    local got
    got=$(sqlite3 "$db" 'SELECT count(*) FROM users')
    [[ $got == "$n" ]] || die "generated $db has $got users, expected $n"
    t1=${EPOCHREALTIME//[!0-9]/}
    say "generated $(basename "$db"): $n users in $(( (t1 - t0) / 1000 )) ms, $(( $(stat -c %s "$db") / 1048576 )) MiB"
}

# ---------------------------------------------------------------- measurement

# run_timed IN OUT OK_RCS CMD...: run CMD with stdin IN and stdout OUT under /usr/bin/time.
# Sets T_US (wall time, microseconds), RSS_KB (peak RSS), CPU_S (user+sys seconds).
# Fails loudly when the exit code is not one of OK_RCS (" 0 " etc.).
T_US=0 RSS_KB=0 CPU_S=0
run_timed() {
    local in=$1 out=$2 ok=$3 t0 t1 rc=0 last
    shift 3
    t0=${EPOCHREALTIME//[!0-9]/}
    /usr/bin/time -f '%M %U %S' -o "$TMP/time.out" "$@" <"$in" >"$out" 2>"$TMP/stderr" || rc=$?
    t1=${EPOCHREALTIME//[!0-9]/}
    if [[ $ok != *" $rc "* ]]; then
        printf 'bench: command failed with exit %s: %s\n' "$rc" "$*" >&2
        head -c 4000 "$TMP/stderr" >&2 || true
        die "aborting"
    fi
    T_US=$(( t1 - t0 ))
    last=$(tail -n 1 "$TMP/time.out")
    read -r RSS_KB user sys <<<"$last"
    [[ $RSS_KB =~ ^[0-9]+$ ]] || die "could not read peak RSS from /usr/bin/time: $last"
    CPU_S=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

declare -A TIMES=() RSSES=() CPUS=()
record() { # record KEY: append the last run_timed results under KEY
    TIMES[$1]+="$T_US "
    RSSES[$1]+="$RSS_KB "
    CPUS[$1]+="$CPU_S "
}
median() { # median of the numbers in $1
    tr ' ' '\n' <<<"$1" | awk NF | sort -n |
        awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maxof() { tr ' ' '\n' <<<"$1" | awk NF | sort -n | tail -n 1; }
fmt_ms() {
    if [[ -n ${1:-} ]]; then awk -v t="$1" 'BEGIN { printf "%.1f ms", t / 1000 }'; else printf '—'; fi
}
fmt_mib() {
    if [[ -n ${1:-} ]]; then awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; else printf '—'; fi
}
ratio() {
    if [[ -n ${1:-} && -n ${2:-} ]]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else printf '—'; fi
}
fmt_raw() { tr ' ' '\n' <<<"$1" | awk NF | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1000 }'; }

SQL_LIST="SELECT id, username, email, is_admin, CASE WHEN totp_secret IS NULL THEN 'disabled' WHEN totp_enabled THEN 'enabled' ELSE 'pending' END AS status FROM users"
# The same plus list-users' other two columns, read from twofactl's own tables (used once
# twofactl has written them): the last 2FA change and an open reset request.
# twofactl's tables keep user ids untyped (as the application stores them): `+u.id` drops the
# users column's INTEGER affinity, so that SQLite compares the ids as stored and uses the
# (user_id, ...) indexes instead of scanning the whole table once per user.
SQL_LIST_FULL="SELECT u.id, u.username, u.email, u.is_admin, CASE WHEN u.totp_secret IS NULL THEN 'disabled' WHEN u.totp_enabled THEN 'enabled' ELSE 'pending' END AS status, (SELECT max(r.expires) FROM twofactl_reset_requests r WHERE r.user_id = +u.id AND r.state = 'open' AND r.expires > CAST(strftime('%s', 'now') AS INTEGER)) AS reset_open_until, (SELECT max(a.time) FROM twofactl_audit a WHERE a.user_id = +u.id AND a.changed = 1) AS last_2fa_change FROM users u ORDER BY u.id"

# check_lines FILE EXPECTED... : FILE has one of the expected line counts.
check_lines() {
    local file=$1 got; shift
    got=$(wc -l <"$file")
    local e
    for e in "$@"; do [[ $got == "$e" ]] && return 0; done
    die "sanity check: $file has $got lines, expected one of: $*"
}

# bench_list KEY DB N FORMAT [SQL]: K interleaved runs of twofactl list-users vs sqlite3
# (running SQL, by default SQL_LIST).
bench_list() {
    local key=$1 db=$2 n=$3 fmt=$4 sql=${5:-$SQL_LIST} i sq_mode
    case $fmt in
        csv) sq_mode=(-csv -header) ;;
        json) sq_mode=(-json) ;;
        *) die "bad format $fmt" ;;
    esac
    # Untimed warm-up of each (hot page cache for both), output kept for a sanity check.
    if (( TWOFACTL )); then
        run_timed /dev/null "$TMP/warm.out" " 0 " "$BIN" --db "$db" list-users --format "$fmt"
        if [[ $fmt == csv ]]; then check_lines "$TMP/warm.out" "$n" $((n + 1)); else check_lines "$TMP/warm.out" "$n"; fi
    fi
    run_timed /dev/null "$TMP/warm.out" " 0 " sqlite3 "${sq_mode[@]}" "$db" "$sql"
    if [[ $fmt == csv ]]; then check_lines "$TMP/warm.out" $((n + 1)); fi
    rm -f -- "$TMP/warm.out"
    local tf_last=
    for (( i = 1; i <= RUNS; i++ )); do
        if (( TWOFACTL )); then
            run_timed /dev/null /dev/null " 0 " "$BIN" --db "$db" list-users --format "$fmt"
            record "$key:tf"
            tf_last=$T_US
        fi
        run_timed /dev/null /dev/null " 0 " sqlite3 "${sq_mode[@]}" "$db" "$sql"
        record "$key:sq"
        say "  $key run $i/$RUNS: twofactl $(fmt_ms "$tf_last") sqlite3 $(fmt_ms "$T_US")"
    done
}

# ---------------------------------------------------------------- 1. databases

say "temp dir $TMP"
PRISTINE=$TMP/pristine.db
gen_db "$PRISTINE" "$USERS"
LISTDB=$TMP/list.db          # list-users runs on a copy, so the pristine DB stays untouched
cp -- "$PRISTINE" "$LISTDB"

MEM_SIZES=()
for s in 10 $((USERS / 10)) "$USERS"; do
    (( s >= 1 )) || continue
    [[ " ${MEM_SIZES[*]:-} " == *" $s "* ]] || MEM_SIZES+=("$s")
done

# ---------------------------------------------------------------- 2. list-users

say "list-users csv, $USERS users, $RUNS runs"
bench_list "csv" "$LISTDB" "$USERS" csv
say "list-users json, $USERS users, $RUNS runs"
bench_list "json" "$LISTDB" "$USERS" json

for s in "${MEM_SIZES[@]}"; do
    (( s == USERS )) && continue     # measured above
    gen_db "$TMP/mem$s.db" "$s"
    say "list-users csv, $s users, $RUNS runs"
    bench_list "mem$s" "$TMP/mem$s.db" "$s" csv
    rm -f -- "$TMP/mem$s.db"
done

# ---------------------------------------------------------------- 3. admin-reset

RESET_FILE=$TMP/reset-users.txt
UPDATES=$TMP/updates.sql
WORK=$TMP/work.db
declare -A HAD_2FA=()

# reset_set N: the ids of the users a run of size N resets.
reset_set() { echo "SELECT id FROM users ORDER BY id LIMIT $1"; }

# prepare_reset N: the user list and sqlite3's UPDATE script for size N.
prepare_reset() {
    local n=$1 got
    sqlite3 "$PRISTINE" "SELECT username FROM users ORDER BY id LIMIT $n" >"$RESET_FILE"
    got=$(wc -l <"$RESET_FILE")
    (( got == n )) || die "only $got users for --reset $n (use more --users)"
    {
        echo 'BEGIN;'
        sqlite3 "$PRISTINE" "SELECT 'UPDATE users SET totp_secret = NULL, totp_enabled = 0 WHERE username = ''' || username || ''';' FROM users ORDER BY id LIMIT $n"
        echo 'COMMIT;'
    } >"$UPDATES"
    # 2FA still set outside the reset set: must not change.
    OTHERS_SET=$(sqlite3 "$PRISTINE" "SELECT count(*) FROM users WHERE id NOT IN ($(reset_set "$n")) AND (totp_secret IS NOT NULL OR totp_enabled <> 0)")
    HAD_2FA[$n]=$(sqlite3 "$PRISTINE" "SELECT count(*) FROM users WHERE id IN ($(reset_set "$n")) AND totp_secret IS NOT NULL")
}

# check_reset DB WHO N: the N reset users are cleared and nobody else was touched;
# for twofactl (and the baseline) also one audit row per user of the file.
check_reset() {
    local db=$1 who=$2 n=$3 res still others audit set
    set=$(reset_set "$n")
    res=$(sqlite3 -separator ' ' "$db" "SELECT (SELECT count(*) FROM users WHERE id IN ($set) AND (totp_secret IS NOT NULL OR totp_enabled <> 0)), (SELECT count(*) FROM users WHERE id NOT IN ($set) AND (totp_secret IS NOT NULL OR totp_enabled <> 0))") ||
        die "sanity check after $who: cannot query $db"
    read -r still others <<<"$res"
    (( still == 0 )) || die "sanity check after $who: $still of the $n reset users still have 2FA set"
    (( others == OTHERS_SET )) || die "sanity check after $who: users outside the file changed ($others with 2FA set, expected $OTHERS_SET)"
    if [[ $who != sqlite3 ]]; then
        audit=$(sqlite3 "$db" "SELECT count(*) FROM twofactl_audit") || die "sanity check after $who: no twofactl_audit table"
        (( audit == n )) || die "sanity check after $who: twofactl_audit has $audit rows, expected $n (users in the file whose 2FA was set: ${HAD_2FA[$n]})"
    fi
}

fresh_work() {
    rm -f -- "$WORK" "$WORK-journal" "$WORK-wal" "$WORK-shm"
    cp -- "$PRISTINE" "$WORK"
    sync -- "$WORK"       # so the timed command's fsync does not pay for the copy
}
# tf_reset BIN DB [ARGS...]
tf_reset() {
    run_timed /dev/null /dev/null "$TF_OK_RCS" "$1" --db "$2" admin-reset --from-file "$RESET_FILE" \
        --reason bench --yes --no-input --allow-admin --format json "${NO_NOTIFY[@]}" "${@:3}"
}

# bench_reset N: K interleaved runs of twofactl, the baseline and sqlite3, each resetting
# the first N users.
bench_reset() {
    local n=$1 i last
    prepare_reset "$n"
    say "admin-reset, $n users, $RUNS runs"
    # Untimed warm-up of each.
    if (( TWOFACTL )); then fresh_work; tf_reset "$BIN" "$WORK"; check_reset "$WORK" twofactl "$n"; fi
    if [[ -n $BASELINE ]]; then fresh_work; tf_reset "$BASELINE" "$WORK"; check_reset "$WORK" baseline "$n"; fi
    fresh_work; run_timed "$UPDATES" /dev/null " 0 " sqlite3 "$WORK"; check_reset "$WORK" sqlite3 "$n"
    for (( i = 1; i <= RUNS; i++ )); do
        last="run $i/$RUNS:"
        if (( TWOFACTL )); then
            fresh_work
            tf_reset "$BIN" "$WORK"
            record "reset$n:tf"
            last+=" twofactl $(fmt_ms "$T_US") $(fmt_mib "$RSS_KB")"
            check_reset "$WORK" twofactl "$n"
        fi
        if [[ -n $BASELINE ]]; then
            fresh_work
            tf_reset "$BASELINE" "$WORK"
            record "reset$n:base"
            last+=" baseline $(fmt_ms "$T_US") $(fmt_mib "$RSS_KB")"
            check_reset "$WORK" baseline "$n"
        fi
        fresh_work
        run_timed "$UPDATES" /dev/null " 0 " sqlite3 "$WORK"
        record "reset$n:sq"
        say "  reset $n $last sqlite3 $(fmt_ms "$T_US")"
        check_reset "$WORK" sqlite3 "$n"
    done
}

for n in "${RESETS[@]}"; do bench_reset "$n"; done
# The dry run and list-users after a reset use the first size.
RESET=${RESETS[0]}
prepare_reset "$RESET"

if (( TWOFACTL )); then
    # Phase hint: the same command as a dry run (resolves the users, writes nothing).
    say "admin-reset --dry-run, $RESET users, $RUNS runs"
    fresh_work
    for (( i = 1; i <= RUNS; i++ )); do
        tf_reset "$BIN" "$WORK" --dry-run
        record "dry:tf"
    done
    [[ $(sqlite3 "$WORK" "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'twofactl%'") == 0 ]] ||
        die "sanity check: admin-reset --dry-run changed the database"
    # list-users again, on a database that now holds $RESET audit rows (twofactl's
    # last_2fa_change column reads them).
    AUDITED=$TMP/audited.db
    fresh_work; tf_reset "$BIN" "$WORK"; mv -- "$WORK" "$AUDITED"
    say "list-users csv after admin-reset, $USERS users, $RUNS runs"
    sqlite3 "$AUDITED" "$SQL_LIST_FULL LIMIT 1" >/dev/null ||
        die "twofactl's tables are not as this benchmark expects (twofactl_audit.user_id/time/changed, twofactl_reset_requests.user_id/state/expires)"
    bench_list "csvaudit" "$AUDITED" "$USERS" csv "$SQL_LIST_FULL"
    rm -f -- "$AUDITED"
fi
rm -f -- "$WORK" "$LISTDB"

# ---------------------------------------------------------------- 4. report

CPU_MODEL=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*:[[:space:]]*//' || true)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then GIT_REV+=" (dirty)"; fi
TF_VERSION=—
(( TWOFACTL )) && TF_VERSION=$("$BIN" --version 2>/dev/null | head -n 1 || echo "?")

row() { # row LABEL KEY
    local tf sq
    tf=$(median "${TIMES[$2:tf]:-}")
    sq=$(median "${TIMES[$2:sq]:-}")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(fmt_ms "$tf")" "$(fmt_ms "$sq")" "$(ratio "$tf" "$sq")" \
        "$(fmt_mib "$(maxof "${RSSES[$2:tf]:-}")")" "$(fmt_mib "$(maxof "${RSSES[$2:sq]:-}")")"
}
reset_row() { # reset_row N: admin-reset of N users, twofactl vs the baseline vs sqlite3
    local k=reset$1 tf base sq
    tf=$(median "${TIMES[$k:tf]:-}")
    base=$(median "${TIMES[$k:base]:-}")
    sq=$(median "${TIMES[$k:sq]:-}")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
        "$(fmt_ms "$tf")" "$(fmt_ms "$base")" "$(fmt_ms "$sq")" "$(ratio "$tf" "$sq")" "$(ratio "$tf" "$base")" \
        "$(fmt_mib "$(maxof "${RSSES[$k:tf]:-}")")" "$(fmt_mib "$(maxof "${RSSES[$k:base]:-}")")" \
        "$(fmt_mib "$(maxof "${RSSES[$k:sq]:-}")")"
}
memory_verdict() { # memory_verdict LABEL KEY: the bound is a peak RSS under 64 MiB
    local rss
    rss=$(maxof "${RSSES[$2:tf]:-}")
    [[ -n $rss ]] || return 0
    awk -v k="$rss" -v l="$1" 'BEGIN { printf "- %s: %s (peak %.1f MiB)\n", l, (k < 65536 ? "meets target" : "**misses target**"), k / 1024 }'
}
verdict() { # verdict LABEL KEY: the target is ratio <= 1.00
    local tf sq
    tf=$(median "${TIMES[$2:tf]:-}")
    sq=$(median "${TIMES[$2:sq]:-}")
    [[ -n $tf && -n $sq ]] || return 0
    awk -v a="$tf" -v b="$sq" -v l="$1" 'BEGIN { r = a / b; printf "- %s: %s (ratio %.2f)\n", l, (r <= 1.0 ? "meets target" : sprintf("**misses target, %.0f%% slower than sqlite3**", (r - 1) * 100)), r }'
}

report() {
    local s
    echo "# twofactl benchmark"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- git rev: $GIT_REV"
    echo "- machine: $(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, $(uname -sr)"
    echo "- twofactl: $TF_VERSION; sqlite3: $(sqlite3 --version | cut -d' ' -f1)"
    echo "- parameters: --users $USERS --reset $(IFS=,; echo "${RESETS[*]}") --runs $RUNS"
    [[ -z $BASELINE ]] || echo "- baseline: $BASELINE ($("$BASELINE" --version 2>/dev/null | head -n 1 || echo "?"))"
    (( TWOFACTL )) || echo "- mode: --sqlite-only (twofactl not run)"
    echo
    echo "Median wall time of $RUNS runs each (twofactl and sqlite3 interleaved, after one untimed"
    echo "warm-up run of each); ratio = twofactl / sqlite3 (below 1.00: twofactl faster); peak RSS"
    echo "is the largest \`/usr/bin/time -f %M\` over the timed runs."
    echo
    echo "| benchmark | twofactl median | sqlite3 median | ratio | twofactl peak RSS | sqlite3 peak RSS |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    row "list-users --format csv ($USERS users)" csv
    row "list-users --format json ($USERS users)" json
    row "admin-reset --from-file ($RESET users)" "reset$RESET"
    if (( TWOFACTL )); then
        row "admin-reset --dry-run ($RESET users; no sqlite3 equivalent)" dry
        row "list-users --format csv ($USERS users, $RESET audit rows; sqlite3 with all 7 columns)" csvaudit
    fi
    echo
    echo "admin-reset --from-file by size (median wall time; peak RSS; the baseline is another"
    echo "twofactl binary, given with --baseline, run interleaved with the others):"
    echo
    echo "| users reset | twofactl | baseline | sqlite3 | twofactl / sqlite3 | twofactl / baseline | twofactl peak RSS | baseline peak RSS | sqlite3 peak RSS |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in "${RESETS[@]}"; do reset_row "$s"; done
    echo
    echo "Memory of list-users --format csv by user count (should stay flat):"
    echo
    echo "| users | twofactl median | sqlite3 median | twofactl peak RSS | sqlite3 peak RSS |"
    echo "| ---: | ---: | ---: | ---: | ---: |"
    for s in "${MEM_SIZES[@]}"; do
        local key=mem$s
        (( s == USERS )) && key=csv
        printf '| %s | %s | %s | %s | %s |\n' "$s" \
            "$(fmt_ms "$(median "${TIMES[$key:tf]:-}")")" "$(fmt_ms "$(median "${TIMES[$key:sq]:-}")")" \
            "$(fmt_mib "$(maxof "${RSSES[$key:tf]:-}")")" "$(fmt_mib "$(maxof "${RSSES[$key:sq]:-}")")"
    done
    echo
    if (( TWOFACTL )); then
        echo "Targets (at least as fast as sqlite3):"
        echo
        verdict "list-users csv" csv
        verdict "list-users json" json
        for s in "${RESETS[@]}"; do verdict "admin-reset, $s users" "reset$s"; done
        echo
        echo "Memory (admin-reset of 1,000,000 users under 64 MiB, one transaction):"
        echo
        for s in "${RESETS[@]}"; do memory_verdict "admin-reset, $s users" "reset$s"; done
        echo
    fi
    echo "Commands:"
    echo
    echo "- list-users: \`twofactl --db DB list-users --format csv|json > /dev/null\` vs"
    echo "  \`sqlite3 -csv -header DB \"$SQL_LIST\"\` (or \`sqlite3 -json\`)."
    echo "- admin-reset: \`twofactl --db WORK admin-reset --from-file FILE --reason bench --yes --no-input"
    echo "  --allow-admin --format json${NO_NOTIFY[*]:+ ${NO_NOTIFY[*]}} > /dev/null\` (audit rows, session deletion) vs"
    echo "  \`sqlite3 WORK < updates.sql\` (BEGIN; N UPDATE ... WHERE username = '...'; COMMIT;)."
    echo "  The reset users are the first N users by id, administrators included:"
    for s in "${RESETS[@]}"; do echo "  ($s users: ${HAD_2FA[$s]} of them had 2FA set)"; done
    echo "  Every run starts from a fresh, synced copy of the pristine database (copy not timed)."
    if (( TWOFACTL )); then
        echo "- admin-reset --dry-run: the same twofactl command with \`--dry-run\` (resolves the users,"
        echo "  writes nothing); a hint of how the real run splits between resolving and writing."
        echo "- list-users with audit rows: on a copy after one admin-reset of the $RESET users, so that"
        echo "  twofactl's last_2fa_change / reset_open_until columns have data; here sqlite3 runs the"
        echo "  same 7-column query (two correlated subqueries per user) for a like-for-like comparison."
    fi
    for s in "${NOTES[@]}"; do echo "- $s"; done
    echo
    echo "Raw wall times, ms (CPU user+sys, s):"
    echo
    local k
    local -A who=([tf]=twofactl [base]=baseline [sq]=sqlite3)
    for k in csv json $(for s in "${RESETS[@]}"; do echo "reset$s"; done) dry csvaudit \
        $(for s in "${MEM_SIZES[@]}"; do echo "mem$s"; done); do
        for t in tf base sq; do
            [[ -n ${TIMES[$k:$t]:-} ]] || continue
            echo "- $k/${who[$t]}: $(fmt_raw "${TIMES[$k:$t]}") ($(tr ' ' '\n' <<<"${CPUS[$k:$t]}" | awk NF | paste -sd, - | sed 's/,/, /g'))"
        done
    done
    echo
    echo "Peak RSS of the admin-reset runs, MiB:"
    echo
    for s in "${RESETS[@]}"; do
        for t in tf base sq; do
            [[ -n ${RSSES[reset$s:$t]:-} ]] || continue
            echo "- reset$s/${who[$t]}: $(tr ' ' '\n' <<<"${RSSES[reset$s:$t]}" | awk NF | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1024 }')"
        done
    done
}

report >"$TMP/results.md"
cp -- "$TMP/results.md" "$RESULTS"
cat "$TMP/results.md"
say "results written to $RESULTS"
