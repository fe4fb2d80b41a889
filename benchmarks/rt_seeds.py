"""How much the Rotten Tomatoes time-to-accuracy recipe's test accuracy moves with the seed: pretrained MiniLM-L6, B=32,
lr 5e-5, 3 epochs, clipping 1.0 (the recipe of train_speed.py --time-to-accuracy), once per seed, the seed setting the
head's initial weights, dropout and the batch order. `--lr` changes the learning rate alone, `--pooling` the head alone
(default: transformers' own head, which reads [CLS] through the pooler; `mean`: a `PooledClassifier` that averages the
token vectors, as MiniLM-L6 was pretrained). The validation accuracy after each epoch is recorded too (outside the
training time): the split to choose a recipe on. Writes results/rt_seeds_<device>.json after every run (the runs of
other recipes already there are kept) and prints a summary per recipe (learning rate and head): final test accuracy's
mean, standard deviation, and how many runs reached 0.84; the mean final validation accuracy.

    python benchmarks/rt_seeds.py [--seeds 0 1 2 3 4] [--lr 5e-5] [--pooling mean] [--loop fit|fit-graphs] [--precision auto]
On the 2-core CPU a run takes 10 to 15 minutes (fp32); on an H100/H200 with --loop fit-graphs about 4 s of training.
"""
import argparse, json, os, platform, statistics, sys
from datetime import date
from pathlib import Path

import datasets, torch, transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import time_to_accuracy  # the recipe itself, so the two cannot drift apart

from model_finetune.data import get_dataset
from model_finetune.heads import load_classifier, load_tokenizer
from model_finetune.batching import tokenize
from model_finetune.train import Callback, eval_loader, get_device, predict_logits, resolve_precision, seed_everything

ROOT = Path(__file__).resolve().parents[1]

def summary(runs, target=0.84):
    """Mean, sample standard deviation and count at or above `target` of the final test accuracies; the mean final
    validation accuracy of the runs that recorded it (the figure to choose a recipe on)."""
    final, valid = [r["final test accuracy"] for r in runs], [r["validation accuracy per epoch"][-1] for r in runs if "validation accuracy per epoch" in r]
    return {"runs": len(final), "mean": statistics.mean(final), "sd": statistics.stdev(final) if len(final) > 1 else None,
            "min": min(final), "max": max(final),
            f"runs >= {target}": sum(a >= target - 1e-6 for a in final),  # 1e-6: a float32 mean, 1071/1275 = 0.84 is 0.83999997
            "validation runs": len(valid), "validation mean": statistics.mean(valid) if valid else None}

class ValidationAccuracy(Callback):
    "After each evaluation (of the test split), the validation split's accuracy too."
    def __init__(self, loader): self.loader, self.accuracy = loader, []
    def on_eval_end(self, run, metrics):
        logits, labels = predict_logits(run.model, self.loader, run.device, precision=run.precision)
        self.accuracy.append((logits.argmax(-1) == labels).float().mean().item()); run.model.train()

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--pooling", choices=["cls", "mean", "max", "pooler"], help="default: transformers' head (pooler)")
    ap.add_argument("--loop", default="fit", choices=["fit", "fit-graphs"])
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="auto: bf16 on CUDA, fp32 on CPU")
    ap.add_argument("--device", help="default: get_device()")
    args = ap.parse_args()
    device = get_device(args.device); precision = resolve_precision(args.precision, device); kind = device.type
    datasets.disable_progress_bars(); transformers.logging.set_verbosity_error()
    name = (torch.cuda.get_device_name(device) if kind == "cuda" else
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads")
    path = ROOT / "results" / f"rt_seeds_{kind}.json"; path.parent.mkdir(parents=True, exist_ok=True)
    out = json.loads(path.read_text()) if path.exists() else {"benchmark": "rt_seeds", "runs": []}
    out |= {"date": str(date.today()), "device": name, "precision": precision, "loop": args.loop,
            "versions": f"torch {torch.__version__}, transformers {transformers.__version__}, Python {platform.python_version()}",
            "recipe": "pretrained MiniLM-L6, Rotten Tomatoes train split, B=32, 3 epochs, linear warmup 10% and decay, "
                      "weight decay 0.01, clipping 1.0, test and validation accuracy after each epoch"}
    def recipe(r): return r.get("lr", 5e-5), r.get("pooling")  # runs without "pooling" used transformers' head
    def label(lr, pooling): return f"lr {lr:g}" + (f", {pooling} pooling" if pooling else "")
    mine = (args.lr, args.pooling)
    out["runs"] = [r for r in out["runs"] if recipe(r) != mine or r["seed"] not in args.seeds]  # these are rerun
    dsd, tok = get_dataset("rotten_tomatoes"), load_tokenizer("minilm-l6")
    valid = eval_loader(tokenize(dsd["validation"], tok, 128), tok, 128, pad_to_multiple_of=8)
    for seed in args.seeds:
        seed_everything(seed); va = ValidationAccuracy(valid)
        model = load_classifier("minilm-l6", dsd["train"].features["label"].names, pooling=args.pooling)
        r = time_to_accuracy(model, tok, dsd, device, precision, lr=args.lr, loop=args.loop, seed=seed, callbacks=(va,))
        out["runs"].append({"lr": args.lr, **({"pooling": args.pooling} if args.pooling else {}), "seed": seed,
                            "test accuracy per epoch": [e["valid_accuracy"] for e in r["evals"]],
                            "validation accuracy per epoch": va.accuracy, "final test accuracy": r["final test accuracy"],
                            "train s": r["train s"]})
        recipes = sorted({recipe(r) for r in out["runs"]}, key=lambda k: (k[1] or "", k[0]))
        out["summary"] = {label(*k): summary([r for r in out["runs"] if recipe(r) == k]) for k in recipes}
        path.write_text(json.dumps(out, indent=1) + "\n")
        print(f"{label(*mine)}, seed {seed}: test accuracy per epoch {[round(a, 4) for a in out['runs'][-1]['test accuracy per epoch']]}, "
              f"validation {[round(a, 4) for a in va.accuracy]}, {r['train s']:.0f} training s", flush=True)
    print(json.dumps(out["summary"], indent=1)); print("wrote", path)

if __name__ == "__main__": main()
