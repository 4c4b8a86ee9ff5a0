#!/usr/bin/env bash
# install-deps.sh - makes sure the packages the build, the demo and the tests need are present.
# As root it installs what is missing with apt-get; otherwise it names what to install and fails.
set -euo pipefail
PACKAGES=(build-essential clang libbearssl-dev strace valgrind tinyproxy curl openssl
          libcurl4-openssl-dev python3 python3-jsonschema locales)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_locale=0
locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$' || need_locale=1
if [ ${#missing[@]} -eq 0 ] && [ $need_locale -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]} $( [ $need_locale -eq 1 ] && echo 'locale de_DE.UTF-8')" >&2
    echo "install them with: sudo apt-get install ${missing[*]} (and enable de_DE.UTF-8 in /etc/locale.gen, then locale-gen)" >&2
    exit 1
fi
if [ ${#missing[@]} -ne 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
    # a locale whose decimal point is a comma, for the JSON writer's locale test
    sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' >> /etc/locale.gen
    locale-gen >/dev/null
fi
