#!/usr/bin/env bash
# Fuzz berth's API with schemathesis, aimed by berth's own OpenAPI document.
#
#   scripts/fuzz.sh short   a few hundred requests, under 3 minutes (`make test`)
#   scripts/fuzz.sh long    at least 5,000 generated requests (`make fuzz`)
#
# Starts a berth of its own (the debug binary, a temporary data dir, the real
# engine on /var/run/docker.sock, a free port), sets it up (the setup token
# from its stdout), adds a viewer granted `local`, makes an API token for the
# admin and for the viewer, checks the document with openapi-spec-validator,
# then runs schemathesis as each of them with the checks
# not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance. Prints the figures (requests, 5xx, schema
# failures) and exits non-zero when a check failed.
#
# Everything the run made on the engine is removed at the end: the fuzzed
# berth's audit log names each network, volume, container, tag and stack it
# created, and only those (never a name that existed before the run) go.
#
# schemathesis and openapi-spec-validator are installed, pinned, in a venv
# ($BERTH_FUZZ_VENV, by default under the cargo target dir) when missing.
set -euo pipefail

MODE="${1:-short}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${BERTH_FUZZ_VENV:-$TARGET_DIR/fuzz-venv}"
SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
DOCKER_HOST_URL="${BERTH_FUZZ_DOCKER_HOST:-unix:///var/run/docker.sock}"

case "$MODE" in
    # Per operation and role; the coverage phase adds its own cases.
    short) EXAMPLES=2; PHASES=examples,fuzzing; TIME=() ;;
    # The fuzzing phase repeats until the time is spent.
    long) EXAMPLES=40; PHASES=examples,coverage,fuzzing; TIME=(--max-time 420) ;;
    *) echo "usage: $0 [short|long]" >&2; exit 2 ;;
esac

# Routes left out, each for what it would do to the shared machine:
EXCLUDE=(
    # removes every unused volume of the shared engine; it takes no filter
    --exclude-operation-id volume.prune
    # removes dangling (or, with all=true, every unused) image of the shared engine
    --exclude-operation-id image.prune
    # would end the fuzz session mid-run (sign-out, or revoking its own token)
    --exclude-operation-id auth.logout
    --exclude-operation-id token.delete
)

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null | grep -o '[0-9.]*$')" != "$SCHEMATHESIS_VERSION" ]; then
    echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION"
fi
PY="$VENV/bin/python"

BIN="${BERTH_FUZZ_BIN:-$TARGET_DIR/debug/berth}"
cargo build -q -p berth
WORK="$(mktemp -d)"
# The runs' event logs stay here for a look afterwards.
REPORTS="$TARGET_DIR/fuzz-reports"
mkdir -p "$REPORTS"
BERTH_PID=""
cleanup_run() {
    if [ -n "$BERTH_PID" ]; then
        kill "$BERTH_PID" 2>/dev/null || true
        wait "$BERTH_PID" 2>/dev/null || true
    fi
    cp "$WORK/berth.log" "$REPORTS/berth.log" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup_run EXIT

PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
mkdir -p "$WORK/data"
# Each fuzzed request comes "through a proxy" from an address of its own
# (hooks below): the invalid-token throttle stays on, but keyed by address
# it does not turn the whole run into 429s.
"$BIN" serve --trusted-proxies 127.0.0.1 --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && grep -q 'setup token:' "$WORK/berth.log" && break
    sleep 0.2
done
SETUP_TOKEN="$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/berth.log" | grep -o 'setup token: *[^ ]*' | head -1 | sed 's/setup token: *//')"
[ -n "$SETUP_TOKEN" ] || { echo "fuzz: berth did not start" >&2; cat "$WORK/berth.log" >&2; exit 1; }

PASS="fuzz-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
json() { "$PY" -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }
field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
call() { # call METHOD PATH JAR [BODY]
    curl -fsS -X "$1" -b "$3" -c "$3" -H 'content-type: application/json' \
        ${4:+--data "$4"} "$URL$2"
}

call POST /api/v1/setup "$WORK/admin.jar" "$(json token "$SETUP_TOKEN" username fuzzadmin password "$PASS")" >/dev/null
call POST /api/v1/users "$WORK/admin.jar" \
    "$("$PY" -c 'import json,sys; print(json.dumps({"username":"fuzzviewer","password":sys.argv[1],"role":"viewer"}))' "$PASS")" >/dev/null
call PUT /api/v1/endpoints/local/access "$WORK/admin.jar" \
    '{"grants":[{"user":"fuzzviewer","role":"viewer"}]}' >/dev/null
call POST /api/v1/auth/login "$WORK/viewer.jar" "$(json username fuzzviewer password "$PASS")" >/dev/null
ADMIN_TOKEN="$(call POST /api/v1/tokens "$WORK/admin.jar" '{"name":"fuzz"}' | field token)"
VIEWER_TOKEN="$(call POST /api/v1/tokens "$WORK/viewer.jar" '{"name":"fuzz"}' | field token)"

curl -fsS "$URL/api/v1/openapi.json" >"$WORK/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json"

# Names on the engine before the run: never removed by the cleanup.
docker_names() {
    {
        docker ps -a --format '{{.Names}}'
        docker network ls --format '{{.Name}}'
        docker volume ls --format '{{.Name}}'
        docker image ls --format '{{.Repository}}:{{.Tag}}'
    } 2>/dev/null | sort -u
}
docker_names >"$WORK/before.txt"

