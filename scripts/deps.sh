#!/usr/bin/env bash
# Install what berth's build and tests need on Debian 12, as root, when it is
# missing. Every check is cheap when everything is there already: `make test`
# runs this each time.
#
#   apt:      docker.io busybox-static chromium docker-registry docker-compose
#             apache2-utils curl ca-certificates fonts-liberation
#             (+ nodejs/npm when `node`/`npm` are missing)
#   rustup:   the wasm32-unknown-unknown target
#   cargo:    wasm-bindgen-cli (exactly the version the frontend pins)
#   npm:      binaryen (wasm-opt) into .tools/, pinned; never Debian's binaryen
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# needrestart (if present) must neither ask nor restart services mid-run.
export NEEDRESTART_SUSPEND=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
WASM_BINDGEN_VERSION="${WASM_BINDGEN_VERSION:-0.2.130}"
BINARYEN_VERSION="${BINARYEN_VERSION:-132.0.0}"
APT_PACKAGES=(docker.io busybox-static chromium docker-registry docker-compose
              apache2-utils curl ca-certificates fonts-liberation)

export PATH="$HOME/.cargo/bin:$PATH"

step_start=0
step() { step_start=$SECONDS; echo "deps: $*"; }
done_step() { echo "deps: $1 done in $((SECONDS - step_start))s"; }

# --- Debian packages -------------------------------------------------------
missing=()
while read -r pkg status; do
    [ "$status" = "installed" ] || missing+=("$pkg")
done < <(
    for p in "${APT_PACKAGES[@]}"; do
        s="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
        echo "$p ${s:-absent}"
    done
)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing Debian packages (${missing[*]}); run as root" >&2
        exit 1
    fi
    step "apt-get install ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >/dev/null
    done_step apt
fi

# --- Rust: wasm target -----------------------------------------------------
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
    done_step rustup
fi

# --- wasm-bindgen-cli (must equal the wasm-bindgen crate in Cargo.lock) ------
have="$(wasm-bindgen --version 2>/dev/null || true)"
if [ "$have" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (had: ${have:-none}; takes ~3 min)"
    # No --locked: its lockfile pins a crate version the registry here lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force --quiet
    done_step wasm-bindgen-cli
fi

# --- binaryen (wasm-opt) from npm, into .tools/ ------------------------------
# Debian's binaryen (108) miscompiles wasm-bindgen 0.2.130 output.
binaryen_pkg="$TOOLS/node_modules/binaryen/package.json"
have="$(node -p "require('$binaryen_pkg').version" 2>/dev/null || true)"
if [ "$have" != "$BINARYEN_VERSION" ] || [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
    step "npm install binaryen@$BINARYEN_VERSION into .tools/"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error \
        "binaryen@$BINARYEN_VERSION" >/dev/null
    done_step binaryen
fi

echo "deps: all present"
