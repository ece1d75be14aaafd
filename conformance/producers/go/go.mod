module dolake.dev/conformance/producer

go 1.24

require (
	github.com/gorilla/websocket v1.5.3
	google.golang.org/protobuf v1.36.11
)
