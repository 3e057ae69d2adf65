#!/usr/bin/env bash
# Benchmark twofactl on PostgreSQL, on this machine, in one run: list-users side by side with
# psql --csv on the same columns, and admin-reset --from-file side by side with psql doing
# the same work set-based in one transaction.
#
# Usage: bench/postgres.sh [--users N] [--reset R] [--runs K] [--no-build] [--bin PATH]
#
#   --users N        users in the largest generated database     (default 1000000)
#   --reset R        users reset by the admin-reset benchmark, the first R by id, out of
#                    the N (default 100000; at most N); 0 skips the admin-reset benchmark
#   --runs K         timed runs per command and size, median reported (default 5)
#   --no-build       do not run `cargo build --release`; use the existing binary
#   --bin PATH       benchmark this twofactl binary instead (implies --no-build)
#
# What it does:
#   1. Starts a throwaway PostgreSQL cluster from Debian's postgresql package (initdb in a
#      temporary directory, as the postgres user when run as root; a private Unix socket, no
#      TCP; fsync off), and makes the sample application's tables from
#      tests/fixtures/postgres/app-schema.sql, at 10, N/10 and N users (every 50th an admin;
#      60% 2FA enabled, 20% pending, 20% disabled, as bench/run.sh does on SQLite).
#   2. At each size, K interleaved rounds (order alternated) of
#        twofactl --db postgresql://postgres@/app?host=SOCKET... list-users --format csv
#      and psql --csv on the same socket running a SELECT of the same seven columns (the
#      status as a CASE, NULL for twofactl's own two), both > /dev/null. Wall time, CPU and
#      peak RSS (/usr/bin/time -f %M). The server's CPU is not in either figure.
#   3. Checks both outputs once (untimed): rows, statuses and administrators as generated.
#   4. admin-reset (unless --reset 0): database app_base = the N-user database plus one
#      session row per user, without twofactl's tables; the usernames of its first R users
#      (by id) in a list file. K interleaved rounds (order alternated), each run on a fresh
#      app_run (DROP DATABASE, CREATE DATABASE app_run TEMPLATE app_base, CHECKPOINT; not
#      timed) of
#        twofactl --db postgresql://postgres@/app_run?host=SOCKET... admin-reset
#          --from-file LIST --allow-admin --reason bench --yes --no-notify > /dev/null
#      (which creates its own tables, twofactl_audit among them, in its transaction) and
#        psql --single-transaction -f reset.sql
#      doing the same work set-based, as a DBA would write it: the names \copy'd into a
#      TEMP table and analyzed, the users looked up once into another (with the sessions
#      a reset ends, which twofactl reports), their rows locked FOR UPDATE, twofactl_audit
#      created as twofactl creates it and one audit row per listed user inserted in list
#      order ('reset', or 'already_clear' for a user whose 2FA was clear, as twofactl
#      writes them), then the sessions of the users whose 2FA was set deleted and their
#      totp_secret/totp_enabled cleared, and each user's result printed in list order
#      (username, outcome, sessions ended; twofactl prints the same). After every run
#      (untimed): the R users' 2FA clear and nobody else's changed, the sessions of those
#      reset gone (the already-clear keep theirs, as twofactl leaves them), R audit rows,
#      and the same audit rows (but for time and os_user) from both sides. Wall time
#      (which includes the server's work here), client CPU and peak RSS.
#   5. Prints Markdown tables and writes them to bench/results-postgres.md (overwritten).
#
# Progress goes to stderr; the results go to stdout and bench/results-postgres.md.

set -euo pipefail
export LC_ALL=C

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bench: %s\n' "$*" >&2; }
usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }

USERS=1000000
RESET=100000
RUNS=5
BUILD=1
BIN_ARG=
while (( $# )); do
    case $1 in
        --users) (( $# >= 2 )) || die "--users needs a value"; USERS=$2; shift 2 ;;
        --reset) (( $# >= 2 )) || die "--reset needs a value"; RESET=$2; shift 2 ;;
        --runs) (( $# >= 2 )) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --bin) (( $# >= 2 )) || die "--bin needs a value"; BIN_ARG=$2; BUILD=0; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
if ! [[ $USERS =~ ^[0-9]+$ ]] || (( USERS < 10 )); then die "--users needs an integer >= 10"; fi
if ! [[ $RUNS =~ ^[0-9]+$ ]] || (( RUNS < 1 )); then die "--runs needs an integer >= 1"; fi
[[ $RESET =~ ^[0-9]+$ ]] || die "--reset needs an integer >= 0"
RESET=$((10#$RESET))
(( RESET <= USERS )) || die "--reset $RESET is more than --users $USERS (pass --reset 0 to skip admin-reset)"

(( BASH_VERSINFO[0] >= 5 )) || die "bash >= 5 is needed (EPOCHREALTIME)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) not found (apt-get install -y time)"
command -v psql >/dev/null || die "psql not found (apt-get install -y postgresql)"
# shellcheck disable=SC2012  # version directories: plain names
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $PGBIN/initdb ]] || die "no PostgreSQL server programs (apt-get install -y postgresql)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCHEMA=$ROOT/tests/fixtures/postgres/app-schema.sql
BIN=$ROOT/target/release/twofactl
if [[ -n $BIN_ARG ]]; then BIN=$(cd "$(dirname "$BIN_ARG")" && pwd)/$(basename "$BIN_ARG"); fi
RESULTS=$ROOT/bench/results-postgres.md

TMP=$(mktemp -d "${TMPDIR:-/tmp}/twofactl-bench-pg.XXXXXX")
chmod 755 "$TMP"
as_owner() { if (( EUID == 0 )); then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
PORT=$(( 40000 + RANDOM % 20000 ))
stop() {
    as_owner "$PGBIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf -- "$TMP"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(TWOFACTL_|PG)' || true)
export XDG_CONFIG_HOME=$TMP/xdg
mkdir -p "$XDG_CONFIG_HOME"
: >"$TMP/config.toml"
export TWOFACTL_CONFIG=$TMP/config.toml

if (( BUILD )); then
    say "cargo build --release"
    (cd "$ROOT" && cargo build --release >&2) || die "cargo build --release failed"
fi
[[ -x $BIN ]] || die "$BIN not found (run without --no-build)"

# ---------------------------------------------------------------- the cluster

(( EUID == 0 )) && chown postgres: "$TMP"
as_owner "$PGBIN/initdb" -D "$TMP/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null ||
    die "initdb failed"
as_owner "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w \
    -o "-p $PORT -k $TMP -c listen_addresses='' -c fsync=off -c full_page_writes=off" start >/dev/null ||
    die "the server did not start: $(cat "$TMP/server.log")"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres)
URL="postgresql://postgres@/app?host=$TMP&port=$PORT&sslmode=disable"
SERVER_VERSION=$("${PSQL[@]}" -d postgres -Atc 'SHOW server_version')

# gen_db N: database app with N users (see the header for who has what).
gen_db() {
    local n=$1 t0 t1
    t0=${EPOCHREALTIME//[!0-9]/}
    "${PSQL[@]}" -d postgres -c 'DROP DATABASE IF EXISTS app' -c 'CREATE DATABASE app' >/dev/null
    "${PSQL[@]}" -d app -f "$SCHEMA" >/dev/null
    "${PSQL[@]}" -d app >/dev/null <<EOF
INSERT INTO users (id, username, email, password_hash, is_admin, totp_secret, totp_enabled)
OVERRIDING SYSTEM VALUE
SELECT i, 'user' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0') || '@example.com',
       '\$argon2id\$v=19\$m=19456,t=2,p=1\$c2FsdHNhbHQ\$aGFzaGhhc2hoYXNo', i % 50 = 0,
       CASE WHEN i % 10 < 8 THEN 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' END, i % 10 < 6
FROM generate_series(1, $n) i;
VACUUM ANALYZE;
EOF
    t1=${EPOCHREALTIME//[!0-9]/}
    say "generated app: $n users in $(( (t1 - t0) / 1000 )) ms"
}

expect() { # expect N: "enabled pending disabled admins"
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) { r = i % 10; if (r < 6) e++; else if (r < 8) p++; else d++ }
        printf "%d %d %d %d", e, p, d, int(n / 50) }'
}

SQL="SELECT u.id, u.username, u.email, u.is_admin, CASE WHEN u.totp_enabled AND u.totp_secret <> '' THEN 'enabled' WHEN u.totp_secret <> '' THEN 'pending' ELSE 'disabled' END AS status, NULL AS reset_open_until, NULL AS last_2fa_change FROM users u ORDER BY u.id"

# ---------------------------------------------------------------- measurement

T_US=0 RSS_KB=0 CPU_S=0
run_timed() { # run_timed OUT CMD...
    local out=$1 t0 t1 rc=0 user sys
    shift
    t0=${EPOCHREALTIME//[!0-9]/}
    /usr/bin/time -f '%M %U %S' -o "$TMP/time.out" "$@" </dev/null >"$out" 2>"$TMP/stderr" || rc=$?
    t1=${EPOCHREALTIME//[!0-9]/}
    (( rc == 0 )) || { head -c 4000 "$TMP/stderr" >&2; die "command failed with exit $rc: $*"; }
    T_US=$(( t1 - t0 ))
    read -r RSS_KB user sys <<<"$(tail -n 1 "$TMP/time.out")"
    CPU_S=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}
declare -A TIMES=() RSSES=() CPUS=()
record() { TIMES[$1]+="$T_US "; RSSES[$1]+="$RSS_KB "; CPUS[$1]+="$CPU_S "; }
median() {
    tr ' ' '\n' <<<"$1" | awk NF | sort -n |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maxof() { tr ' ' '\n' <<<"$1" | awk NF | sort -n | tail -n 1; }
fmt_ms() { awk -v t="$1" 'BEGIN { printf "%.1f ms", t / 1000 }'; }
fmt_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
raw() { tr ' ' '\n' <<<"$1" | awk NF | awk '{ printf "%s%.1f", (NR > 1 ? ", " : ""), $1 / 1000 }'; }

run_cmd() { # run_cmd NAME OUT
    case $1 in
        twofactl) run_timed "$2" "$BIN" --db "$URL" list-users --format csv ;;
        psql) run_timed "$2" "${PSQL[@]}" -d app --csv -c "$SQL" ;;
    esac
}

check_output() { # check_output FILE N
    local got want
    want=$(expect "$2")
    got=$(tail -n +2 "$1" | awk -F, '{ s[$5]++; if ($4 == "true" || $4 == "t") a++ }
        END { printf "%d %d %d %d", s["enabled"], s["pending"], s["disabled"], a }')
    [[ $got == "$want" ]] || die "sanity check: $1 on $2 users gave '$got', expected '$want'"
}

NAMES=(twofactl psql)
SIZES=()
for s in 10 $((USERS / 10)) "$USERS"; do
    [[ " ${SIZES[*]:-} " == *" $s "* ]] || SIZES+=("$s")
done
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "${SIZES[@]}"; do
    gen_db "$n"
    for name in "${NAMES[@]}"; do
        run_cmd "$name" "$TMP/warm.out"
        check_output "$TMP/warm.out" "$n"
    done
    for (( r = 0; r < RUNS; r++ )); do
        if (( r % 2 )); then order=(psql twofactl); else order=(twofactl psql); fi
        line="$n users, round $((r + 1))/$RUNS:"
        for name in "${order[@]}"; do
            run_cmd "$name" /dev/null
            record "$n:$name"
            line+=" $name $(fmt_ms "$T_US") $(fmt_mib "$RSS_KB")"
        done
        say "$line"
    done
done

# ---------------------------------------------------------------- admin-reset

LIST=$TMP/reset-users.txt
RESET_SQL=$TMP/reset.sql
RUN_URL="postgresql://postgres@/app_run?host=$TMP&port=$PORT&sslmode=disable"
# twofactl_audit as twofactl creates it on PostgreSQL (src/db/migrate.rs).
AUDIT_DDL="CREATE TABLE twofactl_audit (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, time bigint NOT NULL, os_user text NOT NULL, actor text, action text NOT NULL, user_id text, username text NOT NULL, reason text, outcome text NOT NULL, changed integer NOT NULL DEFAULT 0, detail text);
CREATE INDEX twofactl_audit_changes ON twofactl_audit (user_id, time) WHERE changed = 1;"
# A user's 2FA is set as twofactl reads it (App::state_sql): a secret, not empty.
HAS_2FA="u.totp_secret IS NOT NULL AND u.totp_secret <> ''"
# The users reset: the first R by id.
RSET="SELECT id FROM users ORDER BY id LIMIT $RESET"
HAD_2FA=0 OTHERS_SET=0 SESS_KEPT=0 SESS_AFTER=0 AUDIT_SUM=

# make_base: app_base = the N-user database app plus one session per user (no twofactl
# tables), the list file and the psql script; what a reset must leave, read from it.
make_base() {
    local t0 t1 got own
    t0=${EPOCHREALTIME//[!0-9]/}
    "${PSQL[@]}" -d postgres -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS app_base WITH (FORCE)' \
        -c 'CREATE DATABASE app_base TEMPLATE app' >/dev/null
    "${PSQL[@]}" -d app_base >/dev/null <<EOF
INSERT INTO sessions (id, user_id, last_seen) SELECT md5('session' || id), id, now() FROM users;
VACUUM ANALYZE;
EOF
    own=$("${PSQL[@]}" -d app_base -Atc "SELECT count(*) FROM pg_class WHERE relname LIKE 'twofactl%'")
    (( own == 0 )) || die "app_base has twofactl tables already ($own)"
    "${PSQL[@]}" -d app_base -Atc "SELECT u.username FROM users u ORDER BY u.id LIMIT $RESET" >"$LIST"
    got=$(wc -l <"$LIST")
    (( got == RESET )) || die "only $got users for --reset $RESET"
    read -r HAD_2FA OTHERS_SET SESS_KEPT SESS_AFTER <<<"$("${PSQL[@]}" -d app_base -At -F ' ' -c "
        SELECT (SELECT count(*) FROM users u WHERE u.id IN ($RSET) AND $HAS_2FA),
               (SELECT count(*) FROM users u WHERE u.id NOT IN ($RSET) AND (u.totp_secret IS NOT NULL OR u.totp_enabled)),
               (SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.id IN ($RSET) AND NOT ($HAS_2FA)),
               (SELECT count(*) FROM sessions) - (SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.id IN ($RSET) AND $HAS_2FA)")"
    # No connection (autovacuum's either) may be open on a template being copied.
    "${PSQL[@]}" -d postgres -c 'ALTER DATABASE app_base ALLOW_CONNECTIONS false' >/dev/null
    # The reference as a DBA would write it, doing what twofactl does: the names copied in
    # and analyzed, the users looked up once (with the logins a reset ends, which twofactl
    # reports), then locked, audited, their sessions deleted and their 2FA cleared, and each
    # user's result printed in list order (as twofactl prints it).
    cat >"$RESET_SQL" <<EOF
CREATE TEMP TABLE names (seq bigserial, name text);
\\copy names (name) FROM '$LIST'
ANALYZE names;
CREATE TEMP TABLE t AS SELECT n.seq, u.id, u.username, ($HAS_2FA) AS has,
    CASE WHEN $HAS_2FA THEN (SELECT count(*) FROM sessions s WHERE s.user_id = u.id) ELSE 0 END AS sessions
    FROM names n JOIN users u ON u.username = n.name;
ANALYZE t;
SELECT count(*) AS locked FROM (SELECT 1 FROM users u WHERE u.id IN (SELECT id FROM t)
    ORDER BY u.id FOR UPDATE OF u) l;
$AUDIT_DDL
INSERT INTO twofactl_audit (time, os_user, action, user_id, username, reason, outcome, changed, detail)
SELECT extract(epoch FROM now())::bigint, 'bench', 'admin-reset', t.id::text, t.username, 'bench',
       CASE WHEN has THEN 'reset' ELSE 'already_clear' END, CASE WHEN has THEN 1 ELSE 0 END,
       CASE WHEN has THEN 'user not notified (--no-notify)' END
FROM t ORDER BY t.seq;
DELETE FROM sessions WHERE user_id IN (SELECT id FROM t WHERE has);
UPDATE users SET totp_secret = NULL, totp_enabled = false WHERE id IN (SELECT id FROM t WHERE has);
\\pset format csv
SELECT username, CASE WHEN has THEN 'reset' ELSE 'already_clear' END AS outcome,
       sessions AS sessions_revoked FROM t ORDER BY seq;
EOF
    t1=${EPOCHREALTIME//[!0-9]/}
    say "made app_base ($USERS users, $USERS sessions) and the list of $RESET users ($HAD_2FA with 2FA set) in $(( (t1 - t0) / 1000 )) ms"
}

# fresh_run: app_run as app_base (not timed).
fresh_run() {
    "${PSQL[@]}" -d postgres -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS app_run WITH (FORCE)' \
        -c 'CREATE DATABASE app_run TEMPLATE app_base' -c 'CHECKPOINT' >/dev/null
}

reset_cmd() { # reset_cmd NAME
    case $1 in
        twofactl) run_timed /dev/null "$BIN" --db "$RUN_URL" admin-reset --from-file "$LIST" \
            --allow-admin --reason bench --yes --no-notify ;;
        psql) run_timed /dev/null "${PSQL[@]}" -d app_run --single-transaction -f "$RESET_SQL" ;;
    esac
}

# check_reset WHO: the R users' 2FA clear and nobody else's changed, the sessions of those
# reset gone and no other, R audit rows, the same (but for time and os_user) as the first
# run's.
check_reset() {
    local who=$1 res cleared others sessions all audit changed sum
    res=$("${PSQL[@]}" -d app_run -At -F ' ' -c "
        SELECT (SELECT count(*) FROM users u WHERE u.id IN ($RSET) AND u.totp_secret IS NULL AND NOT u.totp_enabled),
               (SELECT count(*) FROM users u WHERE u.id NOT IN ($RSET) AND (u.totp_secret IS NOT NULL OR u.totp_enabled)),
               (SELECT count(*) FROM sessions WHERE user_id IN ($RSET)),
               (SELECT count(*) FROM sessions),
               (SELECT count(*) FROM twofactl_audit),
               (SELECT count(*) FROM twofactl_audit WHERE changed = 1),
               (SELECT md5(string_agg(concat_ws('|', action, user_id, username, reason, outcome, changed,
                    quote_nullable(detail), quote_nullable(actor)), E'\\n' ORDER BY id)) FROM twofactl_audit)") ||
        die "sanity check after $who: cannot query app_run"
    read -r cleared others sessions all audit changed sum <<<"$res"
    (( cleared == RESET )) || die "sanity check after $who: $cleared of the $RESET listed users have 2FA clear"
    (( others == OTHERS_SET )) || die "sanity check after $who: users outside the list changed ($others with 2FA set, expected $OTHERS_SET)"
    (( sessions == SESS_KEPT && all == SESS_AFTER )) ||
        die "sanity check after $who: $sessions sessions of the listed users left ($SESS_KEPT expected), $all in all ($SESS_AFTER expected)"
    (( audit == RESET && changed == HAD_2FA )) ||
        die "sanity check after $who: twofactl_audit has $audit rows, $changed of them changes (expected $RESET, $HAD_2FA)"
    if [[ -z $AUDIT_SUM ]]; then AUDIT_SUM=$sum; fi
    [[ $sum == "$AUDIT_SUM" ]] || die "sanity check after $who: its audit rows differ from the first run's"
}

if (( RESET > 0 )); then
    make_base
    say "admin-reset, $RESET users, $RUNS runs"
    for name in "${NAMES[@]}"; do   # untimed warm-up of each
        fresh_run; reset_cmd "$name"; check_reset "$name"
    done
    for (( r = 0; r < RUNS; r++ )); do
        if (( r % 2 )); then order=(psql twofactl); else order=(twofactl psql); fi
        line="admin-reset $RESET users, round $((r + 1))/$RUNS:"
        for name in "${order[@]}"; do
            fresh_run
            reset_cmd "$name"
            record "reset:$name"
            line+=" $name $(fmt_ms "$T_US") $(fmt_mib "$RSS_KB")"
            check_reset "$name"
        done
        say "$line"
    done
    "${PSQL[@]}" -d postgres -c 'DROP DATABASE IF EXISTS app_run WITH (FORCE)' >/dev/null
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then GIT_REV+=" (dirty)"; fi
report() {
    local n tf pg
    if (( RESET > 0 )); then
        echo "# twofactl benchmark: list-users and admin-reset on PostgreSQL"
    else
        echo "# twofactl benchmark: list-users on PostgreSQL"
    fi
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- git rev: $GIT_REV; twofactl: $("$BIN" --version | head -n 1)"
    echo "- machine: $(nproc) CPUs, $(grep -m1 '^model name' /proc/cpuinfo | sed 's/^.*: //'), $(uname -sr); load average $LOAD_START at start, $LOAD_END at end"
    echo "- PostgreSQL $SERVER_VERSION (a throwaway cluster, Unix socket, no TLS); psql $(psql --version | awk '{ print $3 }')"
    echo "- parameters: --users $USERS --runs $RUNS$( (( RESET == 0 )) || echo " --reset $RESET")"
    echo
    echo "Median wall time of $RUNS interleaved rounds after an untimed warm-up; ratio ="
    echo "twofactl / psql (below 1.00: twofactl faster); CPU is the client's user+sys; peak RSS"
    echo "is the client's largest \`/usr/bin/time -f %M\`."
    echo
    echo "| users | twofactl csv | psql --csv | ratio | twofactl CPU | psql CPU | twofactl peak RSS | psql peak RSS |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for n in "${SIZES[@]}"; do
        tf=$(median "${TIMES[$n:twofactl]}")
        pg=$(median "${TIMES[$n:psql]}")
        echo "| $n | $(fmt_ms "$tf") | $(fmt_ms "$pg") | $(ratio "$tf" "$pg") | $(median "${CPUS[$n:twofactl]}") s | $(median "${CPUS[$n:psql]}") s | $(fmt_mib "$(maxof "${RSSES[$n:twofactl]}")") | $(fmt_mib "$(maxof "${RSSES[$n:psql]}")") |"
    done
    echo
    echo "Target: at most psql's time at $USERS users (ratio <= 1.0), memory flat in the user count."
    echo
    echo "Commands:"
    echo
    echo "- twofactl: \`twofactl --db 'postgresql://postgres@/app?host=SOCKET&port=PORT&sslmode=disable' list-users --format csv > /dev/null\`"
    echo "- psql: \`psql -X --csv -h SOCKET -p PORT -U postgres -d app -c \"$SQL\" > /dev/null\`"
    echo
    echo "Raw wall times (ms), in run order:"
    echo
    for n in "${SIZES[@]}"; do
        echo "- $n users: twofactl $(raw "${TIMES[$n:twofactl]}"); psql $(raw "${TIMES[$n:psql]}")"
    done
    if (( RESET > 0 )); then report_reset; fi
}
report_reset() {
    local tf pg
    tf=$(median "${TIMES[reset:twofactl]}")
    pg=$(median "${TIMES[reset:psql]}")
    echo
    echo "## admin-reset --from-file on PostgreSQL"
    echo
    echo "The first $RESET users by id of the $USERS-user database, each with one session row"
    echo "($HAD_2FA of them with 2FA set: reset, sessions ended; the other $((RESET - HAD_2FA)) already clear:"
    echo "an audit row each, sessions kept, as twofactl does). Median wall time of $RUNS interleaved"
    echo "rounds after an untimed warm-up of each; every run on a fresh copy of the database"
    echo "(\`CREATE DATABASE app_run TEMPLATE app_base\` and a CHECKPOINT, not timed). Wall time"
    echo "includes the server's work; CPU is the client's user+sys; peak RSS the client's largest"
    echo "\`/usr/bin/time -f %M\`. ratio = twofactl / psql."
    echo
    echo "| users reset | twofactl admin-reset | psql, one transaction | ratio | twofactl CPU | psql CPU | twofactl peak RSS | psql peak RSS |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    echo "| $RESET | $(fmt_ms "$tf") | $(fmt_ms "$pg") | $(ratio "$tf" "$pg") | $(median "${CPUS[reset:twofactl]}") s | $(median "${CPUS[reset:psql]}") s | $(fmt_mib "$(maxof "${RSSES[reset:twofactl]}")") | $(fmt_mib "$(maxof "${RSSES[reset:psql]}")") |"
    echo
    echo "Target: ratio <= 1.2 (twofactl at most 20% slower than the set-based SQL)."
    echo
    echo "Commands:"
    echo
    echo "- twofactl: \`twofactl --db 'postgresql://postgres@/app_run?host=SOCKET&port=PORT&sslmode=disable' admin-reset --from-file LIST --allow-admin --reason bench --yes --no-notify > /dev/null\`"
    echo "  (creates its own tables, twofactl_audit among them, inside its transaction; app_base has none)"
    echo "- psql: \`psql -X -v ON_ERROR_STOP=1 -h SOCKET -p PORT -U postgres -d app_run --single-transaction -f reset.sql > /dev/null\`, reset.sql being:"
    echo
    echo '```sql'
    sed "s|'$LIST'|'LIST'|" "$RESET_SQL"
    echo '```'
    echo
    echo "Raw wall times (ms), in run order: twofactl $(raw "${TIMES[reset:twofactl]}"); psql $(raw "${TIMES[reset:psql]}")"
}
report | tee "$RESULTS"
