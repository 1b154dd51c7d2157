# colornet — common tasks. `make help` lists them.
PYTHON ?= python3
# Every target runs this checkout's package (make setup also installs it, editable, for commands
# run by hand; a second checkout's `make setup` points that install at itself).
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
GPU ?= 0
SIZE ?= 224
CROPS ?= 8
WORKERS ?= 2
PHOTOS := data/photos
FULL ?= 0
STOCK ?= 0
# Lite nets (¼ width, small crops) train on a CPU; FULL=1 picks the original's sizes for a GPU.
ifeq ($(FULL),1)
VARIANT :=
else
VARIANT := _lite
endif

# The lite color net trains in two stages (tools/make_prototxt.py says why): plain, then
# rebalanced from the first's last snapshot (its solver's max_iter). `make train-color` runs the
# classifier-only second stage (rebalance_head), the shipped model has the whole-net one (rebalance).
COLOR_LITE_ITER := 2500
COLOR_LITE_STAGE1 = $(PYTHON) tools/train.py prototxt/solver_color_lite.prototxt --log logs/color_lite.log
color_lite_stage2 = $(PYTHON) tools/train.py prototxt/solver_color_lite_$(1).prototxt \
	--log logs/color_lite_$(1).log --weights models/snapshots/color_lite_iter_$(COLOR_LITE_ITER).caffemodel

# The long run: the lite color net continued from given weights (the shipped model's, by default)
# on the current photos; it resumes from its own snapshots when run again.
CONTINUE_FROM ?= models/default/weights.caffemodel
color_lite_continue = $(PYTHON) tools/train.py prototxt/solver_color_lite_continue.prototxt \
	--log logs/color_lite_continue.log --weights $(1)

# The shipped model (models/default, see models/README.md): which training (a solver's name; the
# lite color net's later stages run after its plain one), its deploy net, and which snapshot.
# (models/lite, the default until 2026-12-06: DEFAULT_NET=color_lite_scales_long DEFAULT_DEPLOY=color_lite
# DEFAULT_ITER=3000 DEFAULT_PRIOR=data/yuv64_prior_probs.npy.)
DEFAULT_NET ?= squeeze_head
DEFAULT_DEPLOY ?= squeeze
DEFAULT_ITER ?= $(SQUEEZE_HEAD_ITER)
# The class prior its loss was rebalanced with, and the shares of that rebalancing the decoding
# may undo (tools/tune_decode.py --strengths).
DEFAULT_PRIOR ?= data/yuv64_prior_probs_world.npy
DEFAULT_UNDO ?= 0,0.5,0.75,1

.PHONY: squeezenet train-squeeze lmdb-scales-lab train-squeeze-lab train-squeeze-control train-squeeze-hints lmdb-scales train-scales finetune test-all train-continue serve diagrams demo samples evaluate train-default help setup test photos photo-report lmdb lmdb-bgr lmdb-lab hdf5 inspect train-color train-fcn train-lab313 prior gpu-bundle

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

demo: setup  ## colorize data/samples/ with the shipped model into out/ (the main job)
	$(PYTHON) tools/use_trained_model.py data/samples -o out --sheet out/before-after.jpg
	@echo "Colorized photos are in $(CURDIR)/out/ (before/after sheet: out/before-after.jpg)"

setup:  ## install Debian packages, Python packages and Caffe (idempotent; GPU=1 for CUDA)
ifeq ($(GPU),1)
	bash tools/setup_caffe.sh --gpu
else
	bash tools/setup_caffe.sh
endif

gpu-bundle:  ## folder with the CUDA caffe binary + libraries a stock CUDA machine lacks (after setup GPU=1)
	bash tools/make_gpu_bundle.sh out/gpu-bundle

test: setup  ## the fast tests, before every commit (runs `make setup` first; `make test-all` runs every test)
	$(PYTHON) -m pytest -q -m "not slow"

test-all: setup  ## every test: also real training runs, Chromium, long video, the clean-clone commands (CI runs this)
	$(PYTHON) -m pytest -q

photos:  ## gather the training photos into data/photos/ (manifest, train/val split)
	$(PYTHON) tools/gather_photos.py

photo-report: photos  ## rewrite docs/data.md and its contact sheets from the photo set
	$(PYTHON) tools/photo_report.py

# Train: CROPS random crops per photo (augmentation); val: one centre crop per photo.
lmdb: photos  ## YUV-64 LMDBs data/train_lmdb, data/val_lmdb and their class prior (SIZE, CROPS, WORKERS)
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/train.txt -o data/train_lmdb --size $(SIZE) --crops-per-photo $(CROPS) --workers $(WORKERS) --force
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/val.txt -o data/val_lmdb --size $(SIZE) --resize crop --workers $(WORKERS) --force
	$(PYTHON) tools/inspect_lmdb.py data/train_lmdb --prior data/yuv64_prior_probs.npy

