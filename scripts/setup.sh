#!/usr/bin/env bash
# Installs the Debian packages pgshard needs to build and test, if any are missing, and puts
# Swift on PATH. Sourced by demo.sh and test.sh.
set -euo pipefail

PGSHARD_PACKAGES=(libpq-dev libpg-query-dev libssl-dev pkg-config postgresql postgresql-client)

missing=()
for package in "${PGSHARD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "pgshard: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
        [ -x "$candidate/swift" ] && export PATH="$candidate:$PATH" && break
    done
fi
command -v swift >/dev/null 2>&1 || { echo "pgshard: Swift 6 is required (https://swift.org/install)" >&2; exit 1; }

# Debian's postgresql package starts a cluster of its own on 5432; pgshard does not need it.
# The PostgreSQL server binaries live here; LocalCluster also finds them by itself.
export PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
