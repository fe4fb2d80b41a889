"""Where a training step's time goes: `torch.profiler` over a window of `fit` steps, once per loop, on the Rotten Tomatoes
training snippets (max length 128) or on random-128 (train_speed.py's random token ids, 128 real tokens each). For each
loop: wall ms a step (under the profiler, which adds its own cost), GPU busy ms a step (the sum of the kernels' and copies'
durations), kernel and graph launches a step, host waits a step (synchronize calls and reads of a GPU value), and the
host-side operations that cost the most. The loop `predict` does the same for evaluation: passes of `predict_logits` over
`eval_loader`'s batches of the validation split (batch 128, as train_speed.py's eval figure), per batch instead of per
step; `predict-graphs` (CUDA) the same passes replaying each batch shape's recorded forward (`GraphedForward`, recorded
in the unprofiled passes). Prints a table, writes results/profile_step_<device>.json and benchmarks/profile_step_<device>.md.

    python benchmarks/profile_step.py [--model minilm-l6|bert-base-random] [--batch 32] [--warmup 30] [--steps 20]
                                      [--loops fit fit-graphs predict predict-graphs] [--data rotten_tomatoes|random-128]
                                      [--json PATH] [--md PATH]

`--warmup` steps run before the window, so that the usual batch shapes are already recorded (graphs) or compiled;
for `predict`, two passes run before the three profiled ones.
"""
import argparse, json, platform, tempfile
from datetime import date
from pathlib import Path

import datasets, torch, transformers
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from model_finetune.batching import make_loader, tokenize
from model_finetune.data import get_dataset
from model_finetune.train import (Callback, GraphedForward, eval_loader, fit, get_device, predict_logits, resolve_precision,
                                  seed_everything)
from train_speed import MODELS, build, random_tokens  # the benchmark's models (bert-base-random: BERT-base's shape) and random-128 data

ROOT = Path(__file__).resolve().parents[1]
LOOPS = {"fit": {}, "fit-graphs": dict(graphs=True), "fit-fast": dict(compile="cudagraphs"), "predict": None, "predict-graphs": None}
LAUNCHES = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx")
WAITS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "aten::_local_scalar_dense")

class Window(Callback):
    "Profile steps `first + 1` to `first + steps`, with the GPU synchronised at both ends."
    def __init__(self, prof, first, steps, device): self.prof, self.first, self.last, self.device = prof, first, first + steps, device
    def on_step_end(self, run):
        if run.step in (self.first, self.last): torch.cuda.synchronize(self.device) if self.device.type == "cuda" else None
        if run.step == self.first: self.prof.start()
        if run.step == self.last: self.prof.stop(); run.stop = True

def summary(prof, steps) -> dict:
    "Per-step figures and the top host operations of a finished profile."
    events = prof.key_averages()
    # each kernel (or copy) once, as its own device event: the host operation that launched it also lists its time
    gpu_us = sum(e.time_range.elapsed_us() for e in prof.events()
                 if e.device_type == DeviceType.CUDA and not getattr(e, "is_user_annotation", False))
    count = lambda names: sum(e.count for e in events if e.key in names)
    host = [e for e in prof.events() if e.device_type == DeviceType.CPU]  # the wall clock from host events alone
    wall_us = max(e.time_range.end for e in host) - min(e.time_range.start for e in host)
    top = sorted((e for e in events if e.key.startswith("aten::") or e.key.startswith("cuda")), key=lambda e: -e.self_cpu_time_total)[:8]
    return {"wall ms/step": wall_us / 1000 / steps, "GPU busy ms/step": gpu_us / 1000 / steps,
            "GPU busy %": 100 * gpu_us / wall_us, "kernel launches/step": count(LAUNCHES) / steps,
            "graph launches/step": count(("cudaGraphLaunch",)) / steps, "host waits/step": count(WAITS) / steps,
            "top host ops": [{"op": e.key, "calls/step": e.count / steps, "self CPU ms/step": e.self_cpu_time_total / 1000 / steps}
                             for e in top]}

