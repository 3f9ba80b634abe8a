#!/usr/bin/env bash
# Installs what ctxlib needs from Debian's archive. Quick (no apt-get at all) when everything
# is already there. Run as root, or with sudo available.
set -euo pipefail

packages=(cmake ninja-build g++ clang ccache libgtest-dev librapidcheck-dev
          libpython3.11-dev python3.11 libasio-dev libbenchmark-dev patch)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
