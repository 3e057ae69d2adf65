#!/usr/bin/env bash
# Benchmark twofactl's list-users on a Django (django-otp) database, side by side with the
# sqlite3 CLI running the equivalent join, on this machine, in one run.
#
# Usage: bench/apps.sh [--users N] [--runs K] [--no-build] [--bin PATH]
#
#   --users N        users in the largest generated database     (default 1000000)
#   --runs K         timed runs per command and size, median reported (default 5)
#   --no-build       do not run `cargo build --release`; use the existing binary
#   --bin PATH       benchmark this twofactl binary instead (implies --no-build)
#
# What it does:
#   1. Generates Django databases from tests/fixtures/apps/django.sql (Django 5.2 auth_user and
#      django-otp 1.7.0 otp_totp_totpdevice, as `django-admin migrate` makes them on SQLite;
#      the citations are in the file's header) with the sqlite3 CLI and recursive CTEs, at
#      10, N/10 and N users: user i is `userNNNNNNN`, a superuser when i % 1000 = 0; by
#      i % 10 it has a confirmed TOTP device (0-6: 70%), an unconfirmed one (7: 10%) or
#      none (8, 9: 20%); one device at most per user, its key 20 random bytes in lower hex.
#   2. At each size, K interleaved rounds (the order of the four commands rotated each
#      round) of
#        twofactl --profile django-otp --db DB list-users --format json|csv > /dev/null
#      and sqlite3 -json / sqlite3 -csv -header on the same DB running the join twofactl's
#      seam builds for the profile (src/app/mod.rs select_users/state_sql/admin_sql):
#      the same seven columns, the status computed with CASE over the same two EXISTS
#      subqueries on otp_totp_totpdevice, NULL for the two columns of twofactl's own
#      tables (the database has none). Wall time, CPU and peak RSS (/usr/bin/time -f %M).
#   3. Checks every output once (untimed): rows, and the count of each status and of
#      administrators on both sides equal to what the generator made.
#   4. Prints a Markdown table (medians, ratios, peak RSS, raw times) and writes it to
#      bench/results-apps.md (overwritten), with the machine, the date and the git revision.
#
# Progress goes to stderr; the results go to stdout and bench/results-apps.md.

set -euo pipefail
export LC_ALL=C

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench: %s\n' "$*" >&2; }

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }

# ---------------------------------------------------------------- arguments

USERS=1000000
RUNS=5
BUILD=1
BIN_ARG=

