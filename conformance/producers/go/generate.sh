#!/usr/bin/env bash
# Generates gen/cdcv1 and gen/subscribev1 (Go protobuf code) from proto/dolake/{cdc,subscribe}/v1 with protoc-gen-go (pinned below,
# built into ./bin from the Go module proxy) and the protoc that grpcio-tools bundles (pinned in
# test/python/requirements.txt). Reproducible: run it and `git diff --exit-code conformance/producers/go/gen`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="$(bash "$root/scripts/python-env.sh")"
wkt="$("$python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
GOBIN="$here/bin" go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
module=dolake.dev/conformance/producer
map=""
for f in cdc options value; do map="$map --go_opt=Mdolake/cdc/v1/$f.proto=$module/gen/cdcv1"; done
map="$map --go_opt=Mdolake/subscribe/v1/subscribe.proto=$module/gen/subscribev1"
rm -rf "$here/gen"
mkdir -p "$here/gen"
(cd "$root/proto" && "$python" -m grpc_tools.protoc -I. -I"$wkt" --plugin=protoc-gen-go="$here/bin/protoc-gen-go" \
  --go_out="$here" --go_opt=module=$module $map dolake/cdc/v1/*.proto dolake/subscribe/v1/*.proto)
echo "generated $here/gen"
