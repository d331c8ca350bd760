#!/usr/bin/env bash
# compose.yaml's topology as plain processes, for a machine without Docker: `fibrocircle migrate`
# once, then PROCESSES bot processes that split SHARDS shards between them in consecutive ranges.
#
#     FIBRO_DATABASE_URL=postgresql://fibrocircle:PASSWORD@127.0.0.1:5432/fibrocircle scripts/processes.sh 2 4
#
# DISCORD_TOKEN and FIBRO_DATABASE_URL come from the environment or .env. Ctrl-C or SIGTERM stops
# every process cleanly; when one process stops by itself the others are stopped too, and the script
# exits with its status (a supervisor such as systemd then restarts the whole set).
set -euo pipefail
processes=${1:-2}
shards=${2:-4}
bin=${FIBROCIRCLE:-"$(dirname "$0")/../.venv/bin/fibrocircle"}
if ! [[ $processes =~ ^[1-9][0-9]*$ && $shards =~ ^[1-9][0-9]*$ ]] || (( shards < processes )); then
    echo "usage: $0 [PROCESSES] [SHARDS], with SHARDS at least PROCESSES (got $processes and $shards)" >&2
    exit 2
fi

"$bin" migrate

pids=()
stop() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
for ((n = 0; n < processes; n++)); do
    first=$(( n * shards / processes ))
    last=$(( (n + 1) * shards / processes - 1 ))
    echo "process $((n + 1)) of $processes: shards $first-$last of $shards"
    FIBRO_SHARD_COUNT=$shards FIBRO_SHARD_IDS=$first-$last "$bin" run &
    pids+=($!)
done
status=0
wait -n "${pids[@]}" || status=$?
echo "a bot process stopped (status $status): stopping the others" >&2
stop
exit "$status"