# Whole photos at SCALES short sides, for the lite nets' crops of 128 (docs/training.md, "Blue shadows").
SCALES ?= 160,224,320
lmdb-scales: photos  ## YUV-64 LMDB of whole photos at SCALES short sides: data/train_scales_lmdb (+ val, grey-counting prior)
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/train.txt -o data/train_scales_lmdb --scales $(SCALES) --workers $(WORKERS) --force
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/val.txt -o data/val_lmdb --size $(SIZE) --resize crop --workers $(WORKERS) --force
	$(PYTHON) tools/inspect_lmdb.py data/train_scales_lmdb --prior-with-grey data/yuv64_prior_probs_grey.npy \
		--prior data/yuv64_prior_probs_world.npy

lmdb-bgr: photos  ## plain BGR LMDBs for the Lab/313 nets: data/train_bgr_lmdb, data/val_bgr_lmdb
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/train.txt -o data/train_bgr_lmdb --format bgr --size 256 --crops-per-photo $(CROPS) --workers $(WORKERS) --force
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/val.txt -o data/val_bgr_lmdb --format bgr --size 256 --resize crop --workers $(WORKERS) --force

lmdb-lab: photos  ## 8-bit Lab LMDBs for the stock Lab/313 nets: data/train_lab_lmdb, data/val_lab_lmdb
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/train.txt -o data/train_lab_lmdb --format lab --size 256 --crops-per-photo $(CROPS) --workers $(WORKERS) --force
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/val.txt -o data/val_lab_lmdb --format lab --size 256 --resize crop --workers $(WORKERS) --force

hdf5: photos  ## YUV-64 HDF5 sets data/train_hdf5 and data/val_hdf5 (with list.txt for HDF5Data)
	$(PYTHON) tools/gen_hdf5.py $(PHOTOS)/train.txt -o data/train_hdf5 --size $(SIZE) --crops-per-photo $(CROPS) --workers $(WORKERS) --force
	$(PYTHON) tools/gen_hdf5.py $(PHOTOS)/val.txt -o data/val_hdf5 --size $(SIZE) --resize crop --workers $(WORKERS) --force

inspect:  ## class histogram and contact sheet of data/train_lmdb (→ out/train_lmdb_sheet.png)
	mkdir -p out
	$(PYTHON) tools/inspect_lmdb.py data/train_lmdb --sheet out/train_lmdb_sheet.png

