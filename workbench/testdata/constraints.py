"""CLIPig's constraint losses (weight 1, loss l2) on a known 9x9 image, in PyTorch.

The code follows CLIPig's constraints.py; torchvision's gaussian_blur is written out (see
pixels.py). The image's outer two-pixel ring is a constant grey, so that torchvision's reflect
padding and clipwork's renormalised border give the same 3x3 blur. The bounds are chosen so the
image violates them: CLIPig penalises both sides of a bound, clipwork only the violated one, and
the two agree there. Writes constraints.json. Run: /usr/bin/python3 workbench/testdata/constraints.py
"""
import json
import os

import torch
import torch.nn.functional as F

H = W = 9
image = (((torch.arange(3 * H * W, dtype=torch.float64) * 0.37) % 1.0) ** 2).reshape(3, H, W)
image[:, :2, :] = image[:, -2:, :] = image[:, :, :2] = image[:, :, -2:] = 0.5


def gaussian_blur(x, k):
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    r = torch.linspace(-(k - 1) * 0.5, (k - 1) * 0.5, k, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (r / sigma) ** 2)
    kernel = kernel / kernel.sum()
    x = F.pad(x.unsqueeze(0), (k // 2,) * 4, mode="reflect")
    x = F.conv2d(x, kernel.reshape(1, 1, 1, k).repeat(3, 1, 1, 1), groups=3)
    return F.conv2d(x, kernel.reshape(1, 1, k, 1).repeat(3, 1, 1, 1), groups=3)[0]


def above(value, bound):  # AboveBelowConstraintBase with above, WEIGHT_FACTOR applied by callers
    return F.mse_loss(torch.tensor(bound, dtype=torch.float64) - value, torch.zeros(3, dtype=torch.float64))


def below(value, bound):
    return F.mse_loss(value - torch.tensor(bound, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))


def contrast(x):
    mean = x.mean(-1).mean(-1)
    low = torch.stack([x[c][x[c] < mean[c]].mean() for c in range(3)])
    high = torch.stack([x[c][x[c] > mean[c]].mean() for c in range(3)])
    return high - low


def normalize(x, lo, hi):
    mi = x.min(-1).values.min(-1).values.reshape(3, 1, 1)
    ma = x.max(-1).values.max(-1).values.reshape(3, 1, 1)
    normed = lo + (x - mi) / (ma - mi) * (hi - lo)
    return 10.0 * F.mse_loss(x, normed)


bordered = image.clone()
bordered[:, :1, :] = bordered[:, -1:, :] = bordered[:, :, :2] = bordered[:, :, -2:] = 1.0  # size 2 1, white
planes = image.reshape(3, -1)
out = {
    "image": image.permute(1, 2, 0).reshape(-1).tolist(),
    "blur": float(100.0 * F.mse_loss(image, gaussian_blur(image, 3))),
    "border": float(100.0 * F.mse_loss(image, bordered)),
    "contrast": float(below(contrast(image), [0.1] * 3)),
    "edge_mean": float(100.0 * below(torch.abs(gaussian_blur(image, 3) - image).reshape(3, -1).mean(1), [0.01] * 3)),
    "mean": float(100.0 * above(planes.mean(-1), [0.9, 0.8, 0.7])),
    "normalize": float(normalize(image, 0.2, 0.8)),
    "saturation": float(100.0 * below(torch.abs(planes.mean(0).repeat(3, 1) - planes).mean(1), [0.0001] * 3)),
    "std": float(100.0 * above(planes.std(-1), [0.6] * 3)),
}
# CLIPig differentiates normalize through the stretched image and its range as well.
grad_image = image.clone().requires_grad_(True)
normalize(grad_image, 0.2, 0.8).backward()
out["normalize_gradient"] = grad_image.grad.permute(1, 2, 0).reshape(-1).tolist()
with open(os.path.join(os.path.dirname(__file__), "constraints.json"), "w") as f:
    json.dump(out, f)
