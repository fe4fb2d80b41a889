"""Training speed of a plain PyTorch loop, the package's `fit`, its CUDA-only fast paths (`fit(compile='cudagraphs')`,
`fit(graphs=True)`, `fit(graphs=True, compile=True)`) and Hugging Face's `Trainer`, all with the same starting weights, data,
collator (`PadCollator`), precision, AdamW, linear warmup/decay and clipping (1.0). Evaluation: `predict_logits` over
`eval_loader`, eager and (on CUDA) with recorded graphs (`GraphedForward`), against `Trainer.predict`.
Each row: `--warmup` untimed steps, then `--steps` timed ones; median of `--repeats` runs. Prints a markdown table, writes
results/train_speed_<device>.json and benchmarks/train_speed_<device>.md (<device>: cpu or cuda).

    python benchmarks/train_speed.py [--model minilm-l6 bert-base-random] [--batch-sizes 32 256] [--steps N] [--warmup 5]
                                     [--repeats 3] [--precision auto] [--peak-tflops 989] [--time-to-accuracy] [--tweets]
                                     [--configs MODEL:BATCH[:LOOP,LOOP[:DATA]] ...] [--tta-loops fit fit-graphs] [--tta-pooling mean]
                                     [--eval-repeats 11] [--paired N]
CPU defaults: --model minilm-l6 --batch-sizes 32 --steps 20; CUDA defaults: both models, both batch sizes, --steps 50.
`--configs` runs those (model, batch size) pairs in that order instead of every model with every batch size, each with
all its loops or only those named (see LOOPS; plain-unfused and plain-pinned-sdpa change one speed knob of the plain loop
each, and the fit-* loops after fit are its CUDA-only fast paths), on the Rotten Tomatoes
training snippets or on DATA=random-128 (random token ids, every sequence 128 real tokens: the input the targets of the
issue were set on): `minilm-l6:32:plain,fit,trainer bert-base-random:256::random-128 minilm-l6:32:fit-fast` leaves the
compilations of fit-fast for last. The JSON and the table are rewritten after every row, and the time-to-accuracy runs
(`--tta-loops`: fit, and on CUDA fit-graphs) come first, so a run cut short keeps what it measured.
`--model tiny` (a 2-layer random BERT on 512 Rotten Tomatoes texts) is for smoke tests.
"""
import argparse, contextlib, copy, importlib.util, json, math, os, platform, resource, statistics, tempfile, time
from datetime import date
from pathlib import Path

import datasets, torch, transformers
import torch.nn.functional as F
from transformers import (BertConfig, BertForSequenceClassification, PrinterCallback, Trainer,
                          TrainerCallback, TrainingArguments, get_linear_schedule_with_warmup)

from model_finetune.batching import PadCollator, make_loader, tokenize
from model_finetune.data import get_dataset
from model_finetune.evaluation import precision_recall_f1
from model_finetune.heads import load_classifier, load_tokenizer, tiny_backbone
from model_finetune.train import (Callback, GraphedForward, autocast, eval_loader, fast_attention, fit, get_device, predict_logits,
                                  resolve_precision, seed_everything)

ROOT = Path(__file__).resolve().parents[1]

def synced(device) -> float:
    if device.type == "cuda": torch.cuda.synchronize(device)
    return time.perf_counter()

class StepClock:
    "Synced times at the end of steps `warmup` and `warmup + steps`; each loop ticks it after every optimizer step."
    def __init__(self, device, warmup, steps): self.device, self.marks, self.times = device, (warmup, warmup + steps), {}
    def tick(self, step):
        if step in self.marks: self.times[step] = synced(self.device)  # syncing only here keeps each loop's CPU/GPU overlap

class FitTick(Callback):
    def __init__(self, clock): self.clock = clock
    def on_step_end(self, run): self.clock.tick(run.step)

class TrainerTick(TrainerCallback):
    def __init__(self, clock): self.clock = clock
    def on_step_end(self, args, state, control, **kwargs): self.clock.tick(state.global_step)

