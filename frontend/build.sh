#!/usr/bin/env bash
# Builds the dashboard into frontend/dist: the WASM app and its JS glue
# (wasm-bindgen), the static files, and a gzip -9 copy beside each text and
# wasm file for the server to send as is.
#
#   bash frontend/build.sh            (from any directory)
#   WASM_OPT=/path/to/wasm-opt bash frontend/build.sh
#
# WASM_OPT must be binaryen from npm (version 132 works); Debian's wasm-opt
# 108 miscompiles wasm-bindgen 0.2.130 output. Without it the step is skipped.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
dist="$here/dist"

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "build.sh: $1 not found. $2" >&2
        exit 1
    }
}
need cargo "Install Rust with rustup."
need wasm-bindgen "Run: cargo install wasm-bindgen-cli --version 0.2.130"
need gzip "Install gzip."

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
want="$(grep -A1 '^name = "wasm-bindgen"$' "$root/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')"
have="$(wasm-bindgen --version | awk '{print $2}')"
if [[ -n "$want" && "$want" != "$have" ]]; then
    echo "build.sh: wasm-bindgen CLI is $have but Cargo.lock has $want." >&2
    echo "Run: cargo install wasm-bindgen-cli --version $want" >&2
    exit 1
fi

cd "$root"
# Not stripped: wasm-bindgen reads the target_features section, and drops
# the names and debug info itself.
cargo build --profile wasm-release --target wasm32-unknown-unknown -p frontend \
    --config 'profile.wasm-release.strip=false'
wasm="$target_dir/wasm32-unknown-unknown/wasm-release/frontend.wasm"

rm -rf "$dist"
mkdir -p "$dist/pkg"
wasm-bindgen --target web --no-typescript \
    --remove-name-section --remove-producers-section \
    --out-dir "$dist/pkg" "$wasm"

# wasm-opt shrinks the raw file, but its output does not always gzip
# smaller than rustc's; the server sends the .gz, so the smaller .gz wins.
if [[ -n "${WASM_OPT:-}" ]]; then
    if [[ -x "$WASM_OPT" ]]; then
        pkg="$dist/pkg"
        "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
            --enable-sign-ext --enable-mutable-globals --enable-reference-types \
            --enable-multivalue \
            -o "$pkg/frontend_bg.opt.wasm" "$pkg/frontend_bg.wasm"
        plain_gz="$(gzip -9 -c -n "$pkg/frontend_bg.wasm" | wc -c)"
        opt_gz="$(gzip -9 -c -n "$pkg/frontend_bg.opt.wasm" | wc -c)"
        if ((opt_gz < plain_gz)); then
            mv "$pkg/frontend_bg.opt.wasm" "$pkg/frontend_bg.wasm"
            echo "build.sh: wasm-opt kept ($plain_gz -> $opt_gz bytes gzipped)"
        else
            rm "$pkg/frontend_bg.opt.wasm"
            echo "build.sh: wasm-opt output dropped: it gzips larger ($opt_gz vs $plain_gz bytes)"
        fi
    else
        echo "build.sh: WASM_OPT=$WASM_OPT is not executable; skipping wasm-opt" >&2
    fi
fi

cp -R "$here/static/." "$dist/"
# xterm.js's stylesheet (the terminal tab); its ES modules reach pkg/snippets/
# through wasm-bindgen. Both are vendored in js/vendor/ (see js/package.json).
cp "$here/js/vendor/xterm.css" "$dist/xterm.css"

find "$dist" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' -o -name '*.css' -o -name '*.html' \) \
    -exec gzip -9 -k -f -n {} \;

wasm_size="$(wc -c <"$dist/pkg/frontend_bg.wasm")"
gz_size="$(wc -c <"$dist/pkg/frontend_bg.wasm.gz")"
echo "frontend: dist/pkg/frontend_bg.wasm $((wasm_size / 1024)) KiB, gzipped $((gz_size / 1024)) KiB"
