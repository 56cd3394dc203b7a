#!/usr/bin/env bash
# Set up (see setup.sh) and start the app on http://127.0.0.1:8501 (loopback only), served
# through serve.py, which refuses foreign-origin websockets before Streamlit looks anything up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run serve.py "$@"
