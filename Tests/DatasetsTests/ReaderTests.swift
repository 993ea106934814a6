import Foundation
import Testing
import Datasets

@Suite("Readers")
struct ReaderTests {
    @Test("DatasetError reads path:line: field 'x': message")
    func errorDescription() {
        #expect(DatasetError(path: "a.jsonl", line: 3, field: "chosen", message: "bad").description == "a.jsonl:3: field 'chosen': bad")
        #expect(DatasetError(path: "a.jsonl", line: 3, message: "bad").description == "a.jsonl:3: bad")
        #expect(DatasetError(path: "a.json", element: 2, field: "x", message: "bad").description == "a.json: element 2: field 'x': bad")
        #expect(DatasetError(path: "a.csv", message: "bad").description == "a.csv: bad")
    }

    @Test("JSON Lines: blank lines skipped, line numbers kept, CRLF accepted")
    func jsonLinesBlankLines() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("a.jsonl", "{\"a\": 1}\r\n\n   \n{\"a\": 2}\n")
        let report = try JSONLines.read(file)
        #expect(report.records.map(\.line) == [1, 4])
        #expect(report.records.map { $0.object["a"] as? Int } == [1, 2])
        #expect(report.skipped.isEmpty)
    }

    @Test("a malformed JSON line is an error naming file and line 3")
    func malformedLine() {
        let directory = TemporaryDirectory()
        let file = directory.write("bad.jsonl", "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n{\"prompt\": \"c\n")
        let error = expectDatasetError { _ = try JSONLines.read(file) }
        #expect(error?.path == file.path)
        #expect(error?.line == 3)
        #expect(error?.message.hasPrefix("malformed JSON") == true)
        #expect(error?.description.hasPrefix("\(file.path):3: malformed JSON") == true)
    }

    @Test("a JSON line that is not an object is an error")
    func notAnObject() {
        let directory = TemporaryDirectory()
        let file = directory.write("array.jsonl", "[1, 2]\n")
        let error = expectDatasetError { _ = try JSONLines.read(file) }
        #expect(error?.line == 1)
        #expect(error?.message == "expected a JSON object, found an array")
    }

    @Test("skipBadRecords counts malformed lines instead of throwing")
    func skipMalformed() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("bad.jsonl", "{\"prompt\": \"a\"}\nnot json\n{\"prompt\": \"c\"}\n42\n")
        let report = try JSONLines.read(file, skipBadRecords: true)
        #expect(report.records.map(\.line) == [1, 3])
        #expect(report.skipped.map(\.line) == [2, 4])
        #expect(report.skippedCount == 2)
    }

    @Test("gzip files are decompressed, whatever their name")
    func gzip() throws {
        let directory = TemporaryDirectory()
        let file = directory.writeGzip("p.jsonl.gz", "{\"prompt\": \"hello\"}\n{\"prompt\": \"wörld\"}\n")
        #expect(try PromptSet.read(file).records == ["hello", "wörld"])
        let renamed = directory.url.appendingPathComponent("p2.jsonl")
        try FileManager.default.copyItem(at: file, to: renamed)
        #expect(try PromptSet.read(renamed).records == ["hello", "wörld"])
    }

    @Test("a corrupt gzip file is an error naming the file")
    func corruptGzip() {
        let directory = TemporaryDirectory()
        let file = directory.url.appendingPathComponent("c.jsonl.gz")
        try! Data([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]).write(to: file)
        let error = expectDatasetError { _ = try JSONLines.read(file) }
        #expect(error?.path == file.path)
        #expect(error?.message.contains("truncated") == true)
        try! Data([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xff, 0xff, 0xff, 0xff]).write(to: file)  // a reserved block type
        let corrupt = expectDatasetError { _ = try JSONLines.read(file) }
        #expect(corrupt?.path == file.path && corrupt?.message.contains("corrupt") == true)
    }

    @Test("a gzip file cut short is an error naming the file and saying it is truncated, wherever it is cut")
    func truncatedGzip() throws {
        let directory = TemporaryDirectory()
        let text = (0..<2000).map { "{\"prompt\": \"line \($0)\"}\n" }.joined()
        let whole = try Data(contentsOf: directory.writeGzip("whole.jsonl.gz", text))
        for cut in [whole.count - 1, whole.count - 8, whole.count / 2, 12] {  // in the length, at the CRC, in the deflate data, in the header
            let file = directory.url.appendingPathComponent("cut-\(cut).jsonl.gz")
            try whole.prefix(cut).write(to: file)
            let error = expectDatasetError { _ = try FileContents.data(of: file) }
            #expect(error?.path == file.path && error?.message.contains("truncated") == true, "cut at \(cut): \(String(describing: error))")
        }
    }

    @Test("a gzip file whose CRC-32 or length does not match its data is an error naming the file")
    func gzipChecks() throws {
        let directory = TemporaryDirectory()
        let whole = try Data(contentsOf: directory.writeGzip("whole.jsonl.gz", "{\"prompt\": \"hello\"}\n"))
        for position in [whole.count - 8, whole.count - 1] {  // the CRC-32's first byte, the length's last byte
            var bad = whole
            bad[position] ^= 0x01
            let file = directory.url.appendingPathComponent("bad-\(position).jsonl.gz")
            try bad.write(to: file)
            let error = expectDatasetError { _ = try FileContents.data(of: file) }
            #expect(error?.path == file.path && error?.message.contains("corrupt") == true, "byte \(position): \(String(describing: error))")
        }
    }

    @Test("a gzip file larger than the decoder's input and output steps comes back byte for byte, also as the second of two members")
    func largeGzip() throws {
        let directory = TemporaryDirectory()
        var state: UInt64 = 42
        let text = String((0..<3_000_000).map { _ -> Character in  // hex digits compress to about half: > 1 MiB of input
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Array("0123456789abcdef")[Int(state >> 60)]
        })
        let large = directory.writeGzip("large.txt.gz", text)
        let compressed = try Data(contentsOf: large)
        #expect(compressed.count > 1 << 20)
        #expect(try FileContents.text(of: large) == text)
        let small = try Data(contentsOf: directory.writeGzip("small.gz", "head\n"))
        let joined = directory.url.appendingPathComponent("joined.txt.gz")
        try (small + compressed).write(to: joined)
        #expect(try FileContents.text(of: joined) == "head\n" + text)
    }

    @Test("concatenated gzip members are read one after another, zero padding after the last is ignored, other trailing bytes are an error")
    func gzipMembers() throws {
        let directory = TemporaryDirectory()
        let first = try Data(contentsOf: directory.writeGzip("a.gz", "{\"prompt\": \"one\"}\n"))
        let second = try Data(contentsOf: directory.writeGzip("b.gz", "{\"prompt\": \"two\"}\n"))
        let joined = directory.url.appendingPathComponent("joined.jsonl.gz")
        try (first + second + Data(count: 512)).write(to: joined)
        #expect(try PromptSet.read(joined).records == ["one", "two"])
        let trailing = directory.url.appendingPathComponent("trailing.jsonl.gz")
        try (first + Data("xyz".utf8)).write(to: trailing)
        let error = expectDatasetError { _ = try FileContents.data(of: trailing) }
        #expect(error?.path == trailing.path && error?.message.contains("after 1 complete member") == true)
    }

    @Test("a gzip file that inflates beyond the limit (a gzip bomb) is an error naming the file; within it, the bytes come back")
    func gzipBomb() throws {
        let directory = TemporaryDirectory()
        let file = directory.writeGzip("bomb.jsonl.gz", String(repeating: " ", count: 3_000_000))  // 3 MB of spaces, a few KB compressed
        let compressed = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
        #expect(compressed > 0 && compressed < 20_000)
        let error = expectDatasetError { _ = try FileContents.data(of: file, limit: 1_000_000) }
        #expect(error?.path == file.path && error?.message.contains("more than 1000000 bytes") == true)
        #expect(try FileContents.data(of: file, limit: 4_000_000).count == 3_000_000)
        #expect(FileContents.maximumDecompressedBytes == 1 << 32)
    }

    @Test("JSON array files locate records by element")
    func jsonArray() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("a.json", #"[{"prompt": "x", "completion": "y"}, {"prompt": "z"}]"#)
        let records = try JSONArrayFile.read(file).records
        #expect(records.count == 2)
        let error = expectDatasetError { _ = try SFTExample.read(file) }
        #expect(error?.element == 2)
        #expect(error?.field == "completion")
        #expect(error?.description == "\(file.path): element 2: field 'completion': missing field (the record has fields \"prompt\")")
    }

    @Test("CSV: quoted fields hold delimiters, doubled quotes and line breaks")
    func csvQuoting() throws {
        let csv = "act,prompt\r\n\"Poet, Lyric\",\"Say \"\"hi\"\"\r\nthen stop\"\r\nplain,unquoted \"inner\" quote\r\n\r\nlast,\"\"\r\n"
        let table = try DelimitedText.parse(Data(csv.utf8), path: "t.csv")
        #expect(table.columns == ["act", "prompt"])
        #expect(try table.column("act") == ["Poet, Lyric", "plain", "last"])
        #expect(try table.column("prompt") == ["Say \"hi\"\r\nthen stop", "unquoted \"inner\" quote", ""])
        #expect(table.report.records.map(\.line) == [2, 4, 6])
    }

    @Test("TSV uses tabs; headerless files take given column names")
    func tsv() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("g.tsv", "a, b\t3\tx\nc\t4,5\ty\n")
        let table = try DelimitedText.read(file, columnNames: ["text", "labels", "id"])
        #expect(try table.column("text") == ["a, b", "c"])
        #expect(try table.column("labels") == ["3", "4,5"])
    }

    @Test("CSV: a missing column is an error naming the column")
    func csvMissingColumn() {
        let directory = TemporaryDirectory()
        let file = directory.write("p.csv", "act,text\nx,y\n")
        let error = expectDatasetError { _ = try PromptSet.read(file) }
        #expect(error?.field == "prompt")
        #expect(error?.line == 1)
        #expect(error?.description == "\(file.path):1: field 'prompt': no such column in the header (columns: act, text)")
    }

    @Test("CSV: a row with the wrong field count is an error, or skipped and counted")
    func csvFieldCount() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("p.csv", "prompt,id\na,1\nb\nc,3\n")
        let error = expectDatasetError { _ = try PromptSet.read(file) }
        #expect(error?.line == 3)
        let report = try PromptSet.read(file, skipBadRecords: true)
        #expect(report.records == ["a", "c"])
        #expect(report.skipped == [SkippedRecord(line: 3, reason: "expected 2 fields (one per column), found 1")])
    }

    @Test("CSV: an unterminated quote is an error at the row's line")
    func csvUnterminated() {
        let error = expectDatasetError { _ = try DelimitedText.parse(Data("a\n\"x\ny\n".utf8), path: "u.csv") }
        #expect(error?.line == 2)
    }

    @Test("prompts from .txt (one per line) and a corpus from .txt (whole file)")
    func plainText() throws {
        let directory = TemporaryDirectory()
        let file = directory.write("p.txt", "first prompt\r\n\nsecond  prompt \n")
        #expect(try PromptSet.read(file).records == ["first prompt", "second  prompt "])
        #expect(try TextCorpus.read(file).records == ["first prompt\r\n\nsecond  prompt \n"])
        let jsonl = directory.write("c.jsonl", "{\"text\": \"doc one\"}\n{\"text\": \"doc two\"}\n")
        #expect(try TextCorpus.read(jsonl).records == ["doc one", "doc two"])
    }

    @Test("the real awesome-chatgpt-prompts CSV reads 1,528 prompts from its prompt column",
          .enabled(if: TestData.has(TestData.prompts)))
    func realPromptsCSV() throws {
        let report = try PromptSet.read(TestData.file(TestData.prompts))
        #expect(report.records.count == 1528)
        #expect(report.records.allSatisfy { !$0.isEmpty })
        #expect(report.records.contains { $0.contains("\n") })
    }
}
