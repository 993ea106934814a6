// `rlhf sweep`: a grid of settings over one job, run cell by cell, resumable.

import Alignment
import ArgumentParser
import Evaluation
import Foundation

/// Runs a hyper-parameter grid over ppo, dpo, sft, reward or pretrain.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a grid of settings over one job (sequentially, resumable); write sweep.csv and one overlaid report.",
        discussion: """
        The config file is the job's own YAML plus `job: ppo | dpo | sft | reward | pretrain` (or --job). Each cell
        runs as RUNS_DIR/NAME/cells/<key=value,…>/ with the file's settings and the cell's; a finished cell (final/
        written) is not rerun and an interrupted one resumes from its newest checkpoint, so rerunning the same command
        continues the sweep. sweep.csv holds each cell's final and best value of --metrics (name, name:max or
        name:min); report.html overlays the cells. RLHF-Shakespeare's sweep of β and learning rate:
          rlhf sweep --config ppo.yaml --grid init_kl_coef=0.02,0.1,0.2,0.4 --grid learning_rate=1e-6,1e-5,1e-4
        with ppo.yaml holding job: ppo, model, prompts, reward, iterations, target: null, …
        """)

    @Option(help: "The job's YAML config, with a `job:` field unless --job is given.") var config: String
    @Option(help: "An axis: key=v1,v2,… (repeat for more axes; the last varies fastest).") var grid: [String] = []
    @Option(help: "ppo, dpo, sft, reward or pretrain (overrides the file's job:).") var job: String?
    @Option(help: "The sweep's name: it writes RUNS_DIR/NAME/.") var name = "sweep"
    @Option(help: "Where sweeps go.") var runsDir = "runs"
    @Option(help: "Comma-separated metrics for sweep.csv (default per job).") var metrics: String?

    func run() throws {
        let (fileJob, base) = try JobConfiguration.removing("job", fromFile: URL(fileURLWithPath: config))
        guard let kind = job ?? fileJob else { throw ValidationError("name the job: `job: ppo` in \(config), or --job ppo") }
        let jobs = ["ppo", "dpo", "sft", "reward", "pretrain"]
        guard jobs.contains(kind) else { throw ValidationError("job '\(kind)' is not one of \(jobs.joined(separator: ", "))") }
        let sweep = try Sweep(axes: grid.map(SweepAxis.init(parsing:)),
                              metrics: try metrics.map { try $0.split(separator: ",").map { try SweepMetric(parsing: String($0)) } }
                                ?? Sweep.defaultMetrics(job: kind))
        let directory = URL(fileURLWithPath: runsDir).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let baseURL = directory.appendingPathComponent("base.yaml")
        try Data(base.utf8).write(to: baseURL, options: .atomic)
        let failures = try sweep.run(in: directory, log: { print($0); fflush(nil) }) { cell, cellsURL in
            let arguments = ["--config", baseURL.path, "--resume", "--name", cell.name, "--runs_dir", cellsURL.path] + cell.overrides
            switch kind {
            case "ppo": var command = try PPO.parse(arguments); try command.run()
            case "dpo": var command = try DPO.parse(arguments); try command.run()
            case "sft": var command = try SFT.parse(arguments); try command.run()
            case "reward": var command = try Reward.parse(arguments); try command.run()
            default: var command = try Pretrain.parse(arguments); try command.run()
            }
        }
        print(directory.appendingPathComponent("sweep.csv").path)
        print(directory.appendingPathComponent("report.html").path)
        if !failures.isEmpty {
            for (cell, error) in failures { FileHandle.standardError.write(Data("cell \(cell.name) failed: \(error)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}
