#!/usr/bin/env bash
# Install what the interop scenario (molecule/interop) runs on the controller,
# each part only when it is missing or its manifest changed:
#   - the Python servers and clients, pinned in tests/interop/requirements.txt,
#     into a venv of their own (build/venvs/interop, tools/tool-venv.sh);
#   - the Node servers and clients, from tests/interop/package-lock.json
#     (`npm ci` into build/interop/node; Debian's nodejs and npm when there is no node);
#   - the Go server, built offline from Debian's golang-go and
#     golang-github-gorilla-websocket-dev (no module download) into build/interop/go-server.
# A second run checks the stamps and takes a second or two. Prints what the
# tests need as KEY=VALUE lines on stdout.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
interop="${root}/tests/interop"
out="${root}/build/interop"
mkdir -p "$out"

apt_install() {  # Debian packages, with one `apt-get update` only when the lists are too old to have them
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    fi
}

stamp_differs() {  # STAMP WANT: true when the stamp file does not hold WANT
    [ "$(cat "$1" 2>/dev/null)" != "$2" ]
}

venv="$(bash "${root}/tools/tool-venv.sh" interop "${interop}/requirements.txt")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "ensure-interop: installing Debian's nodejs and npm" >&2
    apt_install nodejs npm
fi
node_dir="${out}/node"
want="$(cat "${interop}/package.json" "${interop}/package-lock.json" | sha256sum | cut -d' ' -f1)"
if stamp_differs "${node_dir}/.stamp" "$want" || [ ! -d "${node_dir}/node_modules" ]; then
    echo "ensure-interop: npm ci into build/interop/node" >&2
    rm -rf "$node_dir"
    mkdir -p "$node_dir"
    cp "${interop}/package.json" "${interop}/package-lock.json" "$node_dir/"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$want" >"${node_dir}/.stamp"
fi

gorilla=/usr/share/gocode/src/github.com/gorilla/websocket
if ! command -v go >/dev/null 2>&1 || [ ! -d "$gorilla" ]; then
    echo "ensure-interop: installing Debian's golang-go and golang-github-gorilla-websocket-dev" >&2
    apt_install golang-go golang-github-gorilla-websocket-dev
fi
go_server="${out}/go-server"
want="$( (go version; cat "${interop}/servers/go/main.go") | sha256sum | cut -d' ' -f1)"
if stamp_differs "${go_server}.stamp" "$want" || [ ! -x "$go_server" ]; then
    echo "ensure-interop: building build/interop/go-server" >&2
    (cd "${interop}/servers/go" && GOPATH=/usr/share/gocode GO111MODULE=off \
        GOCACHE="${out}/go-cache" go build -o "$go_server" main.go)
    echo "$want" >"${go_server}.stamp"
fi

echo "python=${venv}/bin/python"
echo "bin=${venv}/bin"
echo "node_path=${node_dir}/node_modules"
echo "go_server=${go_server}"
