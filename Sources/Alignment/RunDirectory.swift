// A run directory, as DESIGN.md lays it out:
//
//   config.yaml          the fully resolved config
//   metrics.jsonl        one line per log step
//   samples.jsonl        prompts, responses, scores at each eval
//   checkpoints/step-N/  an HF checkpoint directory + trainer_state.json + optimizer.safetensors
//   final/               the last checkpoint, same layout
//
// Checkpoints are written into a hidden temporary folder and renamed into place, so a crash
// leaves either the previous checkpoint or the new one, never half of one.

import Foundation
import NN
import Yams

/// The folder of one training run and the files in it.
public struct RunDirectory: Sendable {
    /// The run's folder (`runs/<name>`).
    public let root: URL

    /// A run folder at `root`, created with its `checkpoints/` subfolder if missing. (Trainers
    /// call ``recoverDebris()`` before they write; readers leave the folder as it is.)
    public init(root: URL) throws {
        self.root = root
        do {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        } catch {
            throw RunError.runDirectory(path: root.path, problem: "cannot create the run directory: \(error.localizedDescription)")
        }
    }

    /// Clears what a killed writer left in the run folder and in checkpoints/: its temporary
    /// `.NAME.tmp-PID` folders are removed (the write did not finish), and a retired
    /// `.NAME.old-PID` folder is put back as NAME when NAME is missing (the writer died between
    /// the two renames of a replacement) or removed otherwise. Folders of a live process on this
    /// host are left alone; only a job that writes the run calls this (a reader on another host
    /// cannot tell a live writer from a dead one). A writer restarted in a new container may get
    /// its old process id back: its own debris is then left until a later start.
    /// - Returns: the names removed or restored, for reports and tests.
    @discardableResult
    public func recoverDebris() -> [String] {
        let manager = FileManager.default
        var touched: [String] = []
        for folder in [root, checkpointsURL] {
            for name in (try? manager.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasPrefix(".") {
                guard let match = name.firstMatch(of: /^\.(.+)\.(tmp|old)-(\d+)$/), let pid = Int32(match.3), !Self.isAlive(pid) else { continue }
                let url = folder.appendingPathComponent(name), destination = folder.appendingPathComponent(String(match.1))
                if match.2 == "old" && !manager.fileExists(atPath: destination.path) {
                    if (try? manager.moveItem(at: url, to: destination)) != nil { touched.append(name) }
                } else if (try? manager.removeItem(at: url)) != nil {
                    touched.append(name)
                }
            }
        }
        return touched
    }

    /// Makes the run ready for this process to write: takes the run's lock (``RunLocks``; a
    /// second writer is refused) and clears a killed writer's debris (``recoverDebris()``).
    /// - Throws: ``RunError`` when another process is writing the run.
    public func prepareForWriting() throws {
        try RunLocks.claim(root)
        recoverDebris()
    }

    /// Fields a resumed run may change without `allowingChanges`: how long it trains and how
    /// often it logs, evaluates and saves — not what or how it learns.
    public static let resumableFields: Set<String> = ["max_steps", "iterations", "total_episodes", "log_interval", "eval_interval", "checkpoint_interval", "keep_checkpoints"]

    /// Fields added to a job after runs were recorded without them, with the value their absence
    /// meant: resuming such a run with that value is no change. (`model_type`: pretraining;
    /// `weight_decay`, `min_lr_ratio`: PPO, which used 0 for both; `adam_eps`, `eps_placement`:
    /// pretraining, which used PyTorch's AdamW ε.)
    public static let addedFields: [String: String] = [
        "model_type": "gpt2", "weight_decay": "0", "min_lr_ratio": "0", "adam_eps": "1e-8", "eps_placement": "pytorch",
    ]

    /// Records the job's fully resolved configuration in config.yaml (taking the run's lock first).
    /// A run resumed from a checkpoint must keep its recorded configuration, apart from
    /// ``resumableFields``: a changed learning rate or dataset would make the resumed run a
    /// different run under the same name.
    /// - Parameters:
    ///   - resuming: whether training continues from a checkpoint of this run.
    ///   - allowingChanges: accept any change (the user asked to override).
    /// - Throws: ``RunError`` naming config.yaml and each field that differs, with both values.
    public func recordConfiguration(_ mapping: Node.Mapping, resuming: Bool, allowingChanges: Bool = false) throws {
        try RunLocks.claim(root)
        if resuming && !allowingChanges {
            guard let text = try? String(contentsOf: configURL, encoding: .utf8), let recorded = (try? Yams.compose(yaml: text))??.mapping else {
                throw RunError.runDirectory(path: configURL.path, problem: "the run has checkpoints but its recorded configuration is missing or unreadable, so a resume cannot be checked against it; pass --override-config to resume anyway")
            }
            func value(_ node: Node?) -> String {
                guard let node else { return "(absent)" }
                return node.scalar?.string ?? ((try? Yams.serialize(node: node))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?")
            }
            let keys = Set(recorded.keys.compactMap(\.string)).union(mapping.keys.compactMap(\.string))
            /// The same setting: the same text, the same integer, or non-integers equal at the
            /// precision they are used in (Float: 1e-3 and 1.00000004749745e-3 are one learning rate).
            func same(_ a: String, _ b: String) -> Bool {
                if a == b { return true }
                if let x = Int(a), let y = Int(b) { return x == y }
                guard let x = Double(a), let y = Double(b) else { return false }
                return Float(x) == Float(y)
            }
            let changed = keys.sorted().filter { key in
                // A field added since the run was recorded is unchanged if it holds what its absence meant.
                let before = recorded[Node(key)] == nil ? Self.addedFields[key] ?? value(nil) : value(recorded[Node(key)])
                return !Self.resumableFields.contains(key) && !same(before, value(mapping[Node(key)]))
            }
            if !changed.isEmpty {
                throw RunError.changedOnResume(path: configURL.path, changes: changed.map {
                    RunError.SettingChange(field: $0, recorded: value(recorded[Node($0)]), requested: value(mapping[Node($0)]))
                })
            }
        }
        try Data(try JobConfiguration.yaml(mapping).utf8).write(to: configURL, options: .atomic)
    }

    /// Whether process `pid` exists (signal 0 reaches it, or it exists but is not ours).
    static func isAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// `config.yaml`.
    public var configURL: URL { root.appendingPathComponent("config.yaml") }
    /// `metrics.jsonl`.
    public var metricsURL: URL { root.appendingPathComponent("metrics.jsonl") }
    /// `samples.jsonl`.
    public var samplesURL: URL { root.appendingPathComponent("samples.jsonl") }
    /// `checkpoints/`.
    public var checkpointsURL: URL { root.appendingPathComponent("checkpoints") }
    /// `final/`.
    public var finalURL: URL { root.appendingPathComponent("final") }

    /// `checkpoints/step-N`.
    public func checkpointURL(step: Int) -> URL { checkpointsURL.appendingPathComponent("step-\(step)") }

    /// Writes a checkpoint atomically: `write` fills a temporary folder, which is then renamed to
    /// `destination` (replacing an older folder of that name). Returns `destination`.
    @discardableResult
    public func writeAtomically(to destination: URL, _ write: (URL) throws -> Void) throws -> URL {
        let manager = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? manager.removeItem(at: temporary)
        try manager.createDirectory(at: temporary, withIntermediateDirectories: true)
        do {
            try write(temporary)
            try synchronizeFolder(temporary)
        } catch {
            try? manager.removeItem(at: temporary)
            throw error
        }
        if manager.fileExists(atPath: destination.path) {
            let retired = parent.appendingPathComponent(".\(destination.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
            try? manager.removeItem(at: retired)
            try manager.moveItem(at: destination, to: retired)
            try manager.moveItem(at: temporary, to: destination)
            try? manager.removeItem(at: retired)
        } else {
            try manager.moveItem(at: temporary, to: destination)
        }
        try synchronizeFolder(parent, contentsToo: false)
        return destination
    }

    /// Every complete checkpoint as (step, folder), oldest first. Folders without a
    /// `trainer_state.json` (or hidden temporary ones) are not checkpoints.
    public func checkpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsURL.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            let url = checkpointsURL.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent(TrainerState.fileName).path) else { return nil }
            return (step, url)
        }.sorted { $0.0 < $1.0 }
    }

