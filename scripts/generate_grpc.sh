#!/bin/sh
# Regenerates Sources/Serving/Generated/ from Protos/rlhf/v1/generation.proto.
# Needs protoc (apt-get install protobuf-compiler) and the two Swift plugins, built once (about
# 10 minutes on 2 cores) in a scratch package pinned to the versions in Package.swift:
#   grpc-swift-protobuf 2.4.1 → protoc-gen-grpc-swift-2;  swift-protobuf 1.39.0 → protoc-gen-swift.
# Usage: scripts/generate_grpc.sh [PLUGIN_DIR]   (default: build them in $TMPDIR/grpcgen)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
plugins=${1:-}
if [ -z "$plugins" ]; then
    scratch=${TMPDIR:-/tmp}/grpcgen
    mkdir -p "$scratch/Sources/Dummy"
    cat > "$scratch/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "grpcgen",
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [.target(name: "Dummy")]
)
SWIFT
    echo 'public let unused = 0' > "$scratch/Sources/Dummy/Dummy.swift"
    (cd "$scratch" && swift build -c release --product protoc-gen-grpc-swift-2 && swift build -c release --product protoc-gen-swift)
    plugins="$scratch/.build/release"
fi
out="$root/Sources/Serving/Generated"
mkdir -p "$out"
protoc --proto_path="$root/Protos" \
    --plugin=protoc-gen-swift="$plugins/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift="$plugins/protoc-gen-grpc-swift-2" \
    --swift_out="$out" --swift_opt=Visibility=Public \
    --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public,Server=true,Client=true \
    rlhf/v1/generation.proto
echo "wrote $out"
