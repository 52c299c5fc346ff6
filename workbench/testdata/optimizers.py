"""torch's optimisers as CLIPig creates them (optimizers.py), stepped on fixed gradients.

Six parameters take five steps of known gradients, of both signs and several scales, at a
rate of 0.1. sgd is left out: clipwork divides its gradient by its root mean square (README).
Writes optimizers.json. Run: /usr/bin/python3 workbench/testdata/optimizers.py
"""
import json
import os

import torch

start = [0.5, -0.25, 1.0, 0.0, 0.75, -1.0]
gradients = [
    [0.3, -0.2, 1.5, 0.0, -0.01, 2.0],
    [0.1, -0.4, -1.0, 0.5, -0.02, 1.0],
    [-0.2, -0.1, 0.5, 0.25, 0.03, -3.0],
    [0.4, 0.3, 2.0, -0.5, -0.01, 0.5],
    [0.05, -0.6, -0.5, 0.1, 0.02, 1.5],
]
rate = 0.1
optimisers = {
    "adam": lambda p: torch.optim.Adam(p, lr=rate),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=rate),
    "sparse_adam": lambda p: torch.optim.RMSprop(p, lr=rate),
    "rmsprob": lambda p: torch.optim.RMSprop(p, lr=rate, centered=True, momentum=0.1),
    "adadelta": lambda p: torch.optim.Adadelta(p, lr=rate),
}
out = {"start": start, "gradients": gradients, "rate": rate, "steps": {}}
for name, make in optimisers.items():
    p = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    opt = make([p])
    steps = []
    for g in gradients:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        steps.append(p.detach().tolist())
    out["steps"][name] = steps
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizers.json"), "w") as f:
    json.dump(out, f)