class Recorder:
    "The collator (make_loader's PadCollator, for every loop), noting (rows, real tokens, padded length) of each batch it makes."
    def __init__(self, tok, multiple): self.collate, self.seen = PadCollator(tok, multiple), []
    def __call__(self, features):
        b = self.collate(features)
        self.seen.append((b["input_ids"].shape[0], int(b["attention_mask"].sum()), b["input_ids"].shape[1]))
        return b

def plain_loop(model, loader, total, lr, precision, device, clock, fused=True):
    "The reference: the fewest lines that train with the same optimizer, schedule, precision and clipping."
    # All weights decayed (fit and Trainer spare biases and norms): the same work per step.
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, fused=(fused and device.type == "cuda") or None)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(0.1 * total), total)
    model.train(); step, epoch = 0, 0
    while step < total:
        loader.batch_sampler.set_epoch(epoch); epoch += 1  # the batches fit sees: a function of (seed, epoch), whatever ran before
        for b in loader:
            b = {k: v.to(device, non_blocking=True) for k, v in b.items()}
            with autocast(device, precision): logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
            F.cross_entropy(logits.float(), b["labels"]).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
            step += 1; clock.tick(step)
            if step == total: break

def trainer_run(base, ds, rec, batch_size, total, args, precision, device, clock, out_dir):
    "Train a fresh copy of `base` (accelerate patches the forward of the model it prepares) with Trainer's own loop."
    targs = TrainingArguments(
        out_dir, per_device_train_batch_size=batch_size, per_device_eval_batch_size=args.eval_batch_size, max_steps=total,
        learning_rate=args.lr, weight_decay=0.01, lr_scheduler_type="linear", warmup_steps=0.1, max_grad_norm=1.0,  # 0.1: a ratio
        optim="adamw_torch_fused" if device.type == "cuda" else "adamw_torch", bf16=precision == "bf16", use_cpu=device.type == "cpu",
        # Trainer draws its own batches, so not the same ones as plain and fit: length-grouped (random megabatches of
        # min(50, n // 4B) batches, each sorted by length) is its closest match to make_loader's buckets of 50 batches,
        # but pads more at large B (8 batches per megabatch at B=256); the padding % column shows it.
        train_sampling_strategy="group_by_length", dataloader_pin_memory=False,  # make_loader does not pin either
        eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True, seed=0)
    trainer = Trainer(copy.deepcopy(base), targs, train_dataset=ds, data_collator=rec, callbacks=[TrainerTick(clock)])
    trainer.remove_callback(PrinterCallback)  # added by disable_tqdm: it would print each run's summary
    trainer.train()
    return trainer

def measure(run, rec, device, warmup, steps, repeats, flops_per_token):
    "Run `run(clock)` `repeats` times; medians of the timed window's rates, with its work taken from the batches collated."
    runs = []
    for _ in range(repeats):
        seed_everything(0); rec.seen.clear(); clock = StepClock(device, warmup, steps)
        clock.times[0] = synced(device); out = run(clock)
        s, window = clock.times[warmup + steps] - clock.times[warmup], rec.seen[warmup:warmup + steps]
        real, positions = sum(w[1] for w in window), sum(w[0] * w[2] for w in window)
        runs.append({"step ms": 1000 * s / steps, "warm-up s": clock.times[warmup] - clock.times[0],
                     "samples/s": sum(w[0] for w in window) / s, "real tokens/s": real / s, "padding %": 100 * (1 - real / positions),
                     "flop/s": sum(w[1] * flops_per_token(w[2]) for w in window) / s})
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    med["first warm-up s"] = runs[0]["warm-up s"]  # the first run's time to step `warmup`: setup, and compilation for fit-fast
    return med, out

def timed_eval(f, n, repeats):
    "Eval samples/s: median of `repeats` passes (the first pays any warm-up; the median drops it)."
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); times.append(time.perf_counter() - t0)
    return n / statistics.median(times)

def random_tokens(tok, n, classes, length=128, seed=0):
    "`n` sequences of `length` random token ids between [CLS] and [SEP], no padding, random labels."
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(min(1000, len(tok) // 2), len(tok), (n, length), generator=g)
    ids[:, 0], ids[:, -1] = tok.cls_token_id, tok.sep_token_id
    return datasets.Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones(n, length, dtype=torch.long).tolist(),
                                       "label": torch.randint(0, classes, (n,), generator=g).tolist()})

