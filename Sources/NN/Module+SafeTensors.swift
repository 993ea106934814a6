// Saving and loading a module's parameters as safetensors, by dotted name.

import Foundation
import Kernels
import Tensors

extension SafeTensorsFile {
    /// The named tensor as Float32 (F32, F16, BF16 and F64 are converted).
    public func tensor(_ name: String, requiresGrad: Bool = false) throws -> Tensor {
        let info = try info(name)
        let tensor = Tensor(zeros: info.shape, requiresGrad: requiresGrad)
        try readFloats(name, into: UnsafeMutableBufferPointer(start: tensor.data, count: tensor.count))
        return tensor
    }
}

/// Which parameters a load filled, and what the file had that the module does not.
public struct LoadReport: Sendable, Equatable {
    /// Module parameters that were filled from the file.
    public var loaded: [String] = []
    /// Module parameters the file lacks (allowed only when not strict).
    public var missing: [String] = []
    /// File tensors that match no module parameter (allowed only when not strict).
    public var unexpected: [String] = []
}

extension Module {
    /// Writes every parameter (F32, by dotted name) to a safetensors file, atomically.
    ///
    /// - Parameters:
    ///   - excluding: names to leave out (for example a tied `lm_head.weight`).
    ///   - metadata: the file's `__metadata__` (Hugging Face writes `{"format": "pt"}`).
    public func saveSafeTensors(to url: URL, excluding: Set<String> = [], metadata: [String: String] = ["format": "pt"]) throws {
        var writer = SafeTensorsWriter()
        writer.metadata = metadata
        for (name, tensor) in namedParameters() where !excluding.contains(name) {
            try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
        }
        try writer.write(to: url)
    }

    /// Copies parameters from a safetensors file into this module, matching dotted names.
    ///
    /// With `strict`, every parameter must be present and every tensor in the file must match a
    /// parameter; in all cases a present tensor must have the parameter's shape. Errors name the
    /// file, the tensor and both shapes. Nothing is modified when an error is thrown.
    @discardableResult
    public func loadSafeTensors(from url: URL, strict: Bool = true, renaming: (String) -> String = { $0 }) throws -> LoadReport {
        let file = try SafeTensorsFile(contentsOf: url)
        return try loadSafeTensors(from: file, strict: strict, renaming: renaming)
    }

    /// As `loadSafeTensors(from: URL…)`, from an open file. `renaming` maps a parameter name to
    /// the name it has in the file.
    @discardableResult
    public func loadSafeTensors(from file: SafeTensorsFile, strict: Bool = true, renaming: (String) -> String = { $0 }) throws -> LoadReport {
        var report = LoadReport()
        var plan: [(Tensor, String)] = []
        var used = Set<String>()
        for (name, parameter) in namedParameters() {
            let fileName = renaming(name)
            guard file.names.contains(fileName) else { report.missing.append(name); continue }
            let info = try file.info(fileName)
            guard info.shape == parameter.shape else {
                throw SafeTensorsError(path: file.url.path, message: "tensor '\(fileName)' has shape \(info.shape), but parameter '\(name)' expects \(parameter.shape)")
            }
            plan.append((parameter, fileName))
            used.insert(fileName)
            report.loaded.append(name)
        }
        report.unexpected = file.names.filter { !used.contains($0) }
        if strict && !report.missing.isEmpty {
            throw SafeTensorsError(path: file.url.path, message: "missing parameters: \(report.missing.prefix(10).joined(separator: ", "))\(report.missing.count > 10 ? ", …" : "") (\(report.missing.count) in all)")
        }
        if strict && !report.unexpected.isEmpty {
            throw SafeTensorsError(path: file.url.path, message: "tensors that match no parameter: \(report.unexpected.prefix(10).joined(separator: ", "))\(report.unexpected.count > 10 ? ", …" : "") (\(report.unexpected.count) in all)")
        }
        // Read everything into scratch first, so a conversion error leaves the module untouched.
        var staged: [(Tensor, Tensor)] = []
        for (parameter, fileName) in plan { staged.append((parameter, try file.tensor(fileName))) }
        for (parameter, values) in staged { parameter.assign(values) }
        return report
    }
}
