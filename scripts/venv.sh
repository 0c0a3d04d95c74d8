# Sourced by the other scripts: create .venv and install the package with the given extras.
# Usage: . scripts/venv.sh EXTRAS   (e.g. "sim" or "test,bench,fuzz")
#
# pip runs only when needed: a stamp keyed on pyproject.toml's hash lists the extras already
# installed (the package itself is editable, so changes to its code need no reinstall).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    . scripts/packages.sh
    if needs_venv_package && ! apt_install python3-venv; then
        echo "scripts/venv.sh: $PY has no venv module and apt-get could not install" \
            "python3-venv" >&2
    fi
    "$PY" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
wanted=$(tr ',' '\n' <<<"$1" | sed '/^$/d' | sort -u)
missing=$wanted
if [ -f "$stamp" ] && [ -x .venv/bin/nm28 ]; then
    missing=$(comm -23 <(echo "$wanted") <(sort -u "$stamp"))
fi
if [ -n "$missing" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$1]"
    find .venv -maxdepth 1 -name '.installed-*' ! -path "$stamp" -delete
    { [ -f "$stamp" ] && cat "$stamp"; echo "$wanted"; } | sort -u >"$stamp.new"
    mv "$stamp.new" "$stamp"
fi
