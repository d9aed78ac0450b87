#!/usr/bin/env bash
# Start a Docker engine if none answers, and wait until it does.
#
# berth's tests drive a real dockerd (Debian's docker.io, Docker 20.10,
# API 1.41). On a fresh machine none runs, so this starts one in the
# background, logging to $BERTH_DOCKERD_LOG, and waits up to
# $BERTH_DOCKERD_WAIT seconds for `docker info` to answer.
set -euo pipefail

LOG="${BERTH_DOCKERD_LOG:-/var/log/berth-dockerd.log}"
WAIT="${BERTH_DOCKERD_WAIT:-60}"

# The default bridge's link (docker0) has been seen to vanish under a running
# dockerd on these machines; every `docker run` on the default network then
# fails ("could not find bridge docker0"). dockerd recreates it at start.
bridge_missing() {
    local br
    br="$(docker network inspect -f '{{ index .Options "com.docker.network.bridge.name" }}' bridge 2>/dev/null || true)"
    [ -n "$br" ] && [ ! -e "/sys/class/net/$br" ]
}

if docker info >/dev/null 2>&1; then
    if ! bridge_missing; then
        echo "dockerd: already answering"
        exit 0
    fi
    pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "dockerd: the default bridge's link is missing and no dockerd pid to restart" >&2
        exit 1
    fi
    echo "dockerd: the default bridge's link is missing; restarting dockerd (pid $pid)"
    kill -TERM "$pid"
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "dockerd: pid $pid did not stop within 30s" >&2
        exit 1
    fi
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "dockerd: not installed (run 'make deps')" >&2
    exit 1
fi

# A socket left behind by a dockerd that died would make the new one refuse
# to start only if a process still holds it; a stale pid file does the same.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi

mkdir -p "$(dirname "$LOG")"
echo "dockerd: starting (log: $LOG)"
# setsid + nohup: the engine outlives this script and the make that ran it.
setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
pid=$!

for ((i = 0; i < WAIT; i++)); do
    if docker info >/dev/null 2>&1; then
        echo "dockerd: answering after ${i}s (pid $pid)"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "dockerd: exited during start; last lines of $LOG:" >&2
        tail -n 30 "$LOG" >&2 || true
        exit 1
    fi
    sleep 1
done

echo "dockerd: no answer after ${WAIT}s; last lines of $LOG:" >&2
tail -n 30 "$LOG" >&2 || true
exit 1
