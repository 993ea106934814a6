// The run machinery: atomic checkpoints, checkpoint discovery and pruning, trainer state,
// metrics formatting, and an exact resume of a small GPT-2 training loop.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Alignment
import Models
import NN
import Tensors
import Testing
import Yams

func temporaryRun() throws -> RunDirectory {
    try RunDirectory(root: FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-run-\(UUID().uuidString)"))
}

@Suite("Run directory")
struct RunDirectoryTests {
    @Test("a checkpoint appears only when complete; a failed write leaves the previous one and no debris")
    func atomicCheckpoints() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let state = TrainerState(step: 3, generator: RandomGenerator(seed: 1))
        try run.writeAtomically(to: run.checkpointURL(step: 3)) { try state.save(in: $0) }
        #expect(run.newestCheckpoint()?.step == 3)
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try run.writeAtomically(to: run.checkpointURL(step: 3)) { folder in
                try Data("partial".utf8).write(to: folder.appendingPathComponent("model.safetensors"))
                throw Crash()
            }
        }
        #expect(try TrainerState.load(from: run.checkpointURL(step: 3)) == state)
        #expect(!FileManager.default.fileExists(atPath: run.checkpointURL(step: 3).appendingPathComponent("model.safetensors").path))
        let names = try FileManager.default.contentsOfDirectory(atPath: run.checkpointsURL.path)
        #expect(names == ["step-3"])
    }

    @Test("a killed writer's debris is cleared on the next start: its temporary folders go, a retired final/ comes back when final/ is missing; a live writer's are left")
    func debris() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let manager = FileManager.default
        let dead: Int32 = 2_000_000_000, live = ProcessInfo.processInfo.processIdentifier
        func folder(_ parent: URL, _ name: String, marker: String) throws {
            let url = parent.appendingPathComponent(name)
            try manager.createDirectory(at: url, withIntermediateDirectories: true)
            try Data(marker.utf8).write(to: url.appendingPathComponent("trainer_state.json"))
        }
        try folder(run.checkpointsURL, ".step-4.tmp-\(dead)", marker: "half")      // died while writing step 4
        try folder(run.root, ".final.old-\(dead)", marker: "previous final")         // died between the two renames
        try folder(run.root, ".final.tmp-\(dead)", marker: "new final, unconfirmed")
        try folder(run.checkpointsURL, "step-2", marker: "complete")
        try folder(run.checkpointsURL, ".step-2.old-\(dead)", marker: "replaced")   // step-2 exists: the old one goes
        try folder(run.checkpointsURL, ".step-6.tmp-\(live)", marker: "a live writer's")
        #expect(try manager.contentsOfDirectory(atPath: run.checkpointsURL.path).count == 4)  // opening the folder (a reader) touches nothing
        let touched = try RunDirectory(root: run.root).recoverDebris()  // what a trainer does before it writes
        #expect(Set(touched) == [".step-4.tmp-\(dead)", ".final.old-\(dead)", ".final.tmp-\(dead)", ".step-2.old-\(dead)"])
        #expect(run.recoverDebris().isEmpty)
        let left = Set(try manager.contentsOfDirectory(atPath: run.checkpointsURL.path))
        #expect(left == ["step-2", ".step-6.tmp-\(live)"])
        #expect(Set(try manager.contentsOfDirectory(atPath: run.root.path)) == ["checkpoints", "final"])
        #expect(try String(contentsOf: run.finalURL.appendingPathComponent("trainer_state.json"), encoding: .utf8) == "previous final")
        #expect(try String(contentsOf: run.checkpointURL(step: 2).appendingPathComponent("trainer_state.json"), encoding: .utf8) == "complete")
    }

    @Test("a metrics or samples line that cannot be written (a full disk: /dev/full) is an error naming the file, which the trainers throw before the step's checkpoint",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func fullDisk() throws {
        let log = try MetricsLog(url: URL(fileURLWithPath: "/dev/full"))
        let metricsError = try #require(throws: RunError.self) { try log.append(step: 1, ["loss": 1]) }
        if case .runDirectory(path: "/dev/full", _) = metricsError {} else { Issue.record("\(metricsError)") }
        let samplesError = try #require(throws: RunError.self) { try log.append(object: ["step": 1, "text": "x"]) }
        if case .runDirectory(path: "/dev/full", _) = samplesError {} else { Issue.record("\(samplesError)") }
    }

    @Test("one writer per run: while another holder has the run's lock, preparing to write is refused naming it; once released, the lock is free")
    func oneWriter() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        // Another holder: a separate open of the lock file (flock locks conflict between open files, as between processes).
        let path = run.root.appendingPathComponent(".lock").path
        let holder = open(path, O_RDWR | O_CREAT, 0o644)
        #expect(holder >= 0 && flock(holder, LOCK_EX | LOCK_NB) == 0)
        _ = "4242".withCString { write(holder, $0, 4) }
        let error = try #require(throws: RunError.self, "a second writer was let in") { try run.prepareForWriting() }
        #expect(error == .runInUse(path: run.root.path, process: 4242))
        #expect(error.description == "\(run.root.path): the run is being written by process 4242; wait for it to finish, or use another --name")
        #expect(throws: RunError.runInUse(path: run.root.path, process: 4242)) { try run.recordConfiguration(["a": "1"], resuming: false) }
        close(holder)  // as when the holder exits, however it exits
        try run.prepareForWriting()
        try run.prepareForWriting()  // this process again: still its own
        try run.recordConfiguration(["a": "1"], resuming: false)
    }

    @Test("a resumed run keeps its configuration: a changed field is refused naming it with both values, unless overridden; length and intervals may change")
    func resumeKeepsConfiguration() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        let recorded: Node.Mapping = ["learning_rate": "0.001", "data": "a.jsonl", "max_steps": "10", "log_interval": "5"]
        try run.recordConfiguration(recorded, resuming: false)
        var changed = recorded
        changed["learning_rate"] = "0.002"
        changed["data"] = "b.jsonl"
        let error = try #require(throws: RunError.self, "a changed configuration was accepted on resume") {
            try run.recordConfiguration(changed, resuming: true)
        }
        #expect(error == .changedOnResume(path: run.configURL.path, changes: [
            .init(field: "data", recorded: "a.jsonl", requested: "b.jsonl"), .init(field: "learning_rate", recorded: "0.001", requested: "0.002"),
        ]))
        #expect(error.description == "\(run.configURL.path): resuming with a changed configuration: 'data' was a.jsonl, now b.jsonl; "
                + "'learning_rate' was 0.001, now 0.002. Resume with the recorded settings, pass --override-config to resume anyway, "
                + "or start a new run with another --name")
        #expect(try String(contentsOf: run.configURL, encoding: .utf8).contains("0.001"), "the refused configuration must not be recorded")
        var longer = recorded
        longer["max_steps"] = "20"
        longer["log_interval"] = "1"
        try run.recordConfiguration(longer, resuming: true)
        var respelled = longer
        respelled["learning_rate"] = "1e-3"  // the same number written another way
        try run.recordConfiguration(respelled, resuming: true)
        var added = longer
        added["warmup_steps"] = "3"
        #expect(throws: RunError.changedOnResume(path: run.configURL.path, changes: [.init(field: "warmup_steps", recorded: "(absent)", requested: "3")])) {
            try run.recordConfiguration(added, resuming: true)
        }
        // A field added to the job since the run was recorded: its default is what its absence meant.
        var newer = longer
        newer["model_type"] = "gpt2"
        try run.recordConfiguration(newer, resuming: true)
        // The optimizer fields PPO and pretraining gained, at the values they had before.
        try run.recordConfiguration(longer, resuming: false)
        for (field, value) in [("weight_decay", "0.0"), ("min_lr_ratio", "0.0"), ("adam_eps", "1e-08"), ("eps_placement", "pytorch")] {
            var gained = longer
            gained[Node(field)] = Node(value)
            try run.recordConfiguration(gained, resuming: true)
            try run.recordConfiguration(longer, resuming: false)
        }
        try run.recordConfiguration(longer, resuming: false)
        newer["model_type"] = "tiny-test"
        #expect(throws: RunError.changedOnResume(path: run.configURL.path, changes: [.init(field: "model_type", recorded: "(absent)", requested: "tiny-test")])) {
            try run.recordConfiguration(newer, resuming: true)
        }
        try run.recordConfiguration(changed, resuming: true, allowingChanges: true)
        #expect(try String(contentsOf: run.configURL, encoding: .utf8).contains("0.002"))
        try run.recordConfiguration(recorded, resuming: false)  // a fresh start records what it is given
        // Integers are compared exactly (Float would merge 123456789 and 123456788).
        var seeded = recorded
        seeded["seed"] = "123456789"
        try run.recordConfiguration(seeded, resuming: false)
        seeded["seed"] = "123456788"
        #expect(throws: RunError.changedOnResume(path: run.configURL.path, changes: [.init(field: "seed", recorded: "123456789", requested: "123456788")])) {
            try run.recordConfiguration(seeded, resuming: true)
        }
        // A resume with no recorded configuration cannot be checked: refused unless overridden.
        try FileManager.default.removeItem(at: run.configURL)
        let unrecorded = try #require(throws: RunError.self) { try run.recordConfiguration(recorded, resuming: true) }
        if case .runDirectory(path: run.configURL.path, _) = unrecorded {} else { Issue.record("\(unrecorded)") }
        try run.recordConfiguration(recorded, resuming: true, allowingChanges: true)
    }

    @Test("checkpoints are found by step, incomplete folders are ignored, pruning keeps the newest and the best")
    func discoveryAndPruning() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        for step in [2, 10, 4, 8] {
            try run.writeAtomically(to: run.checkpointURL(step: step)) { try TrainerState(step: step, generator: RandomGenerator(seed: 0)).save(in: $0) }
        }
        try FileManager.default.createDirectory(at: run.checkpointURL(step: 12), withIntermediateDirectories: true)  // no trainer_state.json
        #expect(run.checkpoints().map(\.step) == [2, 4, 8, 10])
        #expect(run.newestCheckpoint()?.step == 10)
        run.pruneCheckpoints(keepingNewest: 2, alsoKeeping: [2])
        #expect(run.checkpoints().map(\.step) == [2, 8, 10])
    }

    @Test("trainer state round-trips; a missing field is named")
    func trainerState() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        var generator = RandomGenerator(seed: 9)
        _ = generator.next()
        let state = TrainerState(step: 7, epoch: 1, dataPosition: 42, generator: generator, dropoutGenerator: RandomGenerator(seed: 2),
                                 klCoefficient: 0.15, bestValidLoss: 1.25, bestStep: 5, evaluationsWithoutImprovement: 1)
        try state.save(in: run.root)
        #expect(try TrainerState.load(from: run.root) == state)
        let url = run.root.appendingPathComponent(TrainerState.fileName)
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        object.removeValue(forKey: "rng_state")
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        #expect(throws: RunError.invalidData(path: url.path, problem: "missing field 'rng_state'")) { try TrainerState.load(from: run.root) }
    }

    @Test("metrics lines are deterministic, and resuming drops the interrupted run's later lines")
    func metrics() throws {
        let run = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: run.root) }
        do {
            let log = try MetricsLog(url: run.metricsURL)
            for step in 1...5 { try log.append(step: step, ["loss": 1 / Double(step), "lr": 3e-4, "tokens": 256]) }
        }
        let lines = String(decoding: try Data(contentsOf: run.metricsURL), as: UTF8.self).split(separator: "\n")
        #expect(lines[0] == "{\"step\":1,\"loss\":1,\"lr\":0.0003,\"tokens\":256}")
        #expect(lines[2] == "{\"step\":3,\"loss\":0.3333333333333333,\"lr\":0.0003,\"tokens\":256}")
        _ = try MetricsLog(url: run.metricsURL, resumeStep: 3)
        #expect(try MetricsLog.read(run.metricsURL).compactMap { $0["step"] as? Int } == [1, 2, 3])
    }
}

