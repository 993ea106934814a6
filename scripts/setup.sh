# Installs the system packages swift-rlhf needs when they are missing (sourced by scripts/demo and
# scripts/test). Debian/Ubuntu: apt-get (with sudo when not root); macOS: Homebrew; elsewhere a
# message says what to install. `need_system_packages demo` covers building and running the
# tool; `need_system_packages test` adds what the test suite drives (Chromium, curl, Python's
# openai client).

need_system_packages() {
    local purpose="$1"
    case "$(uname -s)" in
    Linux)
        local missing=()
        command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
        pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
        pkg-config --exists sqlite3 2>/dev/null || missing+=(libsqlite3-dev)
        pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
        if [ "$purpose" = test ]; then
            command -v chromium >/dev/null 2>&1 || missing+=(chromium)
            command -v curl >/dev/null 2>&1 || missing+=(curl)
            command -v python3 >/dev/null 2>&1 || missing+=(python3)
            python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
        fi
        if [ ${#missing[@]} -gt 0 ]; then
            if ! command -v apt-get >/dev/null 2>&1; then
                echo "swift-rlhf needs these system packages (Debian names): ${missing[*]}; install them with your package manager and run this again." >&2
                exit 1
            fi
            local sudo=""
            if [ "$(id -u)" -ne 0 ]; then
                command -v sudo >/dev/null 2>&1 || { echo "installing ${missing[*]} needs root; run as root or install sudo" >&2; exit 1; }
                sudo="sudo"
            fi
            echo "installing ${missing[*]} (apt-get)" >&2
            $sudo apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
        fi
        if [ "$purpose" = test ]; then
            # The official OpenAI Python client is run against `rlhf serve` in a test.
            python3 -c "import openai" 2>/dev/null || python3 -m pip install -q openai 2>/dev/null \
                || python3 -m pip install -q --break-system-packages openai
        fi
        ;;
    Darwin)
        # Accelerate and SQLite come with macOS; the tests drive Chromium.
        if [ "$purpose" = test ] && ! command -v chromium >/dev/null 2>&1 && [ ! -d "/Applications/Chromium.app" ]; then
            if command -v brew >/dev/null 2>&1; then brew install --cask chromium; else echo "the browser tests need Chromium (brew install --cask chromium); they are skipped without it" >&2; fi
        fi
        if [ "$purpose" = test ]; then python3 -c "import openai" 2>/dev/null || python3 -m pip install -q openai || true; fi
        ;;
    *)
        echo "swift-rlhf is built on Linux (Debian/Ubuntu) and macOS; on $(uname -s), install OpenBLAS, SQLite 3, zlib and pkg-config yourself, then run: swift run -c release rlhf demo" >&2
        exit 1
        ;;
    esac
}
