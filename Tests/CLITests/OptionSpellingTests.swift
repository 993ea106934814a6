// One spelling convention on the command line: `--name_with_underscores` is `--name-with-dashes`.

import Commands
import Testing

@Suite("Option spelling")
struct OptionSpellingTests {
    @Test("option names are dashed; values, short flags, negative numbers and everything after -- are left alone")
    func dashed() {
        #expect(OptionSpelling.dashed(["ppo", "--max_new_tokens", "8", "--penalty_reward", "-1", "--runs_dir=my_runs/x_y"])
                == ["ppo", "--max-new-tokens", "8", "--penalty-reward", "-1", "--runs-dir=my_runs/x_y"])
        #expect(OptionSpelling.dashed(["--max-new-tokens", "8", "-h", "file_name.txt"]) == ["--max-new-tokens", "8", "-h", "file_name.txt"])
        #expect(OptionSpelling.dashed(["--stop", "--", "--not_an_option"]) == ["--stop", "--", "--not_an_option"])
        #expect(OptionSpelling.dashed(["--", "--a_b"]) == ["--", "--a_b"])
        #expect(OptionSpelling.dashed(["--_x", "--9_a", "--a.b_c"]) == ["--_x", "--9_a", "--a.b_c"])  // not option names
    }
}
