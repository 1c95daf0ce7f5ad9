"""What llama.cpp's extra CPU buffer types (AMX tiles, repacked weights) are worth here:
tokens/s of the same GGUF loaded with ``use_extra_bufts`` off (our default, safe on every
CPU) and on, alternated ABAB in one process, medians reported.

    python benchmarks/llama_extra_buffers.py --model model.gguf [--pairs 4] [--tokens 64]

On a CPU where the extra buffer types crash (some AMX CPUs), the "on" side segfaults:
run it only where ``llama_print_system_info()`` shows no AMX, or expect that.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPT = [{"role": "system", "content": "You answer in detail."},
          {"role": "user", "content": "Explain how a bicycle's gears work, step by step, "
           "and why riders change gear on hills. " * 3}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args()
    import llama_cpp
    from llama_cpp import Llama

    from assistant.llm import llama_model_params

    print(llama_cpp.llama_print_system_info().decode(errors="replace").strip())
    models = {}
    for extra in (False, True):
        with llama_model_params(extra):
            models[extra] = Llama(model_path=str(args.model), n_ctx=2048, verbose=False,
                                  n_threads=2)
        assert bool(models[extra].model_params.use_extra_bufts) is extra
    prompt_tps: dict[bool, list[float]] = {False: [], True: []}
    gen_tps: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.pairs):
        for extra in (False, True):  # ABAB
            m = models[extra]
            m.reset()
            t = time.perf_counter()
            first = None
            n = 0
            for ev in m.create_chat_completion(PROMPT, max_tokens=args.tokens, temperature=0,
                                               stream=True):
                if ev["choices"][0]["delta"].get("content"):
                    n += 1
                    if first is None:
                        first = time.perf_counter()
            end = time.perf_counter()
            ptoks = len(m.tokenize(str(PROMPT).encode()))
            prompt_tps[extra].append(ptoks / ((first or end) - t))
            gen_tps[extra].append((n - 1) / max(end - (first or end), 1e-9))
    for extra in (False, True):
        print(f"extra buffers {'on ' if extra else 'off'}: prompt "
              f"{statistics.median(prompt_tps[extra]):7.1f} tok/s, generation "
              f"{statistics.median(gen_tps[extra]):6.1f} tok/s (median of {args.pairs}; "
              f"gen runs {[round(x, 1) for x in gen_tps[extra]]})")
    print(f"off/on: prompt {statistics.median(prompt_tps[False]) / statistics.median(prompt_tps[True]):.2f}x, "
          f"generation {statistics.median(gen_tps[False]) / statistics.median(gen_tps[True]):.2f}x")


if __name__ == "__main__":
    main()
