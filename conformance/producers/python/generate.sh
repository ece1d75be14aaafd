#!/usr/bin/env bash
# Generates gen/ (Python protobuf modules) from proto/dolake/cdc/v1 and proto/dolake/subscribe/v1 with the protoc that grpcio-tools
# bundles (pinned in test/python/requirements.txt, installed by scripts/python-env.sh). Reproducible:
# run it and `git diff --exit-code conformance/producers/python/gen` shows nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="$(bash "$root/scripts/python-env.sh")"
wkt="$("$python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
rm -rf "$here/gen"
mkdir -p "$here/gen"
(cd "$root/proto" && "$python" -m grpc_tools.protoc -I. -I"$wkt" --python_out="$here/gen" --pyi_out="$here/gen" dolake/cdc/v1/*.proto dolake/subscribe/v1/*.proto)
echo "generated $here/gen"
