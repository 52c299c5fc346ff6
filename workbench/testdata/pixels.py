"""Expected outputs of CLIPig's blur, edge, fnoise and resize on known images, in PyTorch.

torchvision's gaussian_blur is written out (a normalised 1-D Gaussian of kernel_size taps,
x = -(k-1)/2 .. (k-1)/2, applied along each axis with reflect padding), as it computes it. Blur and
edge are compared away from the borders, where padding plays no part. fnoise is random: its
pixel-space standard deviation is measured over many draws of CLIPig's code on a black image.
Writes pixels.json. Run: /usr/bin/python3 workbench/testdata/pixels.py
"""
import json
import os

import torch
import torch.fft as fft
import torch.nn.functional as F

torch.manual_seed(0)
H = W = 9
image = ((torch.arange(3 * H * W, dtype=torch.float64) * 0.37) % 1.0).reshape(H, W, 3).permute(2, 0, 1)


def gaussian_blur(x, k, sigma, ky=None, sigma_y=None):  # kernel size and sigma across, then down
    ky, sigma_y = ky or k, sigma_y or sigma

    def kernel(k, sigma):
        r = torch.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, k, dtype=torch.float64)
        g = torch.exp(-0.5 * (r / sigma) ** 2)
        return g / g.sum()

    x = F.pad(x.unsqueeze(0), (k // 2, k // 2, ky // 2, ky // 2), mode="reflect")
    x = F.conv2d(x, kernel(k, sigma).reshape(1, 1, 1, k).repeat(3, 1, 1, 1), groups=3)
    x = F.conv2d(x, kernel(ky, sigma_y).reshape(1, 1, ky, 1).repeat(3, 1, 1, 1), groups=3)
    return x[0]


def edge(x, k, amount):  # CLIPig Edge with sigma None: torchvision's default sigma
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    return torch.clamp((x - gaussian_blur(x, k, sigma)) * amount, 0, 1)


def fnoise_std(std, size, draws):  # CLIPig FNoise on a black [3, size, size] image
    image = torch.zeros(3, size, size)
    out = []
    for _ in range(draws):
        space = fft.rfft(image.reshape(3, -1))
        space.real = space.real + torch.randn(space.shape) * 15.0 * std
        space.imag = space.imag + torch.randn(space.shape) * 15.0 * std
        out.append(fft.irfft(space).reshape(*image.shape))
    return float(torch.stack(out).std())


out = {
    "image": image.permute(1, 2, 0).reshape(-1).tolist(),
    "blur": gaussian_blur(image, 5, 1.2).permute(1, 2, 0).reshape(-1).tolist(),
    "edge": edge(image, 5, 2.0).permute(1, 2, 0).reshape(-1).tolist(),
    # CLIPig Edge with kernel_size [3, 7] and sigma [1, 2]: each axis its own
    "edge_xy": torch.clamp((image - gaussian_blur(image, 3, 1.0, 7, 2.0)) * 2.0, 0, 1).permute(1, 2, 0).reshape(-1).tolist(),
    "fnoise_std_0.1_16": fnoise_std(0.1, 16, 400),
}
# CLIPig resizes its pixels with torchvision's resize of a tensor when the resolution changes:
# F.interpolate without antialiasing. A 5x7 image with values beyond [0, 1], up and down.
small = (torch.rand(3, 5, 7, dtype=torch.float64) * 1.4 - 0.2)
out["interpolate_input"] = small.permute(1, 2, 0).reshape(-1).tolist()
for mode, name in (("bicubic", "cubic"), ("bilinear", "linear"), ("nearest", "nearest")):
    for h, w in ((9, 11), (3, 4)):
        corners = None if mode == "nearest" else False
        resized = F.interpolate(small.unsqueeze(0), size=(h, w), mode=mode, align_corners=corners)[0]
        out[f"interpolate_{name}_{w}x{h}"] = resized.permute(1, 2, 0).reshape(-1).tolist()
with open(os.path.join(os.path.dirname(__file__), "pixels.json"), "w") as f:
    json.dump(out, f)
