// Placeholder until the Tokenizers sources land (same protocol as agreed).
import Foundation
public protocol Tokenizer: AnyObject, Sendable {
    var vocabularySize: Int { get }
    func encode(_ text: String) -> [Int]
    func decode(_ ids: [Int]) -> String
    var endOfTextTokenId: Int? { get }
    func save(to directory: URL) throws
}
public func loadTokenizer(from directory: URL) throws -> any Tokenizer { fatalError("placeholder") }