def profile_predict(model, ev, device, precision, passes=3, warmup=2, graphs=False) -> dict:
    "`summary` of `passes` passes of `predict_logits` over `ev`, per batch, after `warmup` passes (which record the graphs)."
    graphs = GraphedForward(model, device, precision) if graphs else False
    for _ in range(warmup): predict_logits(model, ev, device, precision=precision, graphs=graphs)
    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])) as prof:
        for _ in range(passes): predict_logits(model, ev, device, precision=precision, graphs=graphs)  # each pass ends synchronised
    return summary(prof, passes * len(ev))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm-l6", choices=MODELS, help="tiny: a 2-layer random BERT, for a smoke test")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--loops", nargs="+", default=None, choices=list(LOOPS), help="default: fit and predict, and on CUDA fit-graphs and predict-graphs")
    ap.add_argument("--data", default="rotten_tomatoes", choices=["rotten_tomatoes", "random-128"])
    ap.add_argument("--device")
    ap.add_argument("--json", type=Path, help="where the results go (default: results/profile_step_{cpu,cuda}.json)")
    ap.add_argument("--md", type=Path, help="where the tables go (default: benchmarks/profile_step_{cpu,cuda}.md)")
    args = ap.parse_args()
    device = get_device(args.device); cuda = device.type == "cuda"; precision = resolve_precision("auto", device)
    loops = args.loops or (["fit", "fit-graphs", "predict", "predict-graphs"] if cuda else ["fit", "predict"])
    datasets.disable_progress_bars(); transformers.logging.set_verbosity_error()
    dsd = get_dataset("rotten_tomatoes"); names = dsd["train"].features["label"].names
    with tempfile.TemporaryDirectory() as tmp: _, tok = build(args.model, names, list(dsd["train"]["text"][:512]), tmp)
    if args.data == "random-128":
        tds = datasets.DatasetDict(train=random_tokens(tok, len(dsd["train"]), len(names)),
                                   validation=random_tokens(tok, len(dsd["validation"]), len(names), seed=1))
    else: tds = tokenize(dsd, tok, 128)
    name = torch.cuda.get_device_name(device) if cuda else f"{platform.machine()}, {torch.get_num_threads()} threads"
    versions = f"torch {torch.__version__}, transformers {transformers.__version__}, Python {platform.python_version()}"
    rows = {}
    for loop in loops:
        seed_everything(0)
        with tempfile.TemporaryDirectory() as tmp: model, _ = build(args.model, names, list(dsd["train"]["text"][:512]), tmp)
        if loop.startswith("predict"):
            try: rows[loop] = profile_predict(model.to(device), eval_loader(tds["validation"], tok, 128, pad_to_multiple_of=8), device,
                                              precision, graphs=loop == "predict-graphs")
            except Exception as e: rows[loop] = {"error": f"{type(e).__name__}: {e}"[:500]}  # the other loops still run
            print(loop, json.dumps({k: v for k, v in rows[loop].items() if k != "top host ops"}), flush=True)
            write(rows, args, name, versions, precision, cuda); continue
        loader = make_loader(tds["train"], tok, args.batch, shuffle=True, seed=0, pad_to_multiple_of=8 if loop == "fit" else 32)
        prof = profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else []))
        try:
            fit(model, loader, epochs=2, lr=5e-5, precision=precision, max_grad_norm=1.0, progress=False, device=device,
                callbacks=(Window(prof, args.warmup, args.steps, device),), **LOOPS[loop])
            rows[loop] = summary(prof, args.steps)
        except Exception as e: rows[loop] = {"error": f"{type(e).__name__}: {e}"[:500]}  # the other loops still run
        print(loop, json.dumps({k: v for k, v in rows[loop].items() if k != "top host ops"}), flush=True)
        write(rows, args, name, versions, precision, cuda)  # after every loop: a run cut short keeps what it measured

def write(rows, args, name, versions, precision, cuda):
    "The JSON and the markdown tables of the loops profiled so far."
    kind = "cuda" if cuda else "cpu"
    out = {"benchmark": "profile_step", "date": str(date.today()), "device": name, "versions": versions, "precision": precision,
           "args": vars(args), "loops": rows}
    (args.json or ROOT / "results" / f"profile_step_{kind}.json").write_text(json.dumps(out, default=str, indent=1) + "\n")
    cols = ["wall ms/step", "GPU busy ms/step", "GPU busy %", "kernel launches/step", "graph launches/step", "host waits/step"]
    md = [f"# One training step, profiled: {name}, {versions}, {date.today()}", "",
          f"{args.model}, batch {args.batch}, {precision}, {'Rotten Tomatoes snippets' if args.data == 'rotten_tomatoes' else args.data}; "
          f"steps {args.warmup + 1} to {args.warmup + args.steps} of `fit`, under torch.profiler (which slows the host side); "
          "predict: per batch (up to 128 rows) of 3 passes of `predict_logits` over the validation split, after 2 unprofiled passes "
          "(predict-graphs: replaying the graphs those recorded).", "",
          "| loop | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    md += [f"| {loop} | " + " | ".join(f"{r[c]:,.2f}" for c in cols) + " |" for loop, r in rows.items() if "error" not in r]
    md += [f"\n{loop} failed: {r['error']}" for loop, r in rows.items() if "error" in r]
    for loop, r in [(l, r) for l, r in rows.items() if "error" not in r]:
        md += ["", f"Host operations with the most self time, {loop}:", "", "| op | calls/step | self CPU ms/step |", "|---|---|---|"]
        md += [f"| {t['op']} | {t['calls/step']:.1f} | {t['self CPU ms/step']:.2f} |" for t in r["top host ops"]]
    (args.md or ROOT / "benchmarks" / f"profile_step_{kind}.md").write_text("\n".join(md) + "\n")

if __name__ == "__main__": main()
