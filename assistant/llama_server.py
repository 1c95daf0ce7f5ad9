"""Start llama.cpp's OpenAI-compatible server (``llama_cpp.server``) with safe CPU
parameters: llama.cpp's extra buffer types (AMX, repacked weights) off, as the in-process
backend loads its models. On some CPUs that report AMX the server otherwise crashes on its
first request.

    python -m assistant.llama_server --model model.gguf --host 127.0.0.1 --port 8080

Every argument of ``python -m llama_cpp.server`` is accepted; ``--extra-buffers`` (or
``ASSISTANT_LLM_EXTRA_BUFFERS=true``) opts back in to the extra buffer types.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    extra = "--extra-buffers" in args or os.environ.get(
        "ASSISTANT_LLM_EXTRA_BUFFERS", "").lower() in ("1", "true", "yes", "on")
    args = [a for a in args if a != "--extra-buffers"]
    from llama_cpp.server.__main__ import main as server_main

    from assistant.llm import llama_model_params

    print(f"assistant.llama_server: llama.cpp extra buffer types "
          f"{'on' if extra else 'off'} (use_extra_bufts={extra})", file=sys.stderr, flush=True)
    sys.argv = ["llama_cpp.server", *args]
    with llama_model_params(extra):  # the server loads its model inside main()
        server_main()


if __name__ == "__main__":
    main()