# Removes what the fuzzed berth created, as its audit log names it.
cleanup_engine() {
    # The admin's session cookie, not its token: the fuzzed calls may
    # have changed the token's owner. One query per action: the log holds
    # far more fuzzed refusals than one page.
    local action
    echo '[]' >"$WORK/audit.json"
    for action in network.create volume.create container.create container.create_from_command \
        container.recreate image.tag image.build stack.up stack.create stack.adopt; do
        curl -fsS -b "$WORK/admin.jar" -H "x-forwarded-for: 10.255.255.1" \
            "$URL/api/v1/audit?action=$action&limit=1000" >"$WORK/audit-$action.json" 2>/dev/null || continue
        "$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); a+=json.load(open(sys.argv[2])); json.dump(a,open(sys.argv[1],"w"))' \
            "$WORK/audit.json" "$WORK/audit-$action.json" || true
    done
    "$PY" - "$WORK/audit.json" "$WORK/before.txt" >"$WORK/leftovers.txt" <<'EOF' || return 0
import json, re, sys
rows = json.load(open(sys.argv[1]))
before = set(open(sys.argv[2]).read().split())
kinds = {"network.create": "network", "volume.create": "volume",
         "container.create": "container", "container.create_from_command": "container",
         "container.recreate": "container"}
for r in rows:
    if r.get("outcome") != "ok":
        continue
    a, t = r["action"], r["target"]
    name = None
    if a in kinds and " " in t:
        kind, name = kinds[a], t.split(" ", 1)[1]
    elif a == "image.tag" and " -> " in t:
        kind, name = "image", t.split(" -> ", 1)[1]
    elif a == "image.build" and t.startswith("image build ") and "(untagged)" not in t:
        kind, name = "image", t[len("image build "):]
    elif a in ("stack.up", "stack.create", "stack.adopt") and t.startswith("stack "):
        kind, name = "project", t.split(" ")[1]
    if name and name not in before:
        print(kind, name)
EOF
    while read -r kind name; do
        case "$kind" in
            container) docker rm -f -- "$name" >/dev/null 2>&1 || true ;;
            network) docker network rm -- "$name" >/dev/null 2>&1 || true ;;
            volume) docker volume rm -f -- "$name" >/dev/null 2>&1 || true ;;
            image) docker image rm -- "$name" >/dev/null 2>&1 || true ;;
            project)
                docker ps -aq --filter "label=com.docker.compose.project=$name" | xargs -r docker rm -f >/dev/null 2>&1 || true
                docker network ls -q --filter "label=com.docker.compose.project=$name" | xargs -r docker network rm >/dev/null 2>&1 || true
                docker volume ls -q --filter "label=com.docker.compose.project=$name" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
                ;;
        esac
    done <"$WORK/leftovers.txt"
    echo "fuzz: removed $(wc -l <"$WORK/leftovers.txt") object(s) the run created"
}
trap 'cleanup_engine; cleanup_run' EXIT

mkdir -p "$WORK/hooks"
cat >"$WORK/hooks/berth_fuzz_hooks.py" <<'HOOKS'
"""Tar bodies sent as the bytes generated; each call from its own address."""
import itertools

import schemathesis
from schemathesis.transport.requests import binary_serializer

schemathesis.serializer("application/x-tar")(binary_serializer)


ADDRESSES = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    n = next(ADDRESSES) % (1 << 24)
    address = "10.%d.%d.%d" % (n >> 16, (n >> 8) & 255, n & 255)
    case.headers = {**(case.headers or {}), "X-Forwarded-For": address}
HOOKS
export PYTHONPATH="$WORK/hooks" SCHEMATHESIS_HOOKS=berth_fuzz_hooks

run_as() { # run_as ROLE TOKEN
    local role="$1" token="$2" rc=0
    echo "==== fuzz: as $role ($MODE) ===="
    # From the temporary dir: schemathesis keeps its cache in the current one.
    (cd "$WORK" && "$VENV/bin/schemathesis" run "$WORK/openapi.json" --url "$URL" \
        -H "Authorization: Bearer $token" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --phases "$PHASES" --max-examples "$EXAMPLES" "${TIME[@]}" \
        --request-timeout 20 --workers 2 --no-shrink --seed 11 \
        --suppress-health-check all --warnings off \
        --report ndjson --report-ndjson-path "$REPORTS/$role.ndjson" \
        "${EXCLUDE[@]}") || rc=$?
    return "$rc"
}

status=0
# The viewer first: the admin's run may change or remove the viewer.
run_as viewer "$VIEWER_TOKEN" || status=1
run_as admin "$ADMIN_TOKEN" || status=1

# The figures, from the runs' event logs.
"$PY" - "$REPORTS/admin.ndjson" "$REPORTS/viewer.ndjson" <<'EOF' || true
import json, sys
CHECKS = {"not_a_server_error", "status_code_conformance",
          "content_type_conformance", "response_schema_conformance"}
requests = server_errors = schema = failures = 0
for path in sys.argv[1:]:
    try:
        lines = open(path)
    except OSError:
        continue
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        def walk(v):
            global requests, server_errors, schema, failures
            if isinstance(v, dict):
                resp = v.get("response")
                if isinstance(resp, dict) and "status_code" in resp:
                    requests += 1
                    if resp["status_code"] >= 500:
                        server_errors += 1
                name = v.get("name")
                if isinstance(name, str) and name in CHECKS and v.get("status") == "failure":
                    failures += 1
                    if v["name"] == "response_schema_conformance":
                        schema += 1
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(ev)
print(f"fuzz figures: {requests} requests, {server_errors} 5xx, {schema} schema failures, {failures} failed checks")
EOF
exit "$status"
