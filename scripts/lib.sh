# Shared by scripts/demo and scripts/test: install what is missing, say what is done.

# Each line says how long the script has run, so a log shows where the time went.
say() { printf '\033[1m==> %s\033[0m (%ss)\n' "$*" "$SECONDS" >&2; }

# ensure_packages PKG...: installs the Debian packages that are not installed yet.
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building needs: a C compiler for the bundled SQLite and AWS-LC, and
# pkg-config and the headers of tpm2-tss for the TPM key store (cargo feature
# `tpm`, on by default: libtss2-dev, which brings the TCTIs: device, swtpm, mssim).
BUILD_PACKAGES=(gcc make pkg-config libtss2-dev)

ensure_cargo() {
    if ! command -v cargo >/dev/null; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null || { echo "error: cargo (the Rust toolchain) is required; install it with rustup" >&2; exit 1; }
}