def build(name, names, texts, tmp):
    "(model, tokenizer) for a --model name, built on the CPU."
    if name == "tiny":  # a tokenizer from these texts and a 2-layer random BERT, as the notebooks' tests build it
        folder = tiny_backbone(Path(tmp) / "tiny", texts, overwrite=True)  # the same folder for each batch size and config
        return load_classifier(folder, names), load_tokenizer(folder)
    tok = load_tokenizer("minilm-l6")
    if name == "minilm-l6": return load_classifier("minilm-l6", names), tok
    cfg = BertConfig(vocab_size=len(tok), hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                     num_labels=len(names))  # BERT-base's shape, random weights: the compute of a larger model, no download
    return BertForSequenceClassification(cfg), tok

LOOPS = ("plain", "plain-unfused", "plain-pinned-sdpa", "fit", "fit-compiled", "fit-fast", "fit-graphs", "fit-graphs-compiled", "trainer")
FAST = {"fit-compiled": dict(compile=True), "fit-fast": dict(compile="cudagraphs"), "fit-graphs": dict(graphs=True),
        "fit-graphs-compiled": dict(graphs=True, compile=True)}
MODELS = ("minilm-l6", "bert-base-random", "tiny")
DATA = ("rotten_tomatoes", "random-128")

def bench(name, dsd, args, precision, device, tmp, batch_sizes, rows, loops=LOOPS, data="rotten_tomatoes"):
    "Append to `rows` the rows of one model at each batch size: those of `loops` (the fast ones on CUDA only)."
    cuda, names = device.type == "cuda", dsd["train"].features["label"].names
    seed_everything(0); base, tok = build(name, names, list(dsd["train"]["text"]), tmp)
    if data == "random-128":
        tds = datasets.DatasetDict(train=random_tokens(tok, len(dsd["train"]), len(names)),
                                   validation=random_tokens(tok, len(dsd["validation"]), len(names), seed=1))
    else: tds = tokenize(dsd, tok, 128)
    cfg = base.config
    n = sum(p.numel() for k, p in base.named_parameters() if "embeddings" not in k)  # non-embedding parameters
    fpt = lambda T: 6 * n + 12 * cfg.num_hidden_layers * T * cfg.hidden_size  # training FLOPs per real token, T = padded length
    W, N = args.warmup, args.steps
    for bs in batch_sizes:
        def row(loop, run, rec, eval_fn=None, warmup=W):
            if loop not in loops: return
            if cuda:  # compile as a fresh process would, and free the previous row's CUDA graph pools before measuring memory
                torch.compiler.reset(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(device)
            try: med, out = measure(run, rec, device, warmup, N, args.repeats, fpt)
            except Exception as e:  # a loop that fails is recorded as such, and the other rows still run
                args.errors.append({"data": data, "model": name, "batch": bs, "loop": loop, "error": f"{type(e).__name__}: {e}"[:500]})
                print("failed:", args.errors[-1], flush=True); args.save(rows); return
            mem = torch.cuda.max_memory_allocated(device) if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            rows.append({"data": data, "model": name, "batch": bs, "loop": loop, "warm-up steps": warmup, **med,
                         "MFU %": 100 * med["flop/s"] / (args.peak_tflops * 1e12) if cuda else None, "peak memory MB": mem / 2**20,
                         "eval samples/s": None, **(eval_fn(out) if eval_fn else {})})
            print(fmt_row(rows[-1]), flush=True); args.save(rows)
        model, rec = copy.deepcopy(base).to(device), Recorder(tok, 8)  # every run loads base's weights into it (in place)
        loader = make_loader(tds["train"], tok, bs, shuffle=True, seed=0, collate_fn=rec)  # the same batches for plain and fit
        def run_plain(fused=True, pinned=False):  # the last two: one speed knob each, changed alone
            def run(clock):
                model.load_state_dict(base.state_dict())
                with fast_attention(device) if pinned else contextlib.nullcontext():
                    plain_loop(model, loader, W + N, args.lr, precision, device, clock, fused)
            return run
        def run_fit(train_loader, warmup=W, **fast):
            def run(clock):
                model.load_state_dict(base.state_dict())
                fit(model, train_loader, epochs=math.ceil((warmup + N) / len(train_loader)), lr=args.lr, max_steps=warmup + N,
                    precision=precision, max_grad_norm=1.0, progress=False, device=device, callbacks=(FitTick(clock),), **fast)
            return run
        ev = eval_loader(tds["validation"], tok, args.eval_batch_size, pad_to_multiple_of=8)
        nv = len(tds["validation"])
        row("plain", run_plain(), rec)
        if cuda: row("plain-unfused", run_plain(fused=False), rec); row("plain-pinned-sdpa", run_plain(pinned=True), rec)
        def fit_eval(_):  # predict_logits over eval_loader's batches, and over make_loader's (dataset order, fixed size, collated)
            collated = make_loader(tds["validation"], tok, args.eval_batch_size, pad_to_multiple_of=8)
            out = {"eval samples/s": timed_eval(lambda: predict_logits(model, ev, device, precision=precision), nv, args.eval_repeats),
                   "eval samples/s, collated batches": timed_eval(lambda: predict_logits(model, collated, device, precision=precision),
                                                                  nv, args.eval_repeats)}
            if cuda:  # recorded evaluation: the first pass records each batch shape (timed alone), the median is of the replays
                try:
                    graphs = GraphedForward(model, device, precision)
                    t0 = time.perf_counter(); predict_logits(model, ev, device, precision=precision, graphs=graphs)
                    out["eval graphs: first pass s"] = time.perf_counter() - t0
                    out["eval samples/s, graphs"] = timed_eval(lambda: predict_logits(model, ev, device, precision=precision, graphs=graphs),
                                                               nv, args.eval_repeats)
                except Exception as e:  # recorded, and the row and the rows after it still come
                    out["eval graphs error"] = f"{type(e).__name__}: {e}"[:500]; print("eval graphs failed:", out["eval graphs error"], flush=True)
                finally: graphs = None; torch.cuda.empty_cache()  # its memory pool is not the next row's
            return out
        row("fit", run_fit(loader), rec, fit_eval)
        if args.paired and {"plain", "fit"} <= set(loops):  # runs of the two loops in turn, so a drifting machine moves both alike,
            ratios = []                                       # and in alternating order, since a process's later runs can be slower
            for i in range(args.paired):
                pair = [measure(r, rec, device, W, N, 1, fpt)[0]["step ms"] for r in ((run_fit(loader), run_plain())[::1 - 2 * (i % 2)])]
                ratios.append(pair[0] / pair[1] if i % 2 == 0 else pair[1] / pair[0])
            args.paired_ratios.append({"data": data, "model": name, "batch": bs, "fit / plain step time, each pair": ratios,
                                       "median": statistics.median(ratios)})
            print("paired fit / plain:", args.paired_ratios[-1], flush=True); args.save(rows)
        for loop in [l for l in FAST if l in loops and cuda]:  # CUDA graphs need fixed shapes: padding to 32 leaves at most 4
            fast = Recorder(tok, 8 if loop == "fit-compiled" else 32)  # lengths (and the epoch's last, smaller batch);
                                                                       # fit-compiled, with dynamic shapes, pads as fit does
            fast_loader = make_loader(tds["train"], tok, bs, shuffle=True, seed=0, collate_fn=fast)
            row(loop, run_fit(fast_loader, args.fast_warmup, **FAST[loop]), fast, warmup=args.fast_warmup)
        del model
        if "trainer" not in loops: continue
        if importlib.util.find_spec("accelerate") is None:
            print("trainer: skipped, Trainer needs `pip install accelerate`")
            continue
        rec = Recorder(tok, 8)
        row("trainer", lambda clock: trainer_run(base, tds["train"], rec, bs, W + N, args, precision, device, clock, tmp), rec,
            lambda trainer: {"eval samples/s": timed_eval(lambda: trainer.predict(tds["validation"]), nv, args.eval_repeats)})

def row_order(r):
    "Rows grouped by data, model and batch size, loops in the order of LOOPS (the order they ran in may differ)."
    return (DATA.index(r["data"]), MODELS.index(r["model"]), r["batch"], LOOPS.index(r["loop"]))

def add_ratios(rows):
    "Each row's step time over the plain loop's, same data, model and batch size."
    key = lambda r: (r["data"], r["model"], r["batch"])
    plain = {key(r): r["step ms"] for r in rows if r["loop"] == "plain"}
    for r in rows: r["step time / plain"] = r["step ms"] / plain[key(r)] if key(r) in plain else None

def time_to_accuracy(model, tok, dsd, device, precision, lr=5e-5, epochs=3, target=0.80, loop="fit", seed=0, callbacks=()):
    "fit (or fit-graphs) on the train split, test accuracy after each epoch: training seconds (evaluations excluded) to `target`."
    tds = tokenize(dsd, tok, 128)
    h = fit(model, make_loader(tds["train"], tok, 32, shuffle=True, seed=seed, pad_to_multiple_of=8 if loop == "fit" else 32),
            eval_loader(tds["test"], tok, 128, pad_to_multiple_of=8), epochs=epochs, lr=lr, precision=precision,
            max_grad_norm=1.0, progress=False, device=device, callbacks=callbacks, **FAST.get(loop, {}))
    first = next((e["train_seconds"] for e in h["evals"] if e["valid_accuracy"] >= target - 1e-6), None)  # a float32 mean
    logits, labels = predict_logits(model, eval_loader(tds["test"], tok, 128, pad_to_multiple_of=8), device, precision=precision)
    f1 = precision_recall_f1(labels.numpy(), logits.argmax(-1).numpy(), len(dsd["train"].features["label"].names), "macro")[2]
    return {"target test accuracy": target, "train s to target": first, "final test accuracy": h["evals"][-1]["valid_accuracy"],
            "final test macro-F1": float(f1), "train s": h["evals"][-1]["train_seconds"], "evals": h["evals"]}

COLUMNS = ["data", "model", "batch", "loop", "warm-up steps", "step ms", "samples/s", "real tokens/s", "MFU %", "padding %", "peak memory MB",
           "first warm-up s", "eval samples/s", "eval samples/s, graphs", "step time / plain"]

def fmt(v):
    if not isinstance(v, float): return "–" if v is None else str(v)
    return f"{v:,.2f}" if abs(v) < 10 else f"{v:,.0f}"

def fmt_row(r): return "| " + " | ".join(fmt(r.get(c)) for c in COLUMNS) + " |"
def table(rows): return "\n".join(["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)] + [fmt_row(r) for r in rows])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", choices=MODELS)
    ap.add_argument("--batch-sizes", nargs="+", type=int)
    ap.add_argument("--steps", type=int, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps before them")
    ap.add_argument("--fast-warmup", type=int, default=20, help="the same for the compiled and graph loops, which compile or record "
                    "each new batch shape when they first meet it (timed in 'first warm-up s')")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="auto: bf16 on CUDA, fp32 on CPU")
    ap.add_argument("--eval-batch-size", type=int, default=128)
    ap.add_argument("--eval-repeats", type=int, default=11, help="passes over the validation split per eval figure (median)")
    ap.add_argument("--paired", type=int, default=0, help="also this many pairs of runs of plain and fit in turn (fit first, then "
                    "plain first, and so on), and the median of their step-time ratios: on a drifting machine, steadier than the ratio "
                    "of two medians taken one loop after the other")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="dense peak at --precision, for MFU (989: H100/H200 bf16)")
    ap.add_argument("--time-to-accuracy", action="store_true", help="also: MiniLM-L6, B=32, 3 epochs, test accuracy per epoch")
    ap.add_argument("--tweets", action="store_true", help="also: the same on the 3-class tweets, with the final test macro-F1")
    ap.add_argument("--note", default="", help="a sentence on how this run was made, kept in the JSON and the table")
    ap.add_argument("--device", help="default: get_device()")
    ap.add_argument("--json", type=Path, help="where the results go (default: results/train_speed_{cpu,cuda}.json)")
    ap.add_argument("--md", type=Path, help="where the table goes (default: benchmarks/train_speed_{cpu,cuda}.md)")
    ap.add_argument("--configs", nargs="+", help="MODEL:BATCH[:LOOP,LOOP[:DATA]], run in this order (default: every model "
                    "with every batch size, all loops, on Rotten Tomatoes)")
    ap.add_argument("--tta-loops", nargs="+", choices=["fit", "fit-graphs"], help="the loops of the time-to-accuracy runs "
                    "(default: fit, and fit-graphs on CUDA)")
    ap.add_argument("--tta-pooling", choices=["cls", "mean", "max", "pooler"], help="the head of the Rotten Tomatoes "
                    "time-to-accuracy runs (default: transformers' own, which reads [CLS] through the pooler; mean: a "
                    "PooledClassifier averaging the token vectors, as MiniLM-L6 was pretrained; see rt_seeds.py). The "
                    "tweets run keeps transformers' head")
    ap.add_argument("--tweets-loops", nargs="+", choices=["fit", "fit-graphs"], help="those of the tweets run (default: --tta-loops)")
    args = ap.parse_args()
    device = get_device(args.device); cuda = device.type == "cuda"
    args.model = args.model or (["minilm-l6", "bert-base-random"] if cuda else ["minilm-l6"])
    args.batch_sizes, args.steps = args.batch_sizes or ([32, 256] if cuda else [32]), args.steps or (50 if cuda else 20)
    precision = resolve_precision(args.precision, device)
    datasets.disable_caching(); datasets.disable_progress_bars(); transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    def config(text):
        parts = text.split(":")
        if not 2 <= len(parts) <= 4: ap.error(f"--configs {text}: expected MODEL:BATCH[:LOOP,...[:DATA]]")
        name, bs, loops, data = parts + [""] * (4 - len(parts))
        if name not in MODELS or not bs.isdigit(): ap.error(f"--configs {text}: expected MODEL:BATCH[:LOOP,...[:DATA]], MODEL one of {', '.join(MODELS)}")
        loops = tuple(loops.split(",")) if loops else LOOPS
        if not set(loops) <= set(LOOPS): ap.error(f"--configs {text}: loops are {', '.join(LOOPS)}")
        if data and data not in DATA: ap.error(f"--configs {text}: DATA is one of {', '.join(DATA)}")
        return name, int(bs), loops, data or "rotten_tomatoes"
    configs = ([config(c) for c in args.configs] if args.configs else
               [(m, b, LOOPS, "rotten_tomatoes") for m in args.model for b in args.batch_sizes])
    tta_loops = args.tta_loops or (["fit", "fit-graphs"] if cuda else ["fit"])
    if not cuda and set(tta_loops + (args.tweets_loops or [])) - {"fit"}: ap.error("fit-graphs needs a CUDA GPU")
    args.errors, args.paired_ratios = [], []
    name = (torch.cuda.get_device_name(device) if cuda else
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads")
    versions = f"torch {torch.__version__}, transformers {transformers.__version__}, Python {platform.python_version()}"
    memory = "torch.cuda.max_memory_allocated per row" if cuda else "the process's max RSS so far (rough, never goes down)"
    kind = "cuda" if cuda else "cpu"
    json_path = args.json or ROOT / "results" / f"train_speed_{kind}.json"
    md_path = args.md or ROOT / "benchmarks" / f"train_speed_{kind}.md"
    json_path.parent.mkdir(parents=True, exist_ok=True); md_path.parent.mkdir(parents=True, exist_ok=True)
    rows, tta, tweets = [], {}, {}

    def save(rows):
        "Write the JSON and the markdown table of everything measured so far."
        add_ratios(rows)
        out = {"benchmark": "train_speed", "date": str(date.today()), "device": name, "versions": versions, "precision": precision,
               "peak memory": memory, "note": args.note, "rows": sorted(rows, key=row_order), "time_to_accuracy": tta,
               "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                        if k not in ("save", "paired_ratios") and not (args.configs and k in ("model", "batch_sizes"))},
               "tweets_3_epochs": tweets, "errors": args.errors, "paired": args.paired_ratios}
        json_path.write_text(json.dumps(out, indent=1) + "\n")
        notes = (f"{precision}, {args.warmup} warm-up steps ({args.fast_warmup} for the compiled and graph loops, which compile or "
                 f"record each batch shape when they first meet it) + {args.steps} timed steps, median of {args.repeats} runs; "
                 f"peak memory: {memory}; MFU against {args.peak_tflops:g} TFLOP/s; eval: median of {args.eval_repeats} passes over "
                 f"the validation split, batch {args.eval_batch_size} (fit: `predict_logits` over `eval_loader`; the JSON also has it over "
                 f"`make_loader`'s batches in dataset order, \"eval samples/s, collated batches\"; on CUDA, \"eval samples/s, graphs\" "
                 f"replays each batch shape's recorded forward, after a first pass that records them, timed alone in the JSON)")
        pads = {"fit": "padded to multiples of 8", "fit-graphs": "padded to multiples of 32"}
        head = lambda t: f", {t['pooling']} pooling" if t.get("pooling") else ""
        for loop, t in [*tta.items(), *tweets.items()]:
            if "error" in t: notes += f"\n\n{loop} failed in a time-to-accuracy run: {t['error']}"
        for loop, t in [(l, t) for l, t in tta.items() if "error" not in t]:
            notes += (f"\n\nTime to accuracy, {loop} (MiniLM-L6{head(t)}, B=32 {pads[loop]}, lr 5e-5, 3 epochs): {t['target test accuracy']} test accuracy after "
                      f"{fmt(t['train s to target'])} training s; final {t['final test accuracy']:.4f} after {t['train s']:.1f} s")
        for p in args.paired_ratios:
            notes += (f"\n\nfit / plain step time, {p['data']}, {p['model']}, batch {p['batch']}, {len(p['fit / plain step time, each pair'])} "
                      f"pairs of runs in turn, in alternating order: median {p['median']:.3f} (each: {', '.join(f'{x:.3f}' for x in p['fit / plain step time, each pair'])})")
        for e in args.errors: notes += f"\n\n{e['loop']} failed on {e['data']}, {e['model']}, batch {e['batch']}: {e['error']}"
        for loop, t in [(l, t) for l, t in tweets.items() if "error" not in t]:
            notes += (f"\n\nTweets, 3 classes, {loop} (MiniLM-L6, B=32 {pads[loop]}, lr 5e-5, 3 epochs): final test accuracy {t['final test accuracy']:.4f}, "
                      f"macro-F1 {t['final test macro-F1']:.4f} after {t['train s']:.1f} training s")
        md_path.write_text(f"# Training speed: {name}, {versions}, {date.today()}\n\n" + (f"{args.note}\n\n" if args.note else "") +
                           f"{notes}\n\n{table(sorted(rows, key=row_order))}\n")
        return notes
    args.save = save

    dsd = get_dataset("rotten_tomatoes")
    for wanted, d, out, loops, pooling in [(args.time_to_accuracy, dsd, tta, tta_loops, args.tta_pooling),
                                           (args.tweets, args.tweets and get_dataset("tweets"), tweets, args.tweets_loops or tta_loops, None)]:
        for loop in loops if wanted else []:
            seed_everything(0)
            try: out[loop] = time_to_accuracy(load_classifier("minilm-l6", d["train"].features["label"].names, pooling=pooling),
                                              load_tokenizer("minilm-l6"), d, device, precision, loop=loop) | {"pooling": pooling}
            except Exception as e: out[loop] = {"error": f"{type(e).__name__}: {e}"[:500]}  # the rest of the run still goes on
            print(f"time to accuracy, {loop}: {out[loop]}", flush=True); save(rows)
    print(table([]))
    small = datasets.DatasetDict(train=dsd["train"].select(range(512)), validation=dsd["validation"].select(range(256)))  # for tiny
    with tempfile.TemporaryDirectory() as tmp:
        for model_name, bs, loops, data in configs:
            bench(model_name, small if model_name == "tiny" else dsd, args, precision, device, tmp, [bs], rows, loops, data)
    notes = save(rows)
    print(table(sorted(rows, key=row_order))); print(notes); print("wrote", json_path, md_path)

if __name__ == "__main__": main()
