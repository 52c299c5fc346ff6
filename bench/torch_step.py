#!/usr/bin/python3
"""PyTorch reference of clipwork's optimisation step, for `make bench`.

The same work as `clipwork bench`: a 512x512 RGB image as Adam-optimised parameters; per step
N windows of 224x224 sampled with random rotation, scale and shift (grid_sample, bilinear),
noise added, normalised, run through a randomly initialised CLIP ViT-B/32 vision tower, compared
by cosine with a target embedding, and backpropagated to the pixels. clipwork's windows also
carry a random perspective, which costs it a little more per window.

Usage: /usr/bin/python3 bench/torch_step.py [--windows 8] [--steps 5] [--resolution 512] [--device cpu]
Prints one JSON line, with the BLAS kernel that ran ("blas_kernel", from threadpoolctl). Debian's
python3-torch needs libopenblas0-pthread to be fair (else it runs on reference BLAS, about 20x
slower), and OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (bench/side-by-side.sh does that for
this command alone), else OpenBLAS may be pinned to older, slower kernels.
"""

import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F

WIDTH, LAYERS, HEADS, PATCH, SIZE, PROJ = 768, 12, 12, 32, 224, 512


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(WIDTH), torch.nn.LayerNorm(WIDTH)
        self.qkv = torch.nn.Linear(WIDTH, 3 * WIDTH)
        self.out = torch.nn.Linear(WIDTH, WIDTH)
        self.fc1, self.fc2 = torch.nn.Linear(WIDTH, 4 * WIDTH), torch.nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, HEADS, d // HEADS).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // HEADS), dim=-1) @ v
        x = x + self.out(a.transpose(1, 2).reshape(b, t, d))
        h = self.fc1(self.ln2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))


class Vision(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = torch.nn.Conv2d(3, WIDTH, PATCH, PATCH, bias=False)
        self.cls = torch.nn.Parameter(torch.randn(WIDTH) * 0.02)
        self.pos = torch.nn.Parameter(torch.randn((SIZE // PATCH) ** 2 + 1, WIDTH) * 0.01)
        self.pre, self.post = torch.nn.LayerNorm(WIDTH), torch.nn.LayerNorm(WIDTH)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(LAYERS))
        self.proj = torch.nn.Linear(WIDTH, PROJ, bias=False)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.pos
        x = self.pre(x)
        for blk in self.blocks:
            x = blk(x)
        return self.proj(self.post(x[:, 0]))


MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


def windows(image, n, gen):
    angle = (torch.rand(n, generator=gen) - 0.5) * math.radians(60)
    scale = (0.8 + 1.2 * torch.rand(n, generator=gen)) * SIZE / image.shape[-1]
    shift = torch.rand(n, 2, generator=gen) * 2 - 1
    theta = torch.stack([
        torch.stack([scale * torch.cos(angle), -scale * torch.sin(angle), shift[:, 0]], 1),
        torch.stack([scale * torch.sin(angle), scale * torch.cos(angle), shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(image.device), (n, 3, SIZE, SIZE), align_corners=False)
    return F.grid_sample(image.expand(n, -1, -1, -1), grid, mode="bilinear", padding_mode="border", align_corners=False)


def blas_kernel():
    """The BLAS library and kernel (OpenBLAS's core name) that torch's matrix products run on."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (python3-threadpoolctl is missing)"
    for lib in threadpoolctl.threadpool_info():
        if lib.get("user_api") == "blas":
            return f"{lib.get('internal_api')} {lib.get('version')} {lib.get('architecture')}"
    return "none found"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--windows", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(2)
    dev = torch.device(a.device)
    model = Vision().to(dev).requires_grad_(False)
    target = F.normalize(torch.randn(1, PROJ), dim=-1).to(dev)
    image = torch.full((1, 3, a.resolution, a.resolution), 0.5, device=dev).add_(torch.randn(1, 3, a.resolution, a.resolution, device=dev) * 0.1)
    image.requires_grad_(True)
    opt = torch.optim.Adam([image], lr=0.02)
    mean, std = MEAN.to(dev), STD.to(dev)

    def step():
        w = windows(image, a.windows, gen)
        w = w + torch.randn(w.shape, generator=gen).to(dev) * 0.05
        emb = F.normalize(model((w - mean) / std), dim=-1)
        loss = (1 - emb @ target.T).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    start = time.time()
    step()
    compile_seconds = time.time() - start
    start = time.time()
    for _ in range(a.steps):
        step()
    per_step = (time.time() - start) / a.steps
    print(json.dumps({"model": "torch ViT-B/32", "backend": f"torch {torch.__version__} {a.device}", "windows": a.windows,
                      "windows_per_second": a.windows / per_step, "ms_per_step": per_step * 1000,
                      "compile_seconds": compile_seconds - per_step, "threads": torch.get_num_threads(),
                      "blas_kernel": blas_kernel()}))


if __name__ == "__main__":
    main()