need_int() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (( 10#$2 < $3 )); then die "$1 needs an integer >= $3, got '$2'"; fi
}

while (( $# )); do
    case $1 in
        --users) (( $# >= 2 )) || die "--users needs a value"; USERS=$2; shift 2 ;;
        --users=*) USERS=${1#*=}; shift ;;
        --runs) (( $# >= 2 )) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --no-build) BUILD=0; shift ;;
        --bin) (( $# >= 2 )) || die "--bin needs a value"; BIN_ARG=$2; BUILD=0; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
need_int --users "$USERS" 10
need_int --runs "$RUNS" 1
USERS=$((10#$USERS)); RUNS=$((10#$RUNS))

# ---------------------------------------------------------------- environment

(( BASH_VERSINFO[0] >= 5 )) || die "bash >= 5 is needed (EPOCHREALTIME)"
command -v sqlite3 >/dev/null || die "sqlite3 CLI not found (apt-get install -y sqlite3)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) not found (apt-get install -y time)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCHEMA=$ROOT/tests/fixtures/apps/django.sql
BIN=$ROOT/target/release/twofactl
if [[ -n $BIN_ARG ]]; then BIN=$(cd "$(dirname "$BIN_ARG")" && pwd)/$(basename "$BIN_ARG"); fi
RESULTS=$ROOT/bench/results-apps.md
[[ -f $SCHEMA ]] || die "no Django schema at $SCHEMA"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/twofactl-bench-apps.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Keep the user's own twofactl environment out of the measurement; an empty config file,
# so that a host's /etc/twofactl/config.toml plays no part (the profile comes from
# --profile; a config file with [schema] profile is checked once below).
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^TWOFACTL_' || true)
export XDG_CONFIG_HOME=$TMP/xdg
mkdir -p "$XDG_CONFIG_HOME"
: >"$TMP/config.toml"
export TWOFACTL_CONFIG=$TMP/config.toml

if (( BUILD )); then
    say "cargo build --release"
    (cd "$ROOT" && cargo build --release >&2) || die "cargo build --release failed"
fi
[[ -x $BIN ]] || die "$BIN not found (run without --no-build)"
"$BIN" --profile django-otp list-users --help >/dev/null 2>&1 ||
    die "$BIN has no working 'list-users' with --profile"

# ---------------------------------------------------------------- database generation

# A Django pbkdf2_sha256 hash (never checked here: list-users does not select it).
DJ_HASH='pbkdf2_sha256$1000000$twofactlbenchsalt1234$6Z8+abm8TS0bA2hFvkwrs32dqaSiby0Qeor6+ObhSME='

# gen_db PATH N: a Django database with N users (see the header for who has what).
gen_db() {
    local db=$1 n=$2 t0 t1 got
    t0=${EPOCHREALTIME//[!0-9]/}
    rm -f -- "$db"
    sqlite3 -bail "$db" >/dev/null <<EOF
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
.read '$SCHEMA'
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $n)
INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name, email,
                       is_staff, is_active, date_joined, first_name)
SELECT i, '$DJ_HASH', NULL, i % 1000 = 0, printf('user%07d', i), '', printf('user%07d@example.com', i),
       i % 1000 = 0, 1, strftime('%Y-%m-%d %H:%M:%f', 1704067200 + i * 60, 'unixepoch'), ''
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $n)
INSERT INTO otp_totp_totpdevice (name, confirmed, key, step, t0, digits, tolerance, drift, last_t,
                                 user_id, throttling_failure_count, throttling_failure_timestamp,
                                 created_at, last_used_at)
SELECT 'default', i % 10 < 7, lower(hex(randomblob(20))), 30, 0, 6, 1, 0, -1,
       i, 0, NULL, strftime('%Y-%m-%d %H:%M:%f', 1704067200 + i * 60 + 30, 'unixepoch'), NULL
FROM seq WHERE i % 10 < 8;
COMMIT;
EOF
    got=$(sqlite3 "$db" 'SELECT count(*) FROM auth_user')
    [[ $got == "$n" ]] || die "generated $db has $got users, expected $n"
    t1=${EPOCHREALTIME//[!0-9]/}
    say "generated $(basename "$db"): $n users in $(( (t1 - t0) / 1000 )) ms, $(( $(stat -c %s "$db") / 1048576 )) MiB"
}

# expect N: "enabled pending disabled admins" as generated for N users.
expect() {
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) { r = i % 10; if (r < 7) e++; else if (r == 7) p++; else d++ }
        printf "%d %d %d %d", e, p, d, int(n / 1000) }'
}

# ---------------------------------------------------------------- the equivalent join

# What src/app/mod.rs builds for the django-otp profile (App::select_users: truthy() for the
# boolean columns, the two EXISTS of state_sql; src/db/users.rs for_each adds ORDER BY u.id
# and reads the status from the pair), written as one SELECT with the status as CASE and
# the columns of twofactl's own tables as NULL. Used for -json and -csv -header alike.
truthy() {
    local e=$1
    echo "(CASE typeof($e) WHEN 'null' THEN 0 WHEN 'integer' THEN $e <> 0 WHEN 'real' THEN $e <> 0.0 WHEN 'text' THEN $e NOT IN ('', '0') ELSE $e NOT IN (X'', X'30') END)"
}
DEV='FROM "otp_totp_totpdevice" k WHERE k."user_id" = u."id"'
SQL_HAS="EXISTS (SELECT 1 $DEV AND k.\"key\" IS NOT NULL AND k.\"key\" <> '')"
SQL_ON="EXISTS (SELECT 1 $DEV AND $(truthy 'k."confirmed"'))"
SQL_JOIN="SELECT u.\"id\" AS id, coalesce(u.\"username\", '') AS username, coalesce(u.\"email\", '') AS email, $(truthy 'u."is_superuser"') AS is_admin, CASE WHEN $SQL_ON THEN 'enabled' WHEN $SQL_HAS THEN 'pending' ELSE 'disabled' END AS status, NULL AS reset_open_until, NULL AS last_2fa_change FROM \"auth_user\" u ORDER BY u.\"id\""

# ---------------------------------------------------------------- measurement

# run_timed OUT CMD...: run CMD with stdout OUT under /usr/bin/time.
# Sets T_US (wall time, microseconds), RSS_KB (peak RSS), CPU_S (user+sys seconds).
T_US=0 RSS_KB=0 CPU_S=0
run_timed() {
    local out=$1 t0 t1 rc=0 last user sys
    shift
    t0=${EPOCHREALTIME//[!0-9]/}
    /usr/bin/time -f '%M %U %S' -o "$TMP/time.out" "$@" </dev/null >"$out" 2>"$TMP/stderr" || rc=$?
    t1=${EPOCHREALTIME//[!0-9]/}
    if (( rc != 0 )); then
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
record() { TIMES[$1]+="$T_US "; RSSES[$1]+="$RSS_KB "; CPUS[$1]+="$CPU_S "; }
median() {
    tr ' ' '\n' <<<"$1" | awk NF | sort -n |
        awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maxof() { tr ' ' '\n' <<<"$1" | awk NF | sort -n | tail -n 1; }
fmt_ms() { if [[ -n ${1:-} ]]; then awk -v t="$1" 'BEGIN { printf "%.1f ms", t / 1000 }'; else printf '—'; fi; }
fmt_mib() { if [[ -n ${1:-} ]]; then awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; else printf '—'; fi; }
ratio() { if [[ -n ${1:-} && -n ${2:-} ]]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else printf '—'; fi; }
fmt_raw() { tr ' ' '\n' <<<"$1" | awk NF | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1000 }'; }
fmt_rss() { tr ' ' '\n' <<<"$1" | awk NF | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1024 }'; }

# cmd NAME DB: the command line of NAME (tf-json, tf-csv, sq-json, sq-csv) on DB.
cmd() {
    case $1 in
        tf-json) echo "$BIN" --profile django-otp --db "$2" list-users --format json ;;
        tf-csv) echo "$BIN" --profile django-otp --db "$2" list-users --format csv ;;
        sq-json) echo sqlite3 -json "$2" ;;
        sq-csv) echo sqlite3 -csv -header "$2" ;;
    esac
}
run_cmd() { # run_cmd NAME DB OUT
    local -a c
    read -r -a c <<<"$(cmd "$1" "$2")"
    if [[ $1 == sq-* ]]; then run_timed "$3" "${c[@]}" "$SQL_JOIN"; else run_timed "$3" "${c[@]}"; fi
}

# check_output NAME FILE N: rows, statuses and administrators as generated.
check_output() {
    local name=$1 file=$2 n=$3 got want
    want=$(expect "$n")
    case $name in
        *-json)
            got=$(grep -o '"is_admin":[a-z0-9]*,"status":"[a-z]*"' "$file" | awk -F'"' '
                { s[$6]++; if ($3 ~ /true|1/) a++ } END { printf "%d %d %d %d", s["enabled"], s["pending"], s["disabled"], a }')
            ;;
        *-csv)
            [[ $(head -n 1 "$file") == "id,username,email,is_admin,status,reset_open_until,last_2fa_change" ]] ||
                die "sanity check: $name header is '$(head -n 1 "$file")'"
            got=$(tail -n +2 "$file" | awk -F, '
                { s[$5]++; if ($4 == "true" || $4 == "1") a++; if ($6 != "" || $7 != "") x++ }
                END { printf "%d %d %d %d%s", s["enabled"], s["pending"], s["disabled"], a, (x ? " extra" : "") }')
            ;;
    esac
    [[ $got == "$want" ]] || die "sanity check: $name on $n users gave enabled/pending/disabled/admins '$got', expected '$want'"
}

NAMES=(tf-json sq-json tf-csv sq-csv)

# bench_size N: generate, check, then K interleaved rounds.
bench_size() {
    local n=$1 db=$TMP/django-$1.db name r k order line
    gen_db "$db" "$n"
    # Untimed warm-up of each (hot page cache for all), output checked.
    for name in "${NAMES[@]}"; do
        run_cmd "$name" "$db" "$TMP/warm.out"
        check_output "$name" "$TMP/warm.out" "$n"
    done
    rm -f -- "$TMP/warm.out"
    for (( r = 0; r < RUNS; r++ )); do
        k=$(( r % ${#NAMES[@]} ))
        order=("${NAMES[@]:k}" "${NAMES[@]:0:k}")
        line="$n users, round $((r + 1))/$RUNS:"
        for name in "${order[@]}"; do
            run_cmd "$name" "$db" /dev/null
            record "$n:$name"
            line+=" $name $(fmt_ms "$T_US") $(fmt_mib "$RSS_KB")"
        done
        say "$line"
    done
    rm -f -- "$db"
}

SIZES=()
for s in 10 $((USERS / 10)) "$USERS"; do
    [[ " ${SIZES[*]:-} " == *" $s "* ]] || SIZES+=("$s")
done

# The profile from a config file gives the same output as --profile (checked once).
gen_db "$TMP/cfg.db" 10
printf '[schema]\nprofile = "django-otp"\n' >"$TMP/profile.toml"
TWOFACTL_CONFIG=$TMP/profile.toml "$BIN" --db "$TMP/cfg.db" list-users --format json >"$TMP/a.out"
"$BIN" --profile django-otp --db "$TMP/cfg.db" list-users --format json >"$TMP/b.out"
cmp -s "$TMP/a.out" "$TMP/b.out" || die "[schema] profile and --profile disagree"
rm -f -- "$TMP/cfg.db" "$TMP/a.out" "$TMP/b.out"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${SIZES[@]}"; do bench_size "$s"; done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

CPU_MODEL=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*:[[:space:]]*//' || true)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then GIT_REV+=" (dirty)"; fi
TF_VERSION=$("$BIN" --version 2>/dev/null | head -n 1 || echo "?")
LIBSQLITE=$(awk '/^name = "libsqlite3-sys"/ { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock" 2>/dev/null || true)
SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"libsqlite3-sys-$LIBSQLITE"/sqlite3/sqlite3.h 2>/dev/null | head -n 1 || true)
[[ -n $SRC ]] && LIBSQLITE+=", SQLite $(awk '/#define SQLITE_VERSION / { gsub(/"/, ""); print $3 }' "$SRC")"

row() { # row N FORMAT
    local n=$1 f=$2 tf sq
    tf=$(median "${TIMES[$n:tf-$f]}")
    sq=$(median "${TIMES[$n:sq-$f]}")
    printf '| %s | %s | %s | %s | %s | %s s | %s s | %s | %s |\n' "$n" "$f" "$(fmt_ms "$tf")" "$(fmt_ms "$sq")" "$(ratio "$tf" "$sq")" \
        "$(median "${CPUS[$n:tf-$f]}")" "$(median "${CPUS[$n:sq-$f]}")" \
        "$(fmt_mib "$(maxof "${RSSES[$n:tf-$f]}")")" "$(fmt_mib "$(maxof "${RSSES[$n:sq-$f]}")")"
}
verdict() { # verdict FORMAT: at the largest size, twofactl <= sqlite3 in median time
    local tf sq
    tf=$(median "${TIMES[$USERS:tf-$1]}")
    sq=$(median "${TIMES[$USERS:sq-$1]}")
    awk -v a="$tf" -v b="$sq" -v l="list-users --format $1, $USERS users" 'BEGIN { r = a / b
        printf "- %s: %s (ratio %.2f)\n", l, (r <= 1.0 ? "meets the target" : sprintf("**misses the target, %.0f%% slower than sqlite3**", (r - 1) * 100)), r }'
}
mem_verdict() { # mem_verdict FORMAT: peak RSS at the largest size under 16 MiB
    local k
    k=$(maxof "${RSSES[$USERS:tf-$1]}")
    awk -v k="$k" -v l="list-users --format $1, $USERS users" 'BEGIN {
        printf "- %s: %s (peak %.1f MiB)\n", l, (k < 16384 ? "meets the target" : "**misses the target**"), k / 1024 }'
}

report() {
    local s n name
    echo "# twofactl benchmark: list-users on a Django (django-otp) database"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- git rev: $GIT_REV"
    echo "- machine: $(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, $(uname -sr); load average $LOAD_START at start, $LOAD_END at end"
    echo "- twofactl: $TF_VERSION (SQLite bundled by libsqlite3-sys $LIBSQLITE); sqlite3 CLI: $(sqlite3 --version | cut -d' ' -f1)"
    echo "- parameters: --users $USERS --runs $RUNS; sizes ${SIZES[*]}"
    echo
    echo "Median wall time of $RUNS rounds (the four commands of a size interleaved, order rotated"
    echo "each round, after one untimed warm-up of each); ratio = twofactl / sqlite3 (below 1.00:"
    echo "twofactl faster); CPU is the median user+sys time (GNU time, 10 ms resolution), less"
    echo "sensitive than wall time to other load on a shared machine; peak RSS is the largest"
    echo "\`/usr/bin/time -f %M\` over the timed runs."
    echo
    echo "| users | format | twofactl median | sqlite3 median | ratio | twofactl CPU | sqlite3 CPU | twofactl peak RSS | sqlite3 peak RSS |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in "${SIZES[@]}"; do row "$s" json; row "$s" csv; done
    echo
    echo "Targets (at least as fast as sqlite3 -json running the equivalent join; peak RSS under"
    echo "16 MiB at $USERS users, flat in the user count):"
    echo
    verdict json
    verdict csv
    mem_verdict json
    mem_verdict csv
    echo
    echo "Commands:"
    echo
    echo "- twofactl: \`twofactl --profile django-otp --db DB list-users --format json|csv > /dev/null\`"
    echo "  (an empty config file; a config file with \`[schema] profile = \"django-otp\"\` was checked"
    echo "  to give the same output). JSON Lines, seven keys; is_admin true/false."
    echo "- sqlite3: \`sqlite3 -json DB \"\$SQL\" > /dev/null\` (one JSON array, one object per line;"
    echo "  is_admin 0/1) and \`sqlite3 -csv -header DB \"\$SQL\"\`, where \$SQL is the join twofactl's"
    echo "  seam builds for the profile, with the status folded into a CASE:"
    echo
    echo '  ```sql'
    echo "  $SQL_JOIN"
    echo '  ```'
    echo
    echo "  twofactl selects both EXISTS for every user and maps the pair to a status in Rust;"
    echo "  sqlite3's CASE stops at the first EXISTS that holds (one subquery for enabled users)."
    echo "- Database: tests/fixtures/apps/django.sql (auth_user, otp_totp_totpdevice with its user_id"
    echo "  index, ...); user i a superuser when i % 1000 = 0; a confirmed device when i % 10 < 7,"
    echo "  an unconfirmed one when i % 10 = 7, none otherwise. Each output was checked once:"
    echo "  enabled/pending/disabled/admin counts as generated, on both sides."
    echo
    echo "Raw wall times, ms (CPU user+sys, s); peak RSS, MiB:"
    echo
    for s in "${SIZES[@]}"; do
        for name in "${NAMES[@]}"; do
            n="$s:$name"
            echo "- $s $name: $(fmt_raw "${TIMES[$n]}") ($(tr ' ' '\n' <<<"${CPUS[$n]}" | awk NF | paste -sd, - | sed 's/,/, /g')); RSS $(fmt_rss "${RSSES[$n]}")"
        done
    done
}

report >"$TMP/results.md"
cp -- "$TMP/results.md" "$RESULTS"
cat "$TMP/results.md"
say "results written to $RESULTS"
