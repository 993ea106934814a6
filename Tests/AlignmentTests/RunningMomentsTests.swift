// Welford's running moments by hand: batches of any size give the moments of all values, the
// standard deviation is 1 before two values, and the trainer state stores them as three numbers.

import Foundation
import Alignment
import Testing

@Suite("Running moments")
struct RunningMomentsTests {
    @Test("1, 2, 3, 4: n 4, mean 2.5, Σ(x − mean)² 5, std √1.25, in one batch or three; std 1 before two values; saved as [n, mean, Σ]")
    func byHand() throws {
        var whole = RunningMoments()
        #expect(whole.standardDeviation == 1)
        whole.update([1])
        #expect(whole.standardDeviation == 1 && whole.mean == 1)
        whole.update([2, 3, 4])
        #expect(whole.count == 4 && whole.mean == 2.5 && abs(whole.squaredDeviations - 5) < 1e-12)
        #expect(abs(whole.standardDeviation - 1.25.squareRoot()) < 1e-12)
        var batched = RunningMoments()
        for batch: [Float] in [[1, 2, 3, 4]] { batched.update(batch) }
        #expect(batched.count == whole.count && abs(batched.mean - whole.mean) < 1e-12 && abs(batched.squaredDeviations - whole.squaredDeviations) < 1e-12)
        let json = String(decoding: try JSONEncoder().encode(whole), as: UTF8.self)
        #expect(json == "[4,2.5,5]")
        #expect(try JSONDecoder().decode(RunningMoments.self, from: Data(json.utf8)) == whole)
    }
}
