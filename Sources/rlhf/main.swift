// The `rlhf` command-line tool: one subcommand per job, thin over the libraries.

import ArgumentParser
import Commands
import Kernels

// OpenBLAS reads OPENBLAS_CORETYPE once, when it loads: pick the fast kernels before anything runs.
BLAS.reexecWithFastKernelsIfNeeded()

/// The root command.
struct RLHF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "The whole RLHF stack in Swift: pretrain, reward-model, align (PPO, DPO), evaluate, serve.",
        subcommands: [DemoCommand.self, Bench.self, Pretrain.self, SFT.self, Reward.self, ClassifierCommand.self, Score.self, PPO.self, DPO.self, Compare.self, WinRateCommand.self, Report.self, Rate.self, Serve.self, LoadTestCommand.self, Overopt.self, SweepCommand.self, Generate.self, Tokenize.self, LogProbs.self, DataCommand.self]
    )
}

RLHF.main(OptionSpelling.commandLine)
