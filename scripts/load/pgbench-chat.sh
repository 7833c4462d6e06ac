#!/usr/bin/env bash
# The physical limit of the chat path: what PostgreSQL itself sustains on this machine for the
# statements of one chat message (scripts/load/pgbench/chat-path.sql: auth read, access read, the
# seq-bump + INSERT statement, the sent/delivered/read status updates), with as many connections as
# the server's postgres.js pool (10 by default, db/client.ts). One pgbench transaction = one message,
# so pgbench's tps is the ceiling of `bun scripts/load --scenarios chat --chat-db postgres` in
# messages/s. Compare the two from runs taken close together; the load average is recorded.
#
# Usage: scripts/load/pgbench-chat.sh [-c CLIENTS] [-T SECONDS] [-R RATE] [-o OUT_DIR] [--quick] [--keep]
#   -c  connections (default 10, the server's pool size)     -T  seconds (default 30, quick 5)
#   -R  offered messages/s instead of as fast as possible (pgbench --rate: latency at that rate)
#   -o  results folder (default bench/results): writes pgbench-chat-<time>.txt there
#   --keep  leave the database in place (to inspect the messages; drop it with setup.ts --drop)
# Env: TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); a throw-away database
# (PGBENCH_DATABASE, default switchboard_pgbench) is created next to it and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

clients=10 seconds=30 rate="" out=bench/results keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    -c) clients=$2; shift 2 ;;
    -T) seconds=$2; shift 2 ;;
    -R) rate=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    --quick) seconds=5; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v pgbench >/dev/null || { echo "pgbench not found (Debian: apt-get install postgresql-contrib)" >&2; exit 1; }

# The script pgbench runs: chat-path.sql with the app's own accept and sent statements put in.
script=$(mktemp --suffix=.sql)
trap 'rm -f "$script"' EXIT
bun scripts/load/pgbench/render.ts > "$script"
eval "$(bun scripts/load/pgbench/setup.ts)"
[ -n "$keep" ] || trap 'rm -f "$script"; bun scripts/load/pgbench/setup.ts --drop >/dev/null 2>&1 || true' EXIT

mkdir -p "$out"
file="$out/pgbench-chat-$(date -u +%Y-%m-%dT%H-%M-%S).txt"
{
  echo "# pgbench of the chat path: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# command: scripts/load/pgbench-chat.sh -c $clients -T $seconds${rate:+ -R $rate}"
  echo "# commit: $(git rev-parse --short HEAD)$(git status --porcelain -- scripts/load/pgbench src/services/accept-message.ts src/outbox/store-sent.ts | grep -q . && echo +uncommitted)"
  echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
  echo "# server: $(psql "$DB_URL" -Atc 'select version()')"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$file"
# -M prepared: named prepared statements, as postgres.js runs drizzle's; -r: latency per statement.
pgbench -n -M prepared -r -c "$clients" -j 1 -T "$seconds" ${rate:+--rate "$rate"} \
  -f "$script" \
  -D user_id="$USER_ID" -D org_id="$ORG_ID" -D conversation_id="$CONVERSATION_ID" \
  "$DB_URL" 2>&1 | tee -a "$file"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$file"
echo "written $file" >&2
