"""Expected windows of CLIPig's geometric transforms on a known 8x6 image, in PyTorch.

CLIPig applies each transform to the whole image [3, H, W] with torchvision; most are written
with the torch operations torchvision's functions come down to for these exact cases
(whole-pixel offsets, a quarter turn); the rotations by other angles are torchvision's rotate
(its default nearest sampling, as CLIPig calls it, with CLIPig's whole-pixel centre). Writes
geometry.json: name -> [H, W, 3] values. Needs torch and torchvision (Debian's python3-torch and
python3-torchvision). Run: /usr/bin/python3 workbench/testdata/geometry.py
"""
import json
import os

import torch
import torch.nn.functional as F
import torchvision.transforms.functional as VF

H, W = 6, 8
image = (torch.arange(3 * H * W, dtype=torch.float64) / (3 * H * W)).reshape(H, W, 3).permute(2, 0, 1)


def center_crop(x, w, h):  # torchvision center_crop: top = round((H - h) / 2)
    top, left = int(round((x.shape[1] - h) / 2.0)), int(round((x.shape[2] - w) / 2.0))
    return x[:, top:top + h, left:left + w]


def shift(x, dx, dy):  # CLIPig Shift._shift: torch.roll of whole pixels, fractions of the size below 1
    if abs(dx) < 1:
        dx = dx * x.shape[2]
    if abs(dy) < 1:
        dy = dy * x.shape[1]
    return torch.roll(x, shifts=(int(dy), int(dx)), dims=(1, 2))


cases = {
    "center_crop": center_crop(image, 4, 2),
    "center_crop_odd": VF.center_crop(image, [1, 3]),  # offsets of 2.5: torchvision rounds them to even, 2
    "crop": image[:, 1:1 + 3, 2:2 + 5],  # CLIPig Crop xywh = 2, 1, 5, 3 -> VF.crop(top=1, left=2, h=3, w=5)
    "shift": shift(image, 3, -2),
    "shift_fraction": shift(image, 0.25, 0.5),
    "rotate": torch.rot90(center_crop(image, 6, 6), 1, dims=(1, 2)),  # VF.rotate(90) of a square: a quarter turn
    "pad": F.pad(image, (2, 2, 1, 1), value=0.0),  # CLIPig Pad fill, size 2 1, black
    "repeat": image.repeat(1, 2, 3),  # CLIPig Repeat count 3 2: x3 along width, x2 along height
    # CLIPig Rotate: VF.rotate(image, degree, center=[int(cx * W), int(cy * H)]), nearest
    "rotate_30": VF.rotate(image.float(), 30.0, center=[int(0.3 * W), int(0.6 * H)]).double(),
    "rotate_-75": VF.rotate(image.float(), -75.0, center=[int(0.5 * W), int(0.5 * H)]).double(),
}
out = {name: x.permute(1, 2, 0).reshape(-1).tolist() for name, x in cases.items()}
out["shapes"] = {name: [x.shape[1], x.shape[2]] for name, x in cases.items()}
with open(os.path.join(os.path.dirname(__file__), "geometry.json"), "w") as f:
    json.dump(out, f)
