# GOEXPERIMENT=simd turns on the Go backend's AVX-512/AVX2 matmul (about 3x faster).
export GOEXPERIMENT := simd
# go.mod needs Go 1.27.3; the go command fetches that toolchain from the module proxy.
export GOTOOLCHAIN := go1.27.3

GO ?= go

.PHONY: build demo test notebook fuzz bench bench-gpu bench-load bench-step reference

build:
	$(GO) build -o bin/clipwork ./cmd/clipwork

# Renders experiments/demo.yaml on the embedded default model into results/demo (or demo-N).
demo: build
	bin/clipwork run experiments/demo.yaml

test:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...

# Installs the GoNB kernel (built from go.mod's pinned tools; the exported GOEXPERIMENT=simd
# reaches the kernel's cell builds) and opens Jupyter on notebooks/. Jupyter itself:
# apt-get install jupyter-notebook. JUPYTER_FLAGS passes options, e.g. "--no-browser --port 8899".
notebook:
	$(GO) build -o bin/ github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports
	PATH="$(CURDIR)/bin:$$PATH" bin/gonb --install --force_deps
	@jupyter notebook --version >/dev/null 2>&1 || { echo "Jupyter Notebook is missing: apt-get install jupyter-notebook (or pip install notebook)"; exit 1; }
	cd notebooks && PATH="$(CURDIR)/bin:$$PATH" jupyter notebook $(JUPYTER_FLAGS)

# Short fuzzing sessions of the parsers that read untrusted files.
fuzz:
	$(GO) test ./clipmodel -run '^$$' -fuzz FuzzSafetensors -fuzztime 30s
	$(GO) test ./clipmodel -run '^$$' -fuzz FuzzTokenize -fuzztime 30s
	$(GO) test ./workbench/expfile -run '^$$' -fuzz FuzzParse -fuzztime 30s

# clipwork and the PyTorch reference side by side (needs python3-torch and libopenblas0-pthread).
bench:
	bench/side-by-side.sh 3

# The same on a CUDA GPU at 8, 32 and 128 windows (needs the CUDA PJRT plugin, see bench/gpu.sh).
bench-gpu:
	bench/gpu.sh

# Loading a 600 MB ViT-B/32 checkpoint: seconds and peak memory.
bench-load:
	$(GO) test ./clipmodel -run '^$$' -bench LoadViTB32 -benchtime 1x

# One optimisation step: 512x512 image, 8 windows, random ViT-B/32.
bench-step:
	$(GO) test ./workbench -run '^$$' -bench Step -benchtime 3x

# Regenerates clipmodel's PyTorch reference fixtures (needs python3-torch, python3-regex, python3-pil).
reference:
	/usr/bin/python3 clipmodel/testdata/reference/make.py
