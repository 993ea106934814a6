#!/usr/bin/env python3
"""A scripted rater for `rlhf rate serve` in pairwise mode, for trying the labelling loop end to end
when no person is at hand. It opens the page in headless Chromium (DevTools protocol over
--remote-debugging-pipe), types a rater name, and for each pair clicks "Left is better", "Right is
better" or "Tie" as a person would. Its preference: the response that `rlhf score --reward SPEC`
scores higher (default: the lexicon sentiment rater); equal scores are a tie.

    python3 scripts/browser_rater.py --url http://127.0.0.1:8090/ --rater lexicon-bot --rlhf .build/release/rlhf

Standard library only. Prints one line per pair and a summary.
"""
import argparse, json, os, subprocess, sys, tempfile, time


class Chromium:
    def __init__(self, executable):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # Move the child's ends above 4 so that the dup2 onto 3 and 4 below cannot clobber them.
        to_child_r, from_child_w = [self._above(fd, 10) for fd in (to_child_r, from_child_w)]

        def wire():  # in the child: the protocol's descriptors 3 (commands in) and 4 (replies out)
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.profile = tempfile.mkdtemp(prefix="rater-chromium-")
        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "--window-size=1200,900", "about:blank"],
            preexec_fn=wire, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.next_id, self.buffer, self.session = 1, b"", None
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True)["sessionId"]

    @staticmethod
    def _above(fd, low):
        import fcntl
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD, low)
        os.close(fd)
        return moved

    def send(self, method, params=None, browser=False):
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if not browser:
            message["sessionId"] = self.session
        self.next_id += 1
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == message["id"]:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            chunk = os.read(self.from_child, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self.buffer += chunk

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def wait(self, condition, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.evaluate(condition) is True:
                    return
            except RuntimeError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {condition}")

    def click(self, selector):
        point = self.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;
            e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        if not point:
            raise RuntimeError(f"no element {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": point[0], "y": point[1], "button": "left", "clickCount": 1})

    def close(self):
        self.process.kill()
        self.process.wait()


def scores(rlhf, reward, prompt, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for text in texts:
            handle.write(json.dumps({"prompt": prompt, "response": text}) + "\n")
    try:
        out = subprocess.run([rlhf, "score", "--reward", reward, "--input", handle.name], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(handle.name)
    return [json.loads(line)["score"] for line in out.splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rater", default="lexicon-bot")
    parser.add_argument("--rlhf", default=".build/release/rlhf")
    parser.add_argument("--reward", default="lexicon")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    browser = Chromium(args.chromium)
    tally = {"left": 0, "right": 0, "tie": 0}
    try:
        browser.send("Page.enable")
        browser.send("Page.navigate", {"url": args.url})
        browser.wait("document.readyState === 'complete' && document.querySelector('#rater') !== null")
        browser.click("#rater")
        browser.send("Input.insertText", {"text": args.rater})
        browser.click("#start")
        browser.wait("document.querySelector('#progress') !== null || document.querySelector('#finished') !== null")
        while not browser.evaluate("document.querySelector('#finished') !== null"):
            item = browser.evaluate("document.querySelector('input[name=item]').value")
            prompt = browser.evaluate("document.querySelector('#prompt')?.textContent ?? ''")
            left, right = browser.evaluate("[document.querySelector('#left').textContent, document.querySelector('#right').textContent]")
            left_score, right_score = scores(args.rlhf, args.reward, prompt, [left, right])
            choice = "left" if left_score > right_score else "right" if right_score > left_score else "tie"
            tally[choice] += 1
            print(f"{item}: {choice} ({left_score:.3f} vs {right_score:.3f})", flush=True)
            browser.click(f"#choose-{choice}")
            browser.wait("document.querySelector('#finished') !== null || "
                         f"(document.querySelector('#saved') !== null && document.querySelector('input[name=item]')?.value !== '{item}')")
    finally:
        browser.close()
    print(f"{args.rater}: {sum(tally.values())} pairs clicked: left {tally['left']}, right {tally['right']}, tie {tally['tie']}")


if __name__ == "__main__":
    sys.exit(main())
