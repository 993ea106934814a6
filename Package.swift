// swift-tools-version: 6.0
import PackageDescription
import Foundation

// Kernels are SIMD loops; Swift's default x86-64 baseline is SSE2, which leaves 3/4 of an AVX2+FMA
// core idle. On x86-64 we compile the numeric targets for Haswell-class CPUs (AVX2, FMA: every
// x86 server since 2013). Set RLHF_PORTABLE=1 when building for an older CPU.
let numericSettings: [SwiftSetting] = {
    #if arch(x86_64)
    if ProcessInfo.processInfo.environment["RLHF_PORTABLE"] == nil {
        return [.unsafeFlags(["-target-cpu", "haswell"])]
    }
    #endif
    return []
}()

let package = Package(
    name: "swift-rlhf",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rlhf", targets: ["rlhf"]),
        // Only `rlhf demo`, without the serving stack (gRPC, TLS, HTTP): the README's first command
        // builds this, in about half the time of the whole tool.
        .executable(name: "rlhf-demo", targets: ["rlhf-demo"]),
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Alignment", targets: ["Alignment"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Rating", targets: ["Rating"]),
        .library(name: "Benchmarks", targets: ["Benchmarks"]),
        .library(name: "Pipelines", targets: ["Pipelines"]),
        .library(name: "Serving", targets: ["Serving"]),
        .library(name: "Clients", targets: ["Clients"]),
        .library(name: "Checksums", targets: ["Checksums"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // System BLAS: Debian's OpenBLAS on Linux (pkg-config `openblas`), Accelerate on macOS.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        .target(
            name: "Kernels",
            dependencies: ["CBLAS"],
            swiftSettings: numericSettings,
            linkerSettings: [
                .linkedLibrary("openblas", .when(platforms: [.linux])),
                .linkedFramework("Accelerate", .when(platforms: [.macOS])),
            ]
        ),
        .target(name: "Tensors", dependencies: ["Kernels"], swiftSettings: numericSettings),
        .target(name: "NN", dependencies: ["Tensors", "Kernels"]),
        .target(name: "Tokenizers"),
        .target(name: "Models", dependencies: ["Kernels", "Tensors", "NN", "Tokenizers"]),
        .target(name: "Datasets", dependencies: [.product(name: "CompressNIO", package: "compress-nio"),
                                                 .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "Alignment", dependencies: ["Kernels", "Tensors", "NN", "Tokenizers", "Models", "Datasets",
                                                 .product(name: "Yams", package: "Yams")]),
        .target(name: "Evaluation", dependencies: ["Tensors", "Tokenizers", "Models", "Datasets", "Alignment"]),
        // SHA-256 digests as stored hex (swift-crypto: BoringSSL, so kept out of the demo's modules).
        .target(name: "Checksums", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Rating", dependencies: ["Datasets", "Alignment", "Evaluation", "Checksums", .product(name: "Crypto", package: "swift-crypto"),
                                              .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Yams", package: "Yams")]),
        // `rlhf bench`'s measurements: kernels against the rooflines, models, trainers, serving.
        .target(name: "Benchmarks", dependencies: ["Kernels", "Tensors", "NN", "Tokenizers", "Models", "Alignment"], swiftSettings: numericSettings),
        // The demo and the recipes: stages that call the jobs.
        .target(name: "Pipelines", dependencies: ["Tensors", "Tokenizers", "Models", "Datasets", "Alignment", "Evaluation"]),
        // The commands both executables share.
        .target(name: "Commands", dependencies: ["Alignment", "Datasets", "Evaluation", "Pipelines",
                                                .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .target(name: "Serving", dependencies: ["Evaluation", "Rating", "Alignment", "Datasets", "Models", "Tokenizers", "Tensors",
                                               .product(name: "Hummingbird", package: "hummingbird"),
                                               .product(name: "GRPCCore", package: "grpc-swift-2"),
                                               .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                               .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                                               .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                               .product(name: "Logging", package: "swift-log"),
                                               .product(name: "NIOCore", package: "swift-nio"),
                                               .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                                               .product(name: "HTTPTypes", package: "swift-http-types")]),
        // Outgoing HTTP on AsyncHTTPClient: the HTTP reward, the LLM judge, the load tester. Kept out
        // of the modules the demo builds (Alignment, Evaluation, Datasets, Pipelines), which see
        // only the registration hooks `ClientRegistration.register()` fills.
        .target(name: "Clients", dependencies: ["Alignment", "Evaluation", "Datasets", "Checksums", .product(name: "Crypto", package: "swift-crypto"),
                                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                               .product(name: "NIOCore", package: "swift-nio"),
                                               .product(name: "NIOHTTP1", package: "swift-nio")]),
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "Kernels", "Tensors", "NN", "Tokenizers", "Models", "Datasets", "Alignment", "Evaluation", "Rating", "Serving", "Clients", "Commands", "Benchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "rlhf-demo", dependencies: ["Kernels", "Commands"]),
        // The test-only model families the test targets share (not a product; no target of the tool imports it).
        .target(name: "TestFamilies", dependencies: ["Models", "NN", "Tensors", "Tokenizers"], path: "Tests/TestFamilies"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Benchmarks"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "Kernels"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors", "Kernels"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Datasets", "Checksums", .product(name: "Crypto", package: "swift-crypto")], exclude: ["Fixtures"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tokenizers", "NN", "Tensors", "Kernels", "TestFamilies"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "AlignmentTests", dependencies: ["TestFamilies", "Alignment", "Kernels", "Models", "NN", "Tensors", "Tokenizers", "Datasets", .product(name: "Yams", package: "Yams")], exclude: ["Fixtures"]),
        .testTarget(name: "EvaluationTests", dependencies: ["TestFamilies", "Evaluation", "Rating", "Alignment", "Models", "Tokenizers", "Datasets"]),
        .testTarget(name: "ServingTests", dependencies: ["TestFamilies", "Serving", "Clients", "Evaluation", "Rating", "Alignment", "Datasets", "Models", "Tensors", "Tokenizers",
                                                        .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                        .product(name: "HTTPTypes", package: "swift-http-types"),
                                                        .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")]),
        .testTarget(name: "ClientsTests", dependencies: ["Clients", "Checksums", "Alignment", "Evaluation", "Datasets", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "CLITests", dependencies: ["rlhf", "Commands", "Tokenizers", "Evaluation", "Rating", "Serving",
                                                    .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                    .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")],
                    exclude: ["Scripts"]),
    ]
)
