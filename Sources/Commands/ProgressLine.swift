// The live terminal line every training command shows: step, loss, valid loss, tokens/s, ETA.

import Alignment
import Foundation

/// On a terminal, rewrites one stderr line per step (`\r`); into a pipe or file, writes a line at
/// evaluations, at the last step and at most every 10 seconds otherwise.
public final class ProgressLine {
    private let terminal = isatty(2) != 0
    private var lastWritten = Date.distantPast
    /// The first report's time and step: the ETA extrapolates from the steps after it, so setup
    /// (data, step-0 evaluation, a resumed run's earlier steps) does not distort it.
    private var first: (time: Date, step: Int)?
    /// Whether a terminal line is open (written and not yet ended).
    private var pending = false
    private var lastMaxSteps = 0

    /// A progress line on stderr.
    public init() {}

    /// Shows `progress`.
    public func show(_ progress: TrainingProgress) {
        if !terminal {
            guard progress.validLoss != nil || progress.step == progress.maxSteps || Date().timeIntervalSince(lastWritten) >= 10 else { return }
            lastWritten = Date()
        }
        let now = Date()
        // A new run (another stage of the demo) starts its own ETA.
        if first == nil || progress.maxSteps != lastMaxSteps || progress.step < first!.step { first = (now, progress.step) }
        lastMaxSteps = progress.maxSteps
        let (time, step) = first!
        let perStep = progress.step > step ? now.timeIntervalSince(time) / Double(progress.step - step) : 0
        let remaining = perStep * Double(max(progress.maxSteps - progress.step, 0))
        var line = String(format: "\rstep %d/%d  loss %.4f", progress.step, progress.maxSteps, progress.loss)
        if let valid = progress.validLoss { line += String(format: "  valid %.4f", valid) }
        line += String(format: "  %.0f tok/s  ETA %dm%02ds ", progress.tokensPerSecond, Int(remaining) / 60, Int(remaining) % 60)
        if !terminal { line = String(line.dropFirst()) + "\n" }
        FileHandle.standardError.write(Data(line.utf8))
        pending = terminal
    }

    /// Ends the line.
    public func finish() {
        if terminal && pending { FileHandle.standardError.write(Data("\n".utf8)) }
        pending = false
    }

    /// The closing message: the final step, the best valid loss, where the final checkpoint is.
    public static func summary(state: TrainerState, run: RunDirectory, resumedFrom: URL?) -> String {
        var lines: [String] = []
        if let resumedFrom { lines.append("resumed from \(resumedFrom.path)") }
        let best = state.bestValidLoss.map { String(format: ", best valid loss %.4f at step %d", $0, state.bestStep ?? 0) } ?? ""
        lines.append("finished at step \(state.step)\(best); final checkpoint: \(run.finalURL.path)")
        return lines.joined(separator: "\n")
    }
}