# Interrupted runs resume from the newest snapshot in models/snapshots/ (tools/train.py).
train-color:  ## train the YUV-64 color net (lite, plain then rebalanced classifier; FULL=1 full size) → logs/, models/snapshots/
	@test -d data/train_lmdb || { echo "data/train_lmdb is missing: run 'make lmdb' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/solver_color$(VARIANT).prototxt --log logs/color$(VARIANT).log
ifneq ($(FULL),1)
	$(call color_lite_stage2,rebalance_head)
endif

train-continue:  ## train the lite color net on from models/default's weights on the current photos (CONTINUE_FROM=… for others)
	@test -d data/train_lmdb || { echo "data/train_lmdb is missing: run 'make lmdb' first" >&2; exit 2; }
	$(call color_lite_continue,$(CONTINUE_FROM))

SCALES_STAGE ?= scales
train-scales:  ## the lite color net on from CONTINUE_FROM on whole photos at scales (SCALES_STAGE=scales_grey: grey counted)
	@test -d data/train_scales_lmdb || { echo "data/train_scales_lmdb is missing: run 'make lmdb-scales' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/$(if $(filter scales_grey,$(SCALES_STAGE)),experiments/)solver_color_lite_$(SCALES_STAGE).prototxt \
		--log logs/color_lite_$(SCALES_STAGE).log --weights $(CONTINUE_FROM)

# The squeeze family (colornet/nets/squeeze.py): the ImageNet-trained SqueezeNet trunk under a colour
# head, the head alone first (trunk frozen), then everything from the head's last weights.
SQUEEZE_HEAD_ITER := 2000
# The default's hint net (make train-squeeze-hints) and how its colours meet the hints' propagation,
# chosen on val by bench/bench_hints.py (docs/hints.md).
HINTS_ITER := 1750
DEFAULT_HINT_WEIGHT := 0.02
DEFAULT_HINT_REACH := 384
squeezenet:  ## fetch and decode the ImageNet-trained SqueezeNet into models/squeezenet/ (PHOTO_MIRROR=DIR offline)
	$(PYTHON) tools/get_squeezenet.py

train-squeeze: squeezenet  ## train the squeeze family: head (trunk frozen), then all layers → logs/, models/snapshots/
	@test -d data/train_scales_lmdb || { echo "data/train_scales_lmdb is missing: run 'make lmdb-scales' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/solver_squeeze_head.prototxt --log logs/squeeze_head.log \
		--weights models/squeezenet/squeezenet_grey.caffemodel $(TRAIN_ARGS)
	$(PYTHON) tools/train.py prototxt/solver_squeeze_all.prototxt --log logs/squeeze_all.log \
		--weights models/snapshots/squeeze_head_iter_$(SQUEEZE_HEAD_ITER).caffemodel $(TRAIN_ARGS)

train-squeeze-control:  ## the squeeze head on a random trunk, same photos (what the pretraining buys) → logs/, models/snapshots/
	@test -d data/train_scales_lmdb || { echo "data/train_scales_lmdb is missing: run 'make lmdb-scales' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/experiments/solver_squeeze_control.prototxt --log logs/squeeze_control.log $(TRAIN_ARGS)

lmdb-scales-lab: photos  ## 8-bit Lab LMDBs of whole photos at SCALES short sides for the Lab/313 squeeze head, and the train photos' 313-bin prior
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/train.txt -o data/train_scales_lab_lmdb --format lab --scales $(SCALES) --workers $(WORKERS) --force
	$(PYTHON) tools/gen_lmdb.py $(PHOTOS)/val.txt -o data/val_squeeze_lab_lmdb --format lab --size $(SIZE) --resize crop --workers $(WORKERS) --force
	$(PYTHON) tools/compute_prior.py $(PHOTOS)/train.txt -o data/lab313_prior_probs_world.npy

train-squeeze-lab: squeezenet  ## the squeeze head under Lab/313 bins (trunk frozen; from make lmdb-scales-lab) → logs/, models/snapshots/
	@test -d data/train_scales_lab_lmdb || { echo "data/train_scales_lab_lmdb is missing: run 'make lmdb-scales-lab' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/solver_squeeze_lab.prototxt --log logs/squeeze_lab.log \
		--weights models/squeezenet/squeezenet_grey.caffemodel,prototxt/squeeze_lab_constants.caffemodel $(TRAIN_ARGS)

train-squeeze-hints:  ## the hint-conditioned squeeze net from models/default's weights (hints simulated) → logs/, models/snapshots/
	@test -d data/train_scales_lmdb || { echo "data/train_scales_lmdb is missing: run 'make lmdb-scales' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/solver_squeeze_hints.prototxt --log logs/squeeze_hints.log \
		--weights models/default/weights.caffemodel $(TRAIN_ARGS)

train-fcn:  ## train the YUV-64 FCN-8s net (lite; FULL=1 full size) → logs/, models/snapshots/
	@test -d data/train_lmdb || { echo "data/train_lmdb is missing: run 'make lmdb' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/solver_fcn$(VARIANT).prototxt --log logs/fcn$(VARIANT).log

prior: photos  ## measure the 313-bin ab prior of the train photos → data/prior_probs.npy (+ .png)
	$(PYTHON) tools/compute_prior.py $(PHOTOS)/train.txt -o data/prior_probs.npy

train-lab313:  ## train the Lab/313 net (lite; FULL=1 full size; STOCK=1: stock layers only, from make lmdb-lab) → logs/, models/snapshots/
ifeq ($(STOCK),1)
	@test -d data/train_lab_lmdb || { echo "data/train_lab_lmdb is missing: run 'make lmdb-lab' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/solver_lab313_stock$(VARIANT).prototxt --log logs/lab313_stock$(VARIANT).log
else
	@test -d data/train_bgr_lmdb || { echo "data/train_bgr_lmdb is missing: run 'make lmdb-bgr' first" >&2; exit 2; }
	$(PYTHON) tools/train.py prototxt/solver_lab313$(VARIANT).prototxt --log logs/lab313$(VARIANT).log
endif

MINUTES ?= 30
finetune: setup  ## your own kind of photos: make finetune PHOTOS=DIR NAME=mine [MINUTES=30] → models/NAME (tools/finetune.py --help)
	@test -n "$(PHOTOS)" -a -n "$(NAME)" || { echo "usage: make finetune PHOTOS=DIR NAME=NAME [MINUTES=30]" >&2; exit 2; }
	$(PYTHON) tools/finetune.py $(PHOTOS) --name $(NAME) --minutes $(MINUTES)

serve: setup  ## colorize in the browser: a local web app and HTTP API on http://127.0.0.1:8000/ (tools/serve.py --help)
	$(PYTHON) tools/serve.py $(SERVE_ARGS)

diagrams: setup  ## draw the color and Lab/313 nets from the committed prototxt → docs/net_color.png, docs/net_lab313.png
	$(PYTHON) tools/draw_nets.py

samples: photos  ## rebuild data/samples/ (greyed val photos for the demo and tests)
	$(PYTHON) tools/make_samples.py $(PHOTOS)/val.txt -o data/samples

evaluate:  ## score the shipped model on the val and cross-source test splits → out/eval/ (MODEL=name to pick another)
	$(PYTHON) tools/evaluate.py $(PHOTOS)/val.txt $(PHOTOS)/test.txt --splits --model $(or $(MODEL),default) -o out/eval

# From nothing to models/default: same photos, split, seed and schedule as the shipped model.
train-default: photos  ## retrain the shipped model from scratch into models/default (hours on a CPU)
ifeq ($(findstring lab313,$(DEFAULT_NET)),lab313)
	$(MAKE) lmdb-bgr prior
else
	$(MAKE) lmdb
endif
ifeq ($(DEFAULT_NET),color_lite_rebalance)
	$(COLOR_LITE_STAGE1) --fresh
	$(call color_lite_stage2,rebalance) --fresh
else ifeq ($(DEFAULT_NET),color_lite_scales_long)
	$(MAKE) lmdb-scales
	$(COLOR_LITE_STAGE1) --fresh
	$(call color_lite_stage2,rebalance) --fresh
	$(PYTHON) tools/train.py prototxt/solver_color_lite_scales.prototxt --log logs/color_lite_scales.log \
		--weights models/snapshots/color_lite_rebalance_iter_500.caffemodel --fresh
	$(PYTHON) tools/train.py prototxt/solver_color_lite_scales_long.prototxt --log logs/color_lite_scales_long.log \
		--weights models/snapshots/color_lite_scales_iter_2000.caffemodel --fresh
else ifeq ($(DEFAULT_NET),squeeze_head)
	$(MAKE) lmdb-scales squeezenet
	$(PYTHON) tools/train.py prototxt/solver_squeeze_head.prototxt --log logs/squeeze_head.log \
		--weights models/squeezenet/squeezenet_grey.caffemodel --fresh
else ifeq ($(DEFAULT_NET),squeeze_all)
	$(MAKE) lmdb-scales squeezenet
	$(PYTHON) tools/train.py prototxt/solver_squeeze_head.prototxt --log logs/squeeze_head.log \
		--weights models/squeezenet/squeezenet_grey.caffemodel --fresh
	$(PYTHON) tools/train.py prototxt/solver_squeeze_all.prototxt --log logs/squeeze_all.log \
		--weights models/snapshots/squeeze_head_iter_$(SQUEEZE_HEAD_ITER).caffemodel --fresh
else ifeq ($(DEFAULT_NET),color_lite_continue)
	$(COLOR_LITE_STAGE1) --fresh
	$(call color_lite_stage2,rebalance) --fresh
	$(call color_lite_continue,models/snapshots/color_lite_rebalance_iter_500.caffemodel) --fresh
else
	$(PYTHON) tools/train.py prototxt/solver_$(DEFAULT_NET).prototxt --log logs/$(DEFAULT_NET).log --fresh
endif
	$(PYTHON) tools/export_model.py --deploy prototxt/deploy_$(DEFAULT_DEPLOY).prototxt \
		--weights models/snapshots/$(DEFAULT_NET)_iter_$(DEFAULT_ITER).caffemodel -o models/default --force
ifneq ($(findstring lab313,$(DEFAULT_NET)),lab313)
	$(PYTHON) tools/tune_decode.py $(PHOTOS)/val.txt --model default --prior $(DEFAULT_PRIOR) \
		--boost-lambda 0.2 --strengths $(DEFAULT_UNDO) -o out/decode --card
endif
	$(PYTHON) tools/evaluate.py $(PHOTOS)/val.txt $(PHOTOS)/test.txt --splits --model default -o out/eval
ifeq ($(findstring squeeze,$(DEFAULT_NET)),squeeze)
	$(PYTHON) tools/train.py prototxt/solver_squeeze_hints.prototxt --log logs/squeeze_hints.log \
		--weights models/default/weights.caffemodel --fresh
	$(PYTHON) tools/export_model.py --hint-net --deploy prototxt/deploy_squeeze_hints.prototxt \
		--weights models/snapshots/squeeze_hints_iter_$(HINTS_ITER).caffemodel -o models/default \
		--hint-weight $(DEFAULT_HINT_WEIGHT) --hint-reach $(DEFAULT_HINT_REACH)
endif
