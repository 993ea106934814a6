// Module: a layer or model whose parameters are found by reflection (as MLXNN does), named with
// dotted paths such as `h.3.attn.c_attn.weight` — the names Hugging Face checkpoints use.

import Tensors

/// A layer or model: a class whose stored properties hold its parameters (`Tensor`), its
/// sub-modules (`Module`), or arrays of either.
///
/// `namedParameters()` walks the properties with `Mirror`, in declaration order, and names each
/// tensor by its property path: a property `attn` holding a module with a tensor `weight` gives
/// `attn.weight`; an array `h` of modules gives `h.0.…`, `h.1.…`. A leading underscore is dropped
/// from property names. Optional properties that are nil are skipped. Override to rename or hide.
public protocol Module: AnyObject {
    /// Every parameter with its dotted name, in a stable order.
    func namedParameters() -> [(name: String, tensor: Tensor)]
}

/// A module whose behaviour differs between training and evaluation (dropout).
public protocol TrainingModeSettable: AnyObject {
    /// True while training.
    var isTraining: Bool { get set }
}

extension Module {
    /// Every parameter with its dotted name (the default: a reflection walk).
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        reflectParameters(of: self, prefix: "", into: &result)
        return result
    }

    /// The parameters without names.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// The total number of parameter elements (a tensor shared under two names counts once).
    public var parameterCount: Int {
        var seen = Set<ObjectIdentifier>()
        return namedParameters().reduce(0) { total, entry in
            seen.insert(ObjectIdentifier(entry.tensor.storage)).inserted ? total + entry.tensor.count : total
        }
    }

    /// Every sub-module (self first), depth first.
    public func modules() -> [Module] {
        var result: [Module] = [self]
        for child in childModules(of: self) { result += child.modules() }
        return result
    }

    /// Puts every sub-module that has a training mode into training (true) or evaluation (false).
    public func setTraining(_ training: Bool) {
        for module in modules() { (module as? TrainingModeSettable)?.isTraining = training }
    }

    /// Whether any sub-module is in training mode (dropout active).
    public var isTrainingAnywhere: Bool { modules().contains { ($0 as? TrainingModeSettable)?.isTraining == true } }

    /// Runs `body` in evaluation mode (no dropout), then restores training mode if it was on.
    public func evaluating<T>(_ body: () throws -> T) rethrows -> T {
        let wasTraining = isTrainingAnywhere
        setTraining(false)
        defer { if wasTraining { setTraining(true) } }
        return try body()
    }

    /// Marks every parameter as requiring gradients (or not), e.g. to freeze a reference model.
    public func setRequiresGrad(_ requiresGrad: Bool) {
        for parameter in parameters { parameter.requiresGrad = requiresGrad }
    }

    /// Drops every parameter's gradient.
    public func zeroGrad() {
        for parameter in parameters { parameter.grad = nil }
    }

    /// The parameter with a given dotted name, or nil.
    public func parameter(named name: String) -> Tensor? {
        namedParameters().first { $0.name == name }?.tensor
    }
}

private func propertyName(_ label: String?, index: Int) -> String {
    guard var label else { return String(index) }
    if label.hasPrefix("_") { label.removeFirst() }
    return label
}

private func unwrapOptional(_ value: Any) -> Any? {
    let mirror = Mirror(reflecting: value)
    guard mirror.displayStyle == .optional else { return value }
    return mirror.children.first.map { unwrapOptional($0.value) } ?? nil
}

private func reflectParameters(of value: Any, prefix: String, into result: inout [(name: String, tensor: Tensor)]) {
    var mirror: Mirror? = Mirror(reflecting: value)
    var levels: [Mirror] = []
    while let current = mirror { levels.insert(current, at: 0); mirror = current.superclassMirror }
    for level in levels {
        for (index, child) in level.children.enumerated() {
            guard let unwrapped = unwrapOptional(child.value) else { continue }
            reflectValue(unwrapped, name: prefix + propertyName(child.label, index: index), into: &result)
        }
    }
}

private func reflectValue(_ value: Any, name: String, into result: inout [(name: String, tensor: Tensor)]) {
    if let tensor = value as? Tensor {
        result.append((name, tensor))
    } else if let module = value as? Module {
        for entry in module.namedParameters() { result.append((name + "." + entry.name, entry.tensor)) }
    } else if let array = value as? [Any] {
        for (i, element) in array.enumerated() {
            guard let unwrapped = unwrapOptional(element) else { continue }
            if unwrapped is Tensor || unwrapped is Module || unwrapped is [Any] {
                reflectValue(unwrapped, name: "\(name).\(i)", into: &result)
            }
        }
    }
}

private func childModules(of value: Any) -> [Module] {
    var result: [Module] = []
    var mirror: Mirror? = Mirror(reflecting: value)
    while let current = mirror {
        for child in current.children {
            guard let unwrapped = unwrapOptional(child.value) else { continue }
            if let module = unwrapped as? Module { result.append(module) }
            if let array = unwrapped as? [Any] {
                for element in array { if let module = unwrapOptional(element) as? Module { result.append(module) } }
            }
        }
        mirror = current.superclassMirror
    }
    return result
}
