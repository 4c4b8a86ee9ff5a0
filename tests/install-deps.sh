#!/usr/bin/env bash
# install-deps.sh - makes sure the packages the build, the demo and the tests need are present.
# As root it installs what is missing with apt-get; otherwise it names what to install and fails.
set -euo pipefail
PACKAGES=(build-essential clang libclang-rt-14-dev libbearssl-dev strace valgrind tinyproxy curl openssl
          libcurl4-openssl-dev libcjson-dev python3 python3-jsonschema locales binutils file
          nodejs chromium imagemagick cmake pkg-config bsdutils)
cd "$(dirname "$0")/.."
# some nodejs builds bring npm along; Debian's own nodejs needs the npm package
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# locales whose decimal point is not '.', for the JSON writer's locale tests: a comma (de_DE)
# and a two-byte U+066B (ps_AF)
have_locale() { locale -a 2>/dev/null | grep -qi "^$1\.utf-\?8\$"; }
need_locale=0
have_locale de_DE || need_locale=1
have_locale ps_AF || need_locale=1
# targaryen (the Firebase rules simulator) in tests/node_modules, from tests/package.json
need_npm=0
[ -f tests/node_modules/targaryen/package.json ] || need_npm=1
install_npm() {
    if [ $need_npm -eq 1 ]; then
        echo "installing the npm test tools into tests/node_modules"
        (cd tests && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
    fi
}
if [ ${#missing[@]} -eq 0 ] && [ $need_locale -eq 0 ]; then install_npm; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]} $( [ $need_locale -eq 1 ] && echo 'locales de_DE.UTF-8 ps_AF.UTF-8')" >&2
    echo "install with: sudo apt-get install ${missing[*]}; sudo localedef -i de_DE -f UTF-8 de_DE.UTF-8; sudo localedef -i ps_AF -f UTF-8 ps_AF.UTF-8" >&2
    exit 1
fi
if [ ${#missing[@]} -ne 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for loc in de_DE ps_AF; do
    have_locale $loc || localedef -i $loc -f UTF-8 $loc.UTF-8
done
install_npm