@Suite("Exact resume")
struct ResumeTests {
    /// Trains the tiny GPT-2 for steps (from ..< to], logging the loss and checkpointing at
    /// `checkpointStep`; restores from `resume` first when given. Dropout and batch sampling draw
    /// from saved streams, so the resumed run must continue bit for bit.
    func train(run: RunDirectory, from start: Int, to end: Int, checkpointStep: Int?, resume: URL?) throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelsTests/Fixtures/gpt2-tiny")
        let model = try GPT2LMHeadModel.load(from: resume ?? fixture)
        model.setTraining(true)
        let optimizer = AdamW(parameters: model.namedParameters(), configuration: AdamWConfiguration(learningRate: 1e-2))
        var state = TrainerState(generator: RandomGenerator(seed: 77), dropoutGenerator: model.source.generator)
        if let resume {
            state = try TrainerState.load(from: resume)
            try optimizer.loadState(from: resume.appendingPathComponent("optimizer.safetensors"))
            model.source.generator = state.dropoutGenerator!
        }
        #expect(state.step == start)
        let log = try MetricsLog(url: run.metricsURL, resumeStep: resume == nil ? nil : start)
        for step in (start + 1)...end {
            let ids = IndexTensor(shape: [2, 12], values: (0..<24).map { _ in Int32(state.generator.nextInt(below: 97)) })
            let loss = model.loss(logits: model(ids), labels: ids)
            loss.backward()
            clipGradientNorm(model.parameters, maxNorm: 1)
            optimizer.step(learningRate: LearningRateSchedule.cosine(warmupSteps: 2, totalSteps: 8, minimumRatio: 0.1).learningRate(base: 1e-2, step: step))
            optimizer.zeroGrad()
            state.step = step
            try log.append(step: step, ["loss": Double(loss.item)])
            if step == checkpointStep {
                state.dropoutGenerator = model.source.generator
                let snapshot = state
                try run.writeAtomically(to: run.checkpointURL(step: step)) { folder in
                    try model.save(to: folder)
                    try optimizer.saveState(to: folder.appendingPathComponent("optimizer.safetensors"))
                    try snapshot.save(in: folder)
                }
            }
        }
    }

    @Test("stopping after step k and resuming gives metrics.jsonl identical to an uninterrupted run, line by line")
    func resumeEquality() throws {
        let whole = try temporaryRun(), split = try temporaryRun()
        defer { try? FileManager.default.removeItem(at: whole.root); try? FileManager.default.removeItem(at: split.root) }
        try train(run: whole, from: 0, to: 8, checkpointStep: nil, resume: nil)
        // The interrupted run checkpoints at 4 and dies after logging step 6.
        try train(run: split, from: 0, to: 6, checkpointStep: 4, resume: nil)
        let checkpoint = try #require(split.newestCheckpoint())
        #expect(checkpoint.step == 4)
        try train(run: split, from: 4, to: 8, checkpointStep: nil, resume: checkpoint.url)
        let expected = try String(contentsOf: whole.metricsURL, encoding: .utf8)
        let actual = try String(contentsOf: split.metricsURL, encoding: .utf8)
        #expect(expected.split(separator: "\n").count == 8)
        #expect(actual == expected)
    }
}
