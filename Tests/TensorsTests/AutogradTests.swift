// The tape: recording, no-grad scopes, accumulation, graph release, shape errors.

import Testing
import Tensors

@Suite("Autograd")
struct AutogradTests {
    @Test("withNoGrad records nothing")
    func noGrad() {
        let w = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let y = withNoGrad { (w * w).sum() }
        #expect(!y.requiresGrad)
        #expect(!y.hasGradFunction)
        let z = (w * w).sum()
        #expect(z.requiresGrad && z.hasGradFunction)
    }

    @Test("hand-computed gradient of a small expression")
    func handComputed() {
        // f(a, b) = Σ (a·b + a)², a = [1, 2], b = [3, −1] → ∂f/∂a = 2(ab + a)(b + 1), ∂f/∂b = 2(ab + a)a
        let a = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let b = Tensor(shape: [2], values: [3, -1], requiresGrad: true)
        let f = (a * b + a).squared().sum()
        #expect(f.item == 16)
        f.backward()
        let expectedA: [Float] = [32, 0]  // 2·4·4, 2·0·0
        let expectedB: [Float] = [8, 0]  // 2·4·1, 2·0·2
        #expect(a.grad!.scalars == expectedA)
        #expect(b.grad!.scalars == expectedB)
    }

    @Test("gradients accumulate across backward calls until zeroed")
    func accumulation() {
        let w = Tensor(shape: [3], values: [1, 2, 3], requiresGrad: true)
        (w * 2).sum().backward()
        (w * 3).sum().backward()
        #expect(w.grad!.scalars == [5, 5, 5])
        w.zeroGrad()
        #expect(w.grad == nil)
    }

    @Test("backward releases the graph; retainGraph keeps it")
    func release() {
        let w = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let hidden = w * w
        let loss = hidden.sum()
        loss.backward(retainGraph: true)
        #expect(hidden.hasGradFunction)
        #expect(w.grad!.scalars == [2, 4])
        loss.backward()
        #expect(!hidden.hasGradFunction)
        #expect(w.grad!.scalars == [4, 8])  // the second pass adds to the first
    }

    @Test("a frozen input gets no gradient")
    func frozen() {
        let w = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let frozen = Tensor(shape: [2], values: [5, 6])
        (w * frozen).sum().backward()
        #expect(frozen.grad == nil)
        #expect(w.grad!.scalars == [5, 6])
    }

    @Test("reshape shares storage")
    func reshapeShares() {
        let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let y = x.reshaped([3, 2])
        #expect(y.storage === x.storage)
        #expect(x.transposed()[2, 1] == 6)
        #expect(x.transposed().shape == [3, 2])
    }

    @Test("using a result after backward() freed its graph stops with a message instead of dropping gradients")
    func reuseAfterBackward() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let w = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
            let h = w * w
            h.sum().backward()
            (h * 3).sum().backward()
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("retainGraph"))
        await #expect(processExitsWith: .failure) {
            let w = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
            let loss = (w * w).sum()
            loss.backward()
            loss.backward()
        }
        // With retainGraph the reuse is fine, and gradients reach the parameter.
        let w = Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let h = w * w
        h.sum().backward(retainGraph: true)
        (h * 3).sum().backward()
        #expect(w.grad!.scalars == [8, 16])  // 2w + 3·2w
    }

    @Test("shape mismatches stop with a message naming both shapes")
    func shapeMismatch() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor(zeros: [2, 3]) + Tensor(zeros: [4])
        }
        await #expect(processExitsWith: .failure) {
            _ = matmul(Tensor(zeros: [2, 3]), Tensor(zeros: [4, 5]))
        }
        await #expect(processExitsWith: .failure) {
            _ = crossEntropy(Tensor(zeros: [2, 5]), targets: IndexTensor(shape: [2], values: [1, 9] as [Int32]))
        }
        await #expect(processExitsWith: .failure) {
            _ = causalSelfAttention(Tensor(zeros: [1, 4, 9]), heads: 2)
        }
    }
}

@Suite("Precondition messages")
struct PreconditionMessageTests {
    @Test("a shape mismatch stops the process with a message naming both shapes, in release builds too")
    func message() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor(zeros: [2, 3]) + Tensor(zeros: [4])
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("[2, 3]") && text.contains("[4]") && text.contains("do not broadcast"))
    }
}
