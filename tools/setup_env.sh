#!/usr/bin/env bash
# Create (or check) the project's virtualenv at .venv with the verified OpenMMLab stack.
#
# Idempotent: when .venv already holds a stack built from the current requirements, this takes
# seconds. Usage: bash tools/setup_env.sh   (PYTHON=python3.11 to choose the interpreter)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.softgate-stack"
cd "$ROOT"

log() { printf '[setup_env] %s\n' "$*"; }
die() { printf '[setup_env] ERROR: %s\n' "$*" >&2; exit 1; }

# Everything that decides the stack's content goes into the stamp.
want_stamp="$(cat tools/setup_env.sh setup.py requirements/*.txt | sha256sum | cut -d' ' -f1)"

if [[ ! -x "$VENV/bin/python" ]]; then
    # torch 2.13 needs Python >= 3.10; numpy < 2 (xtcocotools) has no wheels after 3.12.
    "$PYTHON" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' ||
        die "$PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())'); \
the stack needs Python 3.10-3.12 (torch 2.13 needs >= 3.10, numpy < 2 has no wheels for 3.13). \
Choose one with PYTHON=python3.11."
    log "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] &&
    "$PY" -c 'import mmcv.ops, mmpose.models, onnxruntime, openvino, softgate_mmpose' \
        2>/dev/null; then
    log "environment up to date ($VENV)"
    exit 0
fi
start=$SECONDS

# --- torch / torchvision ----------------------------------------------------------------------
# Keep a torch/torchvision pair that is already there (e.g. a user's CUDA build), as long as
# mmcv 2.1 can compile against it: torch >= 2.14 headers need C++20, mmcv 2.1 builds with C++17.
torch_ver="$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || true)"
if [[ -n "$torch_ver" ]]; then
    if ! "$PY" - "$torch_ver" <<'EOF'
import sys
major, minor = (int(p) for p in sys.argv[1].split('+')[0].split('.')[:2])
sys.exit(0 if (major, minor) < (2, 14) else 1)
EOF
    then
        die "torch $torch_ver is installed in $VENV, but mmcv 2.1.0 cannot be compiled against \
torch >= 2.14 (its headers need C++20 and mmcv 2.1 builds with C++17). Install torch 2.13.0 \
(e.g. 'pip install torch===2.13.0 torchvision==0.28.0') into $VENV, or remove $VENV."
    fi
fi
if [[ -n "$torch_ver" ]] && "$PY" -c 'import torchvision' 2>/dev/null; then
    log "keeping torch $torch_ver with its torchvision"
else
    # '===' pins the exact version string: the registry's build, not a local '+cpu' wheel,
    # which has no importable torchvision to pair with.
    log "installing torch 2.13.0 + torchvision 0.28.0"
    # Constrained by runtime.txt so that pip does not fetch numpy 2 first and downgrade it later.
    "${PIP[@]}" install 'torch===2.13.0' 'torchvision==0.28.0' -c requirements/runtime.txt
fi

# --- build tools, mmengine, runtime dependencies ----------------------------------------------
"${PIP[@]}" install -r requirements/build.txt
"${PIP[@]}" install 'mmengine==0.10.7' -r requirements/runtime.txt -r requirements/tests.txt

# --- mmcv 2.1.0 with compiled ops (pip caches the built wheel) ----------------------------------
if "$PY" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; then
    log "mmcv 2.1.0 with ops already installed"
else
    log "building mmcv 2.1.0 with ops (about 10-13 min on 2 cores; the wheel is cached afterwards)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PIP[@]}" install --no-build-isolation 'mmcv==2.1.0'
fi

# --- mmpose / mmdet without their unbuildable dependency (chumpy) -------------------------------
"${PIP[@]}" install --no-deps 'mmpose==1.3.2' 'mmdet==3.3.0'
"${PIP[@]}" install --no-deps --no-build-isolation -e .

# The verified stack, checked once here rather than in the tests: the pinned versions, numpy 1
# (xtcocotools and ml_dtypes 0.5 are built for it) and everything importing together.
"$PY" - <<'EOF' || die "the installed stack does not import or has wrong versions; see above"
import mmcv, mmcv.ops, mmdet, mmdet.apis, mmengine, mmpose, mmpose.apis, mmpose.models
import numpy, onnx, onnxruntime, openvino, torch
import softgate_mmpose

pins = dict(mmcv='2.1.0', mmengine='0.10.7', mmpose='1.3.2', mmdet='3.3.0')
wrong = [f'{name} {__import__(name).__version__} (want {version})'
         for name, version in pins.items() if __import__(name).__version__ != version]
if int(numpy.__version__.split('.')[0]) >= 2:
    wrong.append(f'numpy {numpy.__version__} (want < 2)')
if wrong:
    raise SystemExit('wrong versions: ' + ', '.join(wrong))
print(f'[setup_env] torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine '
      f'{mmengine.__version__}, mmpose {mmpose.__version__}, mmdet {mmdet.__version__}, numpy '
      f'{numpy.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, '
      f'openvino {openvino.__version__}')
EOF
echo "$want_stamp" > "$STAMP"
log "environment ready in $((SECONDS - start)) s ($VENV)"
