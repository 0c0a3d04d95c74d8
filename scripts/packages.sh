# Sourced by the other scripts: Debian packages for what a fresh machine lacks.
# apt_install PACKAGE... installs with apt-get (as root, or with sudo that needs no password);
# it fails quietly where there is no apt-get, and the caller says what it falls back to.
apt_install() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    command -v apt-get >/dev/null 2>&1 || return 1
    $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "$@" >/dev/null
}

# The venv module: Debian ships it apart from python3.
needs_venv_package() { ! "${PYTHON:-python3}" -c 'import ensurepip' 2>/dev/null; }