    /// Whether the run at `root` finished: its final/ checkpoint is complete (has a trainer
    /// state). Reads only; a run that never started has no folder and is not finished.
    public static func isFinished(at root: URL) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent("final").appendingPathComponent(TrainerState.fileName).path)
    }

    /// The newest complete checkpoint, or nil.
    public func newestCheckpoint() -> (step: Int, url: URL)? { checkpoints().last }

    /// Deletes all but the newest `count` checkpoints (and any in `keep`, e.g. the best one).
    public func pruneCheckpoints(keepingNewest count: Int, alsoKeeping keep: Set<Int> = []) {
        let all = checkpoints()
        for (step, url) in all.dropLast(max(count, 0)) where !keep.contains(step) {
            try? FileManager.default.removeItem(at: url)
        }
    }
}

/// fsyncs every regular file in `folder` (when `contentsToo`) and the folder itself.
func synchronizeFolder(_ folder: URL, contentsToo: Bool = true) throws {
    if contentsToo {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
            let path = folder.appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                let descriptor = open(path, O_RDONLY)
                if descriptor >= 0 { fsync(descriptor); close(descriptor) }
            }
        }
    }
    let descriptor = open(folder.path, O_RDONLY)
    if descriptor >= 0 { fsync(descriptor); close(descriptor) }
}
