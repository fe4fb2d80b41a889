"""Host time to make batches, the work a GPU step waits on when the model is small: a `DataLoader` with transformers'
`DataCollatorWithPadding` (what `make_loader` and `eval_loader` used before), `make_loader` with `PadCollator`, and
`eval_loader`'s `EvalBatches` with fixed and with growing batches. A last training row fetches the same batches of rows
from the dataset without padding them: the part of a batch's cost that is not the collator's. Rotten Tomatoes (tokenized
by MiniLM-L6, max length 128) and random-128 (128 random token ids per example); lengths padded to multiples of 8. Each figure: the median over
`--repeats` full passes. Prints a markdown table, writes results/loader_speed_cpu.json and benchmarks/loader_speed_cpu.md.

    python benchmarks/loader_speed.py [--repeats 5]
"""
import argparse, json, os, platform, statistics, sys, time
from datetime import date
from pathlib import Path

import datasets, numpy as np, torch, transformers
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import random_tokens

from model_finetune.batching import BucketBatchSampler, make_loader, tokenize
from model_finetune.data import get_dataset
from model_finetune.heads import load_tokenizer
from model_finetune.train import eval_loader

ROOT = Path(__file__).resolve().parents[1]

def timed_pass(loader, repeats):
    "Milliseconds per pass and per batch (medians over `repeats` passes), batches and rows per pass."
    times, n, rows = [], 0, 0
    for _ in range(repeats):
        t0 = time.perf_counter(); n = rows = 0
        for b in loader: n += 1; rows += len(b["input_ids"])
        times.append(time.perf_counter() - t0)
    ms = 1000 * statistics.median(times)
    return {"ms per pass": ms, "batches": n, "ms per batch": ms / n, "rows": rows}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    datasets.disable_progress_bars(); transformers.logging.set_verbosity_error()
    tok = load_tokenizer("minilm-l6")
    rt = tokenize(get_dataset("rotten_tomatoes"), tok, 128)
    data = {"rotten_tomatoes": (rt["train"], rt["validation"]),
            "random-128": (random_tokens(tok, len(rt["train"]), 2), random_tokens(tok, len(rt["validation"]), 2, seed=1))}
    hf = DataCollatorWithPadding(tok, pad_to_multiple_of=8)
    rows = []
    for name, (train, valid) in data.items():
        lengths = [len(x) for x in train["input_ids"]]
        order = np.argsort([-len(x) for x in valid["input_ids"]], kind="stable").tolist()
        loaders = {("train", 32, "DataLoader + DataCollatorWithPadding"):
                       DataLoader(train, batch_sampler=BucketBatchSampler(lengths, 32), collate_fn=hf),
                   ("train", 32, "make_loader (PadCollator)"): make_loader(train, tok, 32, shuffle=True, pad_to_multiple_of=8),
                   ("train", 32, "rows only: the same batches as lists, not padded"):  # the share of the dataset itself
                       DataLoader(train, batch_sampler=BucketBatchSampler(lengths, 32), collate_fn=lambda rows: {"input_ids": rows}),
                   ("eval", 128, "DataLoader + DataCollatorWithPadding, sorted"):
                       DataLoader(valid, batch_size=128, sampler=order, collate_fn=hf),
                   ("eval", 128, "eval_loader, fixed batches"): eval_loader(valid, tok, 128, pad_to_multiple_of=8, grow=False),
                   ("eval", 128, "eval_loader, growing batches"): eval_loader(valid, tok, 128, pad_to_multiple_of=8)}
        for (split, bs, how), loader in loaders.items():
            rows.append({"data": name, "split": split, "batch": bs, "loader": how, **timed_pass(loader, args.repeats)})
            print(rows[-1], flush=True)
    for r in rows:  # against the DataLoader + DataCollatorWithPadding row of the same data and split
        base = next(b for b in rows if (b["data"], b["split"]) == (r["data"], r["split"]) and b["loader"].startswith("DataLoader"))
        r["pass time / collator"] = r["ms per pass"] / base["ms per pass"]
    device = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    versions = f"torch {torch.__version__}, transformers {transformers.__version__}, datasets {datasets.__version__}, Python {platform.python_version()}"
    out = {"benchmark": "loader_speed", "date": str(date.today()), "device": device, "versions": versions, "repeats": args.repeats, "rows": rows}
    (ROOT / "results" / "loader_speed_cpu.json").write_text(json.dumps(out, indent=1) + "\n")
    cols = ["data", "split", "batch", "loader", "batches", "ms per batch", "ms per pass", "pass time / collator"]
    fmt = lambda v: f"{v:,.2f}" if isinstance(v, float) else str(v)
    table = "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows])
    md = (f"# Loader speed: {device}, {versions}, {date.today()}\n\nHost time to make one pass of batches (Rotten Tomatoes: 10,199 "
          f"training and 1,275 validation snippets; random-128: as many random sequences of 128 tokens), lengths padded to multiples "
          f"of 8; median of {args.repeats} passes.\n\n{table}\n")
    (ROOT / "benchmarks" / "loader_speed_cpu.md").write_text(md); print(md)

if __name__ == "__main__": main()
