# Sourced by the scripts: the project virtualenv (made and filled on first use) and a cargo target dir kept
# outside the clone, so a fresh checkout reuses earlier builds.
if ! command -v cargo >/dev/null; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    source "$HOME/.cargo/env"
fi
# LERC (cargo feature `lerc`) builds Esri's library from source; its bindings need libclang. PROJ (cargo feature
# `proj`) links the system library, found with pkg-config, its bindings made with libclang too.
need=""
ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' || need="libclang-dev"
dpkg -s libproj-dev >/dev/null 2>&1 || need="$need libproj-dev"
command -v pkg-config >/dev/null || need="$need pkg-config"
if [ -n "$need" ]; then
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq $need
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/geochips/target}"
VENV="${GEOCHIPS_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
source "$VENV/bin/activate"
stamp="$VENV/.requirements-dev.txt"
if ! cmp -s requirements-dev.txt "$stamp"; then
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -r requirements-dev.txt
    cp requirements-dev.txt "$stamp"
fi
