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
# The platform jobs (tests/port/run.sh): cross compilers, their libc, qemu-user, musl, mingw-w64,
# Cortex-M newlib, wine (64-bit and, from the i386 architecture, 32-bit: the Windows jobs run their
# programs under it); dpkg-dev for `apt-get source bearssl` (tests/port/bearssl.sh). 32-bit x86 uses
# the i686-linux-gnu cross compiler, not gcc-multilib: on bookworm gcc-multilib removes the armhf
# and s390x cross compilers. BearSSL for i386, armhf and s390x is Debian's own (multiarch
# libbearssl-dev:<arch>, a static libbearssl.a); the other targets build it from the source package.
PORT_ARCHS=(i386 armhf s390x)
PACKAGES+=(dpkg-dev qemu-user musl-tools mingw-w64 wine wine64 wine32:i386 gcc-arm-none-eabi libnewlib-arm-none-eabi
           gcc-i686-linux-gnu libc6-dev-i386-cross libbearssl-dev:i386
           gcc-arm-linux-gnueabihf libc6-dev-armhf-cross libbearssl-dev:armhf
           gcc-s390x-linux-gnu libc6-dev-s390x-cross libbearssl-dev:s390x)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# `apt-get source` needs a deb-src entry: one mirroring the deb entries, unless there is one.
have_deb_src() { grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; }
missing_archs=()
for a in "${PORT_ARCHS[@]}"; do
    dpkg --print-foreign-architectures | grep -qx "$a" || missing_archs+=("$a")
done
need_src=0
have_deb_src || need_src=1
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
if [ ${#missing[@]} -eq 0 ] && [ $need_locale -eq 0 ] && [ $need_src -eq 0 ]; then install_npm; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]} $( [ $need_locale -eq 1 ] && echo 'locales de_DE.UTF-8 ps_AF.UTF-8')" >&2
    [ ${#missing_archs[@]} -eq 0 ] || echo "first: sudo dpkg --add-architecture (each of) ${missing_archs[*]}" >&2
    [ $need_src -eq 0 ] || echo "and a deb-src line for bearssl's source package (tests/port/bearssl.sh)" >&2
    echo "install with: sudo apt-get install ${missing[*]}; sudo localedef -i de_DE -f UTF-8 de_DE.UTF-8; sudo localedef -i ps_AF -f UTF-8 ps_AF.UTF-8" >&2
    exit 1
fi
if [ $need_src -eq 1 ]; then
    for f in /etc/apt/sources.list.d/*.sources; do   # deb822 files: the same entries as deb-src
        [ -f "$f" ] && grep -q '^Types: *deb$' "$f" || continue
        sed 's/^Types: *deb$/Types: deb-src/' "$f" >"/etc/apt/sources.list.d/telemetry-src-$(basename "$f")"
    done
    if [ -f /etc/apt/sources.list ] && grep -qE '^deb ' /etc/apt/sources.list; then   # one-line format
        grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >/etc/apt/sources.list.d/telemetry-src.list
    fi
fi
for a in "${missing_archs[@]}"; do dpkg --add-architecture "$a"; done
if [ ${#missing[@]} -ne 0 ] || [ $need_src -eq 1 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
fi
if [ ${#missing[@]} -ne 0 ]; then
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi
for loc in de_DE ps_AF; do
    have_locale $loc || localedef -i $loc -f UTF-8 $loc.UTF-8
done
install_npm
