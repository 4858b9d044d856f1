# Shared set-up for scripts/demo and scripts/test: a project venv in .venv with treadcoach installed.
# Sourced, not run. Idempotent: re-installs only when pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

apt_install() {
    # apt_install PKG...: install Debian packages when we may (root or password-less sudo).
    command -v apt-get >/dev/null 2>&1 || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

ensure_voice() {
    # Spoken cues: the walker faces away from the screen, so the turnaround countdown reaches
    # them by ear. Without espeak-ng the cues are the terminal bell only (the app says so).
    command -v espeak-ng >/dev/null 2>&1 && return 0
    echo "==> installing espeak-ng (spoken cues)" >&2
    apt_install espeak-ng && return 0
    echo "espeak-ng could not be installed, so cues are the terminal bell only: install it with 'sudo apt-get install espeak-ng'." >&2
    return 1
}

find_python() {
    for py in python3.13 python3.12 python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$py"
            return 0
        fi
    done
    echo "treadcoach needs Python 3.11 or newer; none was found on PATH." >&2
    return 1
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(find_python)"
        echo "==> creating $VENV with $py" >&2
        if ! "$py" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            # Debian splits venv/ensurepip out of python3 itself.
            local ver
            ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt_install "python$ver-venv" || apt_install python3-venv || {
                echo "Could not create a virtualenv: install python3-venv (apt-get install python3-venv) and retry." >&2
                return 1
            }
            "$py" -m venv "$VENV"
        fi
    fi
    local stamp="$VENV/.treadcoach-installed" want
    want="$(cat "$ROOT/pyproject.toml" | cksum)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "==> installing treadcoach and its dependencies into .venv" >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[dev]"
        echo "$want" >"$stamp"
    fi
}
