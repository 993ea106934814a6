// Each job command's --help ends with the field list generated from its settings.

import Foundation
import Testing

@Suite("job --help")
struct JobHelpTests {
    @Test("rlhf <job> --help lists the generated fields: spelling, type, default and meaning", arguments: [
        (["sft"], "  --long-responses  error | truncate | skip, default error\n"),
        (["dpo"], "  --loss-type  sigmoid | ipo, default sigmoid\n"),
        (["reward"], "  --normalize  none | before | after | both, default none\n"),
        (["ppo"], "  --max-new-tokens  integer, default 24\n      New tokens per response, at most.\n"),
        (["pretrain"], "  --schedule  linear | cosine | noam | constant, default cosine\n"),
        (["classifier", "train"], "  --problem-type  auto | single_label_classification |"),  // the help wraps at 80 columns
    ])
    func generatedFields(command: [String], line: String) async throws {
        let (status, out, err) = try await runTool(command + ["--help"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("Fields (YAML name;") && out.contains(line), "\(out)")
    }
}
