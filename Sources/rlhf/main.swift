// The `rlhf` command-line tool: one subcommand per job, thin over the libraries.

import ArgumentParser
import Clients
import Commands
import Kernels

// OpenBLAS reads OPENBLAS_CORETYPE once, when it loads: pick the fast kernels before anything runs.
BLAS.reexecWithFastKernelsIfNeeded()
// Reuse freed activation and gradient buffers instead of faulting fresh pages in every step.
HeapReuse.enable()
// `http:` rewards and `openai:` judges: the library modules leave HTTP to the Clients module.
ClientRegistration.register()

/// The root command. Subcommands that serve or send traffic (`serve`, `rate serve`, `loadtest`)
/// are asynchronous; the training and evaluation ones are synchronous.
struct RLHF: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "The whole RLHF stack in Swift: pretrain, reward-model, align (PPO, DPO), evaluate, serve.",
        subcommands: [DemoCommand.self, Bench.self, Pretrain.self, SFT.self, Reward.self, ClassifierCommand.self, Score.self, PPO.self, DPO.self, Compare.self, WinRateCommand.self, Report.self, Rate.self, Serve.self, LoadTestCommand.self, Overopt.self, SweepCommand.self, Generate.self, Tokenize.self, LogProbs.self, DataCommand.self]
    )
}

extension RLHF {
    /// Runs an asynchronous subcommand's `run() async`. (A function of its own: in top-level code
    /// the call resolves to the synchronous `run()` requirement, which only prints the help.)
    static func runAsynchronously(_ command: any AsyncParsableCommand) async throws {
        var command = command
        try await command.run()
    }
}

// What `await RLHF.main()` does, except where a synchronous command runs: ArgumentParser's async
// `main` calls a synchronous `run()` from a task on Swift concurrency's cooperative pool, where a
// training loop would hold one of its few threads for hours. Here a synchronous command runs on the
// main thread (top-level code, before any suspension), and only the asynchronous ones run on the pool.
do {
    var command = try RLHF.parseAsRoot(OptionSpelling.commandLine)
    if let asynchronous = command as? any AsyncParsableCommand {
        try await RLHF.runAsynchronously(asynchronous)
    } else {
        try command.run()
    }
} catch {
    RLHF.exit(withError: error)
}
