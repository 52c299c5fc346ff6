# GOEXPERIMENT=simd turns on the Go backend's AVX-512/AVX2 matmul (about 3x faster).
export GOEXPERIMENT := simd
# go.mod needs Go 1.27.3; the go command fetches that toolchain from the module proxy.
export GOTOOLCHAIN := go1.27.3

GO ?= go

.PHONY: build weed demo test notebook gallery fuzz bench bench-gpu bench-load bench-step reference

build:
	$(GO) build -o bin/clipwork ./cmd/clipwork

# Builds bin/weed, the SeaweedFS server that the S3 store tests start, from its own module
# (tools/seaweedfs) so that its dependencies stay out of clipwork's go.mod.
weed:
	cd tools/seaweedfs && $(GO) build -o ../../bin/weed github.com/seaweedfs/seaweedfs/weed

# Renders experiments/demo.yaml on the embedded default model into results/demo (or demo-N).
demo: build
	bin/clipwork run experiments/demo.yaml

test:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...

# Opens Jupyter on notebooks/ with the GoNB kernel, built from go.mod's pinned tools with gopls
# for completion (the exported GOEXPERIMENT=simd reaches the kernel's cell builds). Checks for
# Jupyter first. JUPYTER_FLAGS passes options, e.g. "--no-browser --port 8899"; as root it adds
# --allow-root, which Jupyter wants there.
notebook:
	@jupyter notebook --version >/dev/null 2>&1 || { echo "Jupyter Notebook is missing. Install it:"; \
		echo "  Debian/Ubuntu: sudo apt-get install jupyter-notebook"; echo "  elsewhere:     pip install notebook"; exit 1; }
	$(GO) build -o bin/ github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports golang.org/x/tools/gopls
	PATH="$(CURDIR)/bin:$$PATH" bin/gonb --install --force_deps
	cd notebooks && PATH="$(CURDIR)/bin:$$PATH" jupyter notebook $(if $(filter 0,$(shell id -u)),--allow-root) $(JUPYTER_FLAGS)

# Regenerates docs/gallery: the picture and charts (SVG, and PNG where Chromium is installed) of
# the quick-start notebook's recipe (experiments/demo.yaml with a contest in its details), run
# on the embedded default model.
GALLERY_RECIPE := experiments/demo.yaml --set name=quickstart --set targets.details.select=best \
	--set "targets.details.features=[a red circle on a blue sky, a blue circle on a red sky]"
gallery: build
	rm -rf docs/gallery/run && bin/clipwork run $(GALLERY_RECIPE) --out docs/gallery/run --quiet
	rm -f docs/gallery/*.svg docs/gallery/*.png
	cp docs/gallery/run/quickstart/image.png docs/gallery/quickstart.png
	bin/clipwork export charts docs/gallery/run/quickstart --out docs/gallery
	rm -rf docs/gallery/run docs/gallery/*.html docs/gallery/*.csv

# Short fuzzing sessions of the parsers that read untrusted files.
fuzz:
	$(GO) test ./clipmodel -run '^$$' -fuzz FuzzSafetensors -fuzztime 30s
	$(GO) test ./clipmodel -run '^$$' -fuzz FuzzTokenize -fuzztime 30s
	$(GO) test ./clipmodel -run '^$$' -fuzz FuzzTorchArchive -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./workbench/expfile -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./clipmodel -run '^$$' -fuzz FuzzLoadImage -fuzztime 30s
	$(GO) test ./workbench/runstore -run '^$$' -fuzz FuzzReadState -fuzztime 30s

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
