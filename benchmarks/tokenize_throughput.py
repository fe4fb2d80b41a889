"""Tokenization throughput on the three datasets: `batching.tokenize` (truncation by strategy, via `datasets.map`)
and the tokenizer's own batched call, median of `--repeats` runs. Prints a table, writes results/tokenize_throughput_cpu.json.

    python benchmarks/tokenize_throughput.py [--repeats 3] [--out results/tokenize_throughput_cpu.json]
"""
import argparse, json, os, platform, statistics, time
from datetime import date
from pathlib import Path

import datasets, tokenizers, torch, transformers
from datasets import concatenate_datasets
from transformers import AutoTokenizer

from model_finetune.assets import fetch
from model_finetune.batching import tokenize
from model_finetune.data import get_dataset

def timed(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); times.append(time.perf_counter() - t0)
    return statistics.median(times), times

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results" / "tokenize_throughput_cpu.json"))
    args = ap.parse_args()
    datasets.disable_caching(); datasets.disable_progress_bars()
    tok = AutoTokenizer.from_pretrained(fetch("minilm-l6"))
    rows = []
    for name, max_length in (("rotten_tomatoes", 128), ("tweets", 128), ("imdb", 512)):
        dsd = get_dataset(name)
        ds = concatenate_datasets([dsd[s] for s in dsd])
        texts = list(ds["text"])
        for how, f in ((f"tokenize(..., {max_length}, 'head+tail')", lambda: tokenize(ds, tok, max_length, "head+tail")),
                       (f"tokenizer(texts, truncation=True, max_length={max_length})", lambda: tok(texts, truncation=True, max_length=max_length))):
            med, times = timed(f, args.repeats)
            rows.append({"dataset": name, "texts": len(texts), "call": how, "median s": round(med, 2),
                         "texts/s": round(len(texts) / med), "runs s": [round(t, 2) for t in times]})
            print(f"{name:16s} {len(texts):>6,} texts  {how:55s} {med:7.2f} s  {len(texts) / med:>8,.0f} texts/s")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
               f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, datasets {datasets.__version__}")
    out = {"benchmark": "tokenize_throughput", "date": str(date.today()), "machine": machine, "repeats": args.repeats, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(machine); print("wrote", args.out)

if __name__ == "__main__": main()
