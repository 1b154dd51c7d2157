# colornet — common tasks. `make help` lists them.
PYTHON ?= python3
GPU ?= 0

.PHONY: help setup test

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup:  ## install Debian packages, Python packages and Caffe (idempotent; GPU=1 for CUDA)
ifeq ($(GPU),1)
	bash tools/setup_caffe.sh --gpu
else
	bash tools/setup_caffe.sh
endif

test: setup  ## run the test suite (runs `make setup` first)
	$(PYTHON) -m pytest -q
