#!/usr/bin/python3
"""PyTorch reference for clipmodel's tests.

Builds tiny random CLIP models of several configurations, writes each as a
HuggingFace CLIPModel folder (config.json, model.safetensors or shards, or
torch.save'd pytorch_model.bin, vocab.json, merges.txt,
preprocessor_config.json) with HuggingFace's tensor names, and records what a
correct implementation must compute:

  reference.json: token ids (OpenAI's SimpleTokenizer algorithm), text
  embeddings, preprocessed pixels, image embeddings and logits_per_image,
  all computed in float64 from the stored (possibly F16/BF16-rounded) weights.

It also writes tiny random OpenAI CLIPs (a ModifiedResNet and a ViT, built
with this script's own port of openai/CLIP's clip/model.py so that the names
are OpenAI's) in open_clip's layout (open_clip_config.json with
open_clip_model.safetensors or open_clip_pytorch_model.bin) and as a traced
TorchScript archive (model.pt), with the same reference.json outputs; one
(openclip-vit-gelu) uses open_clip's options instead of OpenAI's fixed ones
(GELU, 16-wide heads, bilinear resizing) and has no model.pt.

Images are preprocessed as each loader's Python counterpart does: HuggingFace
folders as CLIPImageProcessor (the crop at the floor of half the excess), the
OpenAI layout as torchvision's Resize and CenterCrop (at the rounded half,
halves to even); some test images are sized where the two differ.

It also records golden token ids for the real CLIP vocabulary
(../shared/clip-vocab) in tokens-real-vocab.json, when that folder exists.

Run from the repository root with Debian's python3-torch, python3-regex and
python3-pil:

    /usr/bin/python3 clipmodel/testdata/reference/make.py [FIXTURE...]

With fixture names it rewrites only those.

Text cleaning follows openai/CLIP's simple_tokenizer with ftfy.fix_text reduced
to its NFC normalisation (ftfy is not packaged here); the test strings avoid
what ftfy would otherwise repair.
"""

import gzip
import html
import json
import math
import os
import struct
import sys
import unicodedata
from functools import lru_cache

import numpy as np
import regex
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
REAL_VOCAB = os.path.join(TESTDATA, "..", "..", "..", "shared", "clip-vocab")

# ---------------------------------------------------------------- tokenizer


@lru_cache()
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return set(zip(word[:-1], word[1:]))


def clean(text):
    text = unicodedata.normalize("NFC", text)  # what ftfy.fix_text ends with
    text = html.unescape(html.unescape(text)).strip()
    text = regex.sub(r"\s+", " ", text).strip()
    return text.lower()


PAT = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


class SimpleTokenizer:
    """openai/CLIP's SimpleTokenizer, reading HuggingFace's vocab.json/merges.txt."""

    def __init__(self, vocab, merges):
        self.byte_encoder = bytes_to_unicode()
        self.encoder = vocab
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for token in regex.findall(PAT, clean(text)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids

    def tokenize(self, text, context_length):
        sot, eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        ids = [sot] + self.encode(text) + [eot]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = eot
        return ids


def train_small_vocab(corpus, num_merges):
    """A small byte-level BPE vocabulary in CLIP's layout, learned from corpus."""
    byte_symbols = list(bytes_to_unicode().values())
    words = {}
    for line in corpus:
        for token in regex.findall(PAT, clean(line)):
            token = "".join(bytes_to_unicode()[b] for b in token.encode("utf-8"))
            word = tuple(token[:-1]) + (token[-1] + "</w>",)
            words[word] = words.get(word, 0) + 1
    merges = []
    for _ in range(num_merges):
        counts = {}
        for word, n in words.items():
            for pair in zip(word[:-1], word[1:]):
                counts[pair] = counts.get(pair, 0) + n
        if not counts:
            break
        best = max(sorted(counts), key=lambda p: counts[p])
        merges.append(best)
        merged = {}
        for word, n in words.items():
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = n
        words = merged
    vocab_list = byte_symbols + [s + "</w>" for s in byte_symbols] + ["".join(m) for m in merges]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    return {s: i for i, s in enumerate(vocab_list)}, merges


def read_real_vocab():
    with open(os.path.join(REAL_VOCAB, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(REAL_VOCAB, "merges.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")[1:]
    merges = [tuple(l.split()) for l in lines if l]
    return vocab, merges


# ---------------------------------------------------------------- model


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def layer_norm(x, w, prefix, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w[prefix + ".weight"], w[prefix + ".bias"], eps)


def linear(x, w, prefix, bias=True):
    y = x @ w[prefix + ".weight"].T
    if bias:
        y = y + w[prefix + ".bias"]
    return y


def encoder(x, w, prefix, cfg, causal):
    heads = cfg["num_attention_heads"]
    eps = cfg["layer_norm_eps"]
    b, t, d = x.shape
    hd = d // heads
    mask = None
    if causal:
        mask = torch.full((t, t), float("-inf"), dtype=x.dtype).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"{prefix}.encoder.layers.{i}"
        h = layer_norm(x, w, p + ".layer_norm1", eps)
        q = linear(h, w, p + ".self_attn.q_proj") * hd**-0.5
        k = linear(h, w, p + ".self_attn.k_proj")
        v = linear(h, w, p + ".self_attn.v_proj")
        q, k, v = (z.reshape(b, t, heads, hd).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores + mask
        a = torch.softmax(scores, dim=-1) @ v
        a = a.transpose(1, 2).reshape(b, t, d)
        x = x + linear(a, w, p + ".self_attn.out_proj")
        h = layer_norm(x, w, p + ".layer_norm2", eps)
        x = x + linear(quick_gelu(linear(h, w, p + ".mlp.fc1")), w, p + ".mlp.fc2")
    return x


def text_features(w, cfg, ids_batch):
    tc = cfg["text_config"]
    out = []
    for ids in ids_batch:
        t = torch.tensor([ids])
        x = w["text_model.embeddings.token_embedding.weight"][t]
        x = x + w["text_model.embeddings.position_embedding.weight"][: len(ids)]
        x = encoder(x, w, "text_model", tc, causal=True)
        x = layer_norm(x, w, "text_model.final_layer_norm", tc["layer_norm_eps"])
        if tc["eos_token_id"] == 2:
            pool = int(t.argmax(dim=-1))
        else:
            pool = ids.index(tc["eos_token_id"])
        out.append(linear(x[0, pool], w, "text_projection", bias=False))
    return torch.stack(out)


def image_features(w, cfg, pixels):
    vc = cfg["vision_config"]
    p = vc["patch_size"]
    x = torch.nn.functional.conv2d(pixels, w["vision_model.embeddings.patch_embedding.weight"], stride=p)
    x = x.flatten(2).transpose(1, 2)
    cls = w["vision_model.embeddings.class_embedding"].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + w["vision_model.embeddings.position_embedding.weight"]
    x = layer_norm(x, w, "vision_model.pre_layrnorm", vc["layer_norm_eps"])
    x = encoder(x, w, "vision_model", vc, causal=False)
    pooled = layer_norm(x[:, 0], w, "vision_model.post_layernorm", vc["layer_norm_eps"])
    return linear(pooled, w, "visual_projection", bias=False)


def random_weights(cfg, gen):
    tc, vc = cfg["text_config"], cfg["vision_config"]
    proj = cfg["projection_dim"]
    w = {}

    def rnd(name, *shape, std=0.2):
        w[name] = torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    def ln(name, d):
        rnd(name + ".weight", d, std=0.1)
        w[name + ".weight"] += 1
        rnd(name + ".bias", d, std=0.1)

    def layers(prefix, c):
        d, m = c["hidden_size"], c["intermediate_size"]
        for i in range(c["num_hidden_layers"]):
            p = f"{prefix}.encoder.layers.{i}"
            for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
                rnd(f"{p}.self_attn.{n}.weight", d, d, std=d**-0.5)
                rnd(f"{p}.self_attn.{n}.bias", d, std=0.05)
            ln(p + ".layer_norm1", d)
            ln(p + ".layer_norm2", d)
            rnd(p + ".mlp.fc1.weight", m, d, std=d**-0.5)
            rnd(p + ".mlp.fc1.bias", m, std=0.05)
            rnd(p + ".mlp.fc2.weight", d, m, std=m**-0.5)
            rnd(p + ".mlp.fc2.bias", d, std=0.05)

    d = tc["hidden_size"]
    rnd("text_model.embeddings.token_embedding.weight", tc["vocab_size"], d, std=0.5)
    rnd("text_model.embeddings.position_embedding.weight", tc["max_position_embeddings"], d, std=0.3)
    layers("text_model", tc)
    ln("text_model.final_layer_norm", d)
    rnd("text_projection.weight", proj, d, std=d**-0.5)

    d, p = vc["hidden_size"], vc["patch_size"]
    n = (vc["image_size"] // p) ** 2 + 1
    rnd("vision_model.embeddings.patch_embedding.weight", d, 3, p, p, std=(3 * p * p) ** -0.5)
    rnd("vision_model.embeddings.class_embedding", d, std=0.5)
    rnd("vision_model.embeddings.position_embedding.weight", n, d, std=0.3)
    ln("vision_model.pre_layrnorm", d)
    layers("vision_model", vc)
    ln("vision_model.post_layernorm", d)
    rnd("visual_projection.weight", proj, d, std=d**-0.5)
    w["logit_scale"] = torch.tensor(3.1, dtype=torch.float64)
    return w


# ---------------------------------------------------------------- files

ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def tensor_bytes(t):
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().tobytes()
    return t.contiguous().numpy().tobytes()


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_checkpoint(folder, w, dtype, shards, extra_buffers):
    stored = {k: v.to(dtype) for k, v in w.items()}
    if extra_buffers:
        tc, vc = CONFIG_CACHE["text"], CONFIG_CACHE["vision"]
        stored["text_model.embeddings.position_ids"] = torch.arange(tc["max_position_embeddings"]).unsqueeze(0)
        n = (vc["image_size"] // vc["patch_size"]) ** 2 + 1
        stored["vision_model.embeddings.position_ids"] = torch.arange(n).unsqueeze(0)
    if shards == "bin":
        torch.save(OrderedDict(sorted(stored.items())), os.path.join(folder, "pytorch_model.bin"))
    elif shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), stored)
    else:
        names = sorted(stored)
        weight_map, per = {}, math.ceil(len(names) / shards)
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: stored[n] for n in names[s * per : (s + 1) * per]}
            write_safetensors(os.path.join(folder, fname), part)
            weight_map.update({n: fname for n in part})
        total = sum(len(tensor_bytes(t)) for t in stored.values())
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    # The truth is what was stored: round-trip through the storage dtype.
    return {k: v.to(dtype).to(torch.float64) for k, v in w.items()}


CONFIG_CACHE = {}

# ---------------------------------------------------------------- images


def test_image(width, height, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    img = np.zeros((height, width, 3))
    for c in range(3):
        fx, fy, ph = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 6)
        img[..., c] = 0.5 + 0.4 * np.sin(fx * xx * 6 + fy * yy * 4 + ph)
    img += rng.normal(0, 0.05, img.shape)
    return Image.fromarray(np.clip(img * 255, 0, 255).astype(np.uint8), "RGB")


def preprocess(img, pp, torchvision=False):
    """CLIPImageProcessor: resize (the short side to size.shortest_edge, or stretched to
    size.height x size.width) with PIL's resample filter, centre crop at the floor of half the
    excess, normalise. With torchvision, the crop is torchvision's CenterCrop: at
    int(round(excess / 2.0)), Python's round taking halves to even."""
    size, crop = pp["size"], pp["crop_size"]["height"]
    w, h = img.size
    if "shortest_edge" not in size:
        nw, nh = size["width"], size["height"]
    elif w <= h:
        nw, nh = size["shortest_edge"], int(size["shortest_edge"] * h / w)
    else:
        nw, nh = int(size["shortest_edge"] * w / h), size["shortest_edge"]
    img = img.resize((nw, nh), {2: Image.BILINEAR, 3: Image.BICUBIC}[pp.get("resample", 3)])
    if torchvision:
        left, top = int(round((nw - crop) / 2.0)), int(round((nh - crop) / 2.0))
    else:
        left, top = (nw - crop) // 2, (nh - crop) // 2
    img = img.crop((left, top, left + crop, top + crop))
    x = torch.tensor(np.asarray(img), dtype=torch.float64) / 255.0
    x = (x - torch.tensor(pp["image_mean"], dtype=torch.float64)) / torch.tensor(pp["image_std"], dtype=torch.float64)
    return x.permute(2, 0, 1)


def write_vocab(folder, vocab, merges):
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def write_images(folder, sizes, seed, pp, torchvision=False):
    """Writes the test images as PNG files; returns their names and preprocessed pixels."""
    images, pixels = [], []
    for i, (iw, ih) in enumerate(sizes):
        fname = f"image-{i}.png"
        test_image(iw, ih, seed * 10 + i).save(os.path.join(folder, fname))
        images.append(fname)
        pixels.append(preprocess(Image.open(os.path.join(folder, fname)).convert("RGB"), pp, torchvision))
    return images, torch.stack(pixels)


# ---------------------------------------------------------------- fixtures

CORPUS = [
    "a photo of a cat",
    "a red circle on grass",
    "two small yellow stars at the top",
    "a large blue square at the bottom left",
    "malazan book of the fallen",
    "a green triangle in the centre",
    "three purple rings on water",
    "stairs in a dungeon",
]

TEXTS = [
    "a photo of a cat",
    "A  Red\tCircle on GRASS!",
    "",
    "Malazan &amp; the fallen, 1999",
    "unseen wordings: zebra-quokka's",
    "x " * 40,
]

MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]

FIXTURES = [
    # name, vision (image, patch, width, layers, heads, mlp), text (width, layers, heads, mlp, max_pos),
    # projection, dtype, shards ("bin": one pytorch_model.bin), legacy_eos, images (w, h), and
    # preprocessor_config.json entries replacing the defaults
    dict(name="vit-b32-tiny", vision=(32, 8, 32, 2, 4, 64), text=(24, 2, 4, 48, 16), proj=16,
         dtype=torch.float32, shards=1, legacy=False, images=[(32, 32), (48, 40)]),
    dict(name="legacy-eos-f16", vision=(32, 8, 32, 2, 4, 64), text=(24, 2, 4, 48, 16), proj=16,
         dtype=torch.float16, shards=1, legacy=True, images=[(32, 32), (20, 50)]),
    dict(name="vit-l14-336-bf16-sharded", vision=(42, 14, 48, 3, 6, 96), text=(32, 3, 4, 64, 20), proj=24,
         dtype=torch.bfloat16, shards=3, legacy=False, images=[(42, 42), (64, 50)]),
    # A 36 px input with 8 px patches: the convolution drops the last 4 pixels of each row and
    # column. The image is stretched to 41x43 bilinearly, then cropped at (2, 3) (floored).
    dict(name="hf-bin-stretch-bilinear", vision=(36, 8, 32, 2, 4, 64), text=(24, 2, 4, 48, 16), proj=16,
         dtype=torch.float32, shards="bin", legacy=False, images=[(36, 36), (50, 40)],
         pp={"size": {"height": 43, "width": 41}, "resample": 2}),
]


def make_fixture(fx, vocab, merges, seed):
    folder = os.path.join(TESTDATA, fx["name"])
    os.makedirs(folder, exist_ok=True)
    img_size, patch, vw, vl, vh, vm = fx["vision"]
    tw, tl, th, tm, tp = fx["text"]
    eos = 2 if fx["legacy"] else vocab["<|endoftext|>"]
    text_cfg = dict(hidden_size=tw, num_hidden_layers=tl, num_attention_heads=th, intermediate_size=tm,
                    max_position_embeddings=tp, vocab_size=len(vocab), hidden_act="quick_gelu",
                    layer_norm_eps=1e-5, bos_token_id=vocab["<|startoftext|>"] if not fx["legacy"] else 0,
                    eos_token_id=eos, pad_token_id=1, projection_dim=fx["proj"], model_type="clip_text_model")
    vision_cfg = dict(hidden_size=vw, num_hidden_layers=vl, num_attention_heads=vh, intermediate_size=vm,
                      image_size=img_size, patch_size=patch, num_channels=3, hidden_act="quick_gelu",
                      layer_norm_eps=1e-5, projection_dim=fx["proj"], model_type="clip_vision_model")
    cfg = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": fx["proj"],
           "logit_scale_init_value": 2.6592, "torch_dtype": str(fx["dtype"]).replace("torch.", ""),
           "text_config": text_cfg, "vision_config": vision_cfg}
    if fx["legacy"]:
        # openai/clip-vit-base-patch32 style: partial *_config_dict entries next to the full ones.
        cfg["text_config_dict"] = {"eos_token_id": 2, "bos_token_id": 0}
        cfg["vision_config_dict"] = {"patch_size": patch}
    CONFIG_CACHE["text"], CONFIG_CACHE["vision"] = text_cfg, vision_cfg
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    pp = {"crop_size": {"height": img_size, "width": img_size}, "do_center_crop": True, "do_normalize": True,
          "do_rescale": True, "do_resize": True, "image_mean": MEAN, "image_std": STD, "resample": 3,
          "rescale_factor": 1 / 255, "size": {"shortest_edge": img_size}, "image_processor_type": "CLIPImageProcessor"}
    pp.update(fx.get("pp", {}))
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump(pp, f, indent=2)
    write_vocab(folder, vocab, merges)

    gen = torch.Generator().manual_seed(seed)
    w = random_weights(cfg, gen)
    w = write_checkpoint(folder, w, fx["dtype"], fx["shards"], extra_buffers=fx["legacy"])

    tok = SimpleTokenizer(vocab, merges)
    ids = [tok.tokenize(t, tp) for t in TEXTS]
    tf = text_features(w, cfg, ids)

    images, pixels = write_images(folder, fx["images"], seed, pp)
    imf = image_features(w, cfg, pixels)
    norm = lambda z: z / z.norm(dim=-1, keepdim=True)
    logits = norm(imf) @ norm(tf).T * w["logit_scale"].exp()

    ref = {
        "texts": [{"text": t, "tokens": i, "embedding": e.tolist()} for t, i, e in zip(TEXTS, ids, tf)],
        "images": [{"file": f, "pixels_nhwc": p.permute(1, 2, 0).flatten().tolist(), "embedding": e.tolist()}
                   for f, p, e in zip(images, pixels, imf)],
        "logits_per_image": logits.tolist(),
        "logit_scale": float(w["logit_scale"]),
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(ref, f)
    print(f"wrote {folder}")


# ---------------------------------------------------------------- OpenAI layout
#
# A port of openai/CLIP's clip/model.py (MIT), written for this script: the same module tree and
# parameter names (visual.layer1.0.conv1.weight, visual.attnpool.*, transformer.resblocks.N.attn.
# in_proj_weight, ...) so that its state_dict and its TorchScript archive look like OpenAI's.

from collections import OrderedDict

nn = torch.nn


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(OrderedDict([
                ("-1", nn.AvgPool2d(stride)),
                ("0", nn.Conv2d(inplanes, planes * 4, 1, bias=False)),
                ("1", nn.BatchNorm2d(planes * 4))]))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class AttentionPool2d(nn.Module):
    def __init__(self, grid, width, heads, out):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width))
        self.k_proj, self.q_proj, self.v_proj = (nn.Linear(width, width) for _ in range(3))
        self.c_proj = nn.Linear(width, out)
        self.num_heads = heads

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        x, _ = nn.functional.multi_head_attention_forward(
            query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
            in_proj_weight=None, in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0, out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias, use_separate_proj_weight=True, training=False, need_weights=False)
        return x.squeeze(0)


class ModifiedResNet(nn.Module):
    def __init__(self, layers, out, heads, resolution, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        self.inplanes = width
        for i, n in enumerate(layers):
            setattr(self, f"layer{i + 1}", self.make_layer(width << i, n, 1 if i == 0 else 2))
        self.attnpool = AttentionPool2d(resolution // 32, width * 32, heads, out)

    def make_layer(self, planes, blocks, stride):
        layers = [Bottleneck(self.inplanes, planes, stride)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes, 1) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = x.to(self.conv1.weight.dtype)
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = torch.relu(bn(conv(x)))
        x = self.avgpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.attnpool(x)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, mask, act):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)), ("gelu", act()), ("c_proj", nn.Linear(width * 4, width))]))
        self.ln_2 = nn.LayerNorm(width)
        self.attn_mask = mask

    def forward(self, x):
        mask = None if self.attn_mask is None else self.attn_mask.to(x.dtype)
        x = x + self.attn(self.ln_1(x), self.ln_1(x), self.ln_1(x), need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mask, act):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, mask, act) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, resolution, patch, width, layers, heads, out, act):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width))
        self.positional_embedding = nn.Parameter(torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, None, act)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, out))

    def forward(self, x):
        x = self.conv1(x.to(self.conv1.weight.dtype)).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.transformer(self.ln_pre(x).permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed, vision, resolution, vwidth, vlayers, patch, context, vocab, twidth, theads, tlayers,
                 head_width=64, act=QuickGELU):
        super().__init__()
        if isinstance(vlayers, (tuple, list)):
            self.visual = ModifiedResNet(vlayers, embed, vwidth * 32 // head_width, resolution, vwidth)
        else:
            self.visual = VisionTransformer(resolution, patch, vwidth, vlayers, vwidth // head_width, embed, act)
        mask = torch.full((context, context), float("-inf")).triu(1)
        self.transformer = Transformer(twidth, tlayers, theads, mask, act)
        self.token_embedding = nn.Embedding(vocab, twidth)
        self.positional_embedding = nn.Parameter(torch.randn(context, twidth))
        self.ln_final = nn.LayerNorm(twidth)
        self.text_projection = nn.Parameter(torch.randn(twidth, embed))
        self.logit_scale = nn.Parameter(torch.tensor(3.1))

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        im, tx = self.encode_image(image), self.encode_text(text)
        im, tx = im / im.norm(dim=1, keepdim=True), tx / tx.norm(dim=1, keepdim=True)
        logits = self.logit_scale.exp() * im @ tx.t()
        return logits, logits.t()


def randomise(model, gen):
    """Draws every weight away from identity: norms and batch-norm statistics too."""
    for name, t in model.state_dict().items():
        if not t.is_floating_point():
            continue
        n = torch.randn(t.shape, generator=gen, dtype=torch.float64)
        if "running_var" in name:
            v = 0.5 + torch.rand(t.shape, generator=gen, dtype=torch.float64)
        elif name.endswith("running_mean") or name.endswith(".bias"):
            v = 0.1 * n
        elif t.dim() == 1 and name.endswith(".weight"):  # layer and batch norms
            v = 1 + 0.2 * n
        elif name == "logit_scale":
            v = torch.tensor(3.1, dtype=torch.float64)
        elif t.dim() >= 2 and "embedding" not in name:
            fan_in = t[0].numel() if t.dim() == 4 or "proj" not in name or "weight" in name else t.shape[0]
            v = n * fan_in ** -0.5
        else:
            v = 0.5 * n
        t.copy_(v.to(t.dtype))


def half_like_openai(model):
    """Rounds to float16 what OpenAI's convert_weights stores as float16 (convolutions, linear and
    attention weights, projections, and here the embeddings too); norms stay float32."""
    keep32 = lambda name: any(k in name for k in ("bn", "downsample.1", "ln_", "running_", "logit_scale"))
    state = model.state_dict()
    stored = OrderedDict((k, v if keep32(k) or not v.is_floating_point() else v.half()) for k, v in state.items())
    stored._metadata = state._metadata  # as torch.save(model.state_dict()) pickles it
    return stored


OPENAI_FIXTURES = [
    # name, vision (resolution, width, layers, patch), text (context, width, heads, layers), embed, images
    dict(name="openai-rn-tiny", vision=(64, 4, (1, 1, 2, 1), None), text=(16, 64, 1, 1), embed=16,
         images=[(64, 64), (80, 70)], weights="open_clip_model.safetensors", mean=[0.5, 0.4, 0.3], std=[0.2, 0.3, 0.25]),
    dict(name="openai-vit-tiny", vision=(32, 64, 1, 8), text=(16, 64, 1, 1), embed=16,
         images=[(32, 32), (40, 48)], weights="open_clip_pytorch_model.bin", mean=MEAN, std=STD),
    # open_clip's options where OpenAI's loader assumes otherwise: GELU, 16-wide heads (4 in the
    # vision tower), bilinear resizing. Both images are cropped at an odd half excess (3.5 and
    # 5.5), where torchvision's rounding and the floor differ.
    dict(name="openclip-vit-gelu", vision=(32, 64, 1, 8), text=(16, 64, 2, 1), embed=16,
         images=[(40, 49), (54, 40)], weights="open_clip_pytorch_model.bin", mean=MEAN, std=STD,
         quick_gelu=False, head_width=16, interpolation="bilinear", torchscript=False, training_checkpoint=True),
]


def open_clip_config(fx, vocab_size):
    res, width, layers, patch = fx["vision"]
    context, twidth, theads, tlayers = fx["text"]
    vision = {"image_size": res, "layers": list(layers) if patch is None else layers, "width": width,
              "patch_size": patch, "head_width": fx.get("head_width", 64)}
    text = {"context_length": context, "vocab_size": vocab_size, "width": twidth, "heads": theads, "layers": tlayers}
    return {"model_cfg": {"embed_dim": fx["embed"], "quick_gelu": fx.get("quick_gelu", True), "vision_cfg": vision,
                          "text_cfg": text},
            "preprocess_cfg": {"mean": fx["mean"], "std": fx["std"], "interpolation": fx.get("interpolation", "bicubic"),
                               "resize_mode": "shortest"}}


def write_torchscript(model, stored, path, image, text):
    """Traces the model as OpenAI did for its .pt files, then stores the float16 weights."""
    model = model.float().eval()
    traced = torch.jit.trace(model, (image.float(), text))
    params = dict(traced.named_parameters())
    params.update(dict(traced.named_buffers()))
    for name, value in stored.items():
        params[name].data = value.clone()
    torch.jit.save(traced, path)
    names = set(torch.jit.load(path).state_dict())
    assert names == set(stored), "the archive's names differ from the state_dict's"


def make_openai_fixture(fx, vocab, merges, seed):
    folder = os.path.join(TESTDATA, fx["name"])
    os.makedirs(folder, exist_ok=True)
    res, width, layers, patch = fx["vision"]
    context, twidth, theads, tlayers = fx["text"]
    torch.manual_seed(seed)
    act = QuickGELU if fx.get("quick_gelu", True) else nn.GELU
    model = CLIP(fx["embed"], None, res, width, layers, patch, context, len(vocab), twidth, theads, tlayers,
                 fx.get("head_width", 64), act).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        randomise(model, gen)
    stored = half_like_openai(model)
    cfg = open_clip_config(fx, len(vocab))
    with open(os.path.join(folder, "open_clip_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_vocab(folder, vocab, merges)
    if fx["weights"].endswith(".safetensors"):
        write_safetensors(os.path.join(folder, fx["weights"]), stored)
    else:
        torch.save(stored, os.path.join(folder, fx["weights"]))
    if fx.get("training_checkpoint"):
        # What open_clip's training writes: the DistributedDataParallel state dict beside the run's state.
        wrapped = OrderedDict(("module." + k, v) for k, v in stored.items())
        torch.save({"epoch": 1, "name": "run", "state_dict": wrapped}, os.path.join(folder, "epoch_1.pt"))

    # The truth: the stored (rounded) weights in float64.
    model = model.double()
    model.load_state_dict({k: v.to(torch.float64) if v.is_floating_point() else v for k, v in stored.items()})
    tok = SimpleTokenizer(vocab, merges)
    ids = [tok.tokenize(t, context) for t in TEXTS]
    text = torch.tensor([i + [0] * (context - len(i)) for i in ids])
    pp = {"size": {"shortest_edge": res}, "crop_size": {"height": res}, "image_mean": MEAN, "image_std": STD,
          "resample": {"bicubic": 3, "bilinear": 2}[fx.get("interpolation", "bicubic")]}
    images, pixels = write_images(folder, fx["images"], seed, pp, torchvision=True)
    with torch.no_grad():
        tf, imf = model.encode_text(text), model.encode_image(pixels)
        logits, _ = model(pixels, text)
        if fx.get("torchscript", True):
            write_torchscript(model, stored, os.path.join(folder, "model.pt"), pixels, text)
    ref = {
        "texts": [{"text": t, "tokens": i, "embedding": e.tolist()} for t, i, e in zip(TEXTS, ids, tf)],
        # Pixels to 6 decimals (they are k/255, normalised) keep the file small.
        "images": [{"file": f, "pixels_nhwc": [round(v, 6) for v in p.permute(1, 2, 0).flatten().tolist()],
                    "embedding": e.tolist()} for f, p, e in zip(images, pixels, imf)],
        "logits_per_image": logits.tolist(),
        "logit_scale": float(model.logit_scale),
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(ref, f)
    print(f"wrote {folder}")


REAL_TEXTS = [
    "a photo of a cat",
    "Malazan",
    "stairs in a dungeon",
    "metal armour, leather armour & a warrior",
    "Hello, World! It's 2026; we'll see... they've 3.14159 reasons",
    "naïve café résumé — Ünïcödé",
    "日本語のテキスト 中文 한국어",
    "emoji 🐙🔥 and symbols ©®™ ±×÷",
    "&lt;b&gt;bold&lt;/b&gt; &amp;amp; &quot;quoted&quot;",
    "   lots\n\n of\t\twhitespace   ",
    "<|startoftext|>already special<|endoftext|>",
    "",
    "x",
    "antidisestablishmentarianism supercalifragilisticexpialidocious",
    "0123456789 1st 2nd 3rd 42nd",
    "don't can't won't I'm you're I'd we'll",
    "Ελληνικά кириллица עברית العربية",
    "word " * 100,
    "İstanbul ΟΔΟΣ straße",
    "\x1cseparated\x1fcontrol\x0bchars\u3000ideographic\u00a0nbsp",
    "'S 'LL 'Ve caps apostrophes's",
]


def make_real_vocab_tokens():
    if not os.path.isdir(REAL_VOCAB):
        print("no ../shared/clip-vocab: skipping tokens-real-vocab.json")
        return
    vocab, merges = read_real_vocab()
    tok = SimpleTokenizer(vocab, merges)
    out = [{"text": t, "tokens": tok.tokenize(t, 77)} for t in REAL_TEXTS]
    with open(os.path.join(TESTDATA, "tokens-real-vocab.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print("wrote tokens-real-vocab.json")


def main():
    only = set(sys.argv[1:])
    vocab, merges = train_small_vocab(CORPUS, 60)
    for i, fx in enumerate(FIXTURES):
        if not only or fx["name"] in only:
            make_fixture(fx, vocab, merges, seed=100 + i)
    for i, fx in enumerate(OPENAI_FIXTURES):
        if not only or fx["name"] in only:
            make_openai_fixture(fx, vocab, merges, seed=200 + i)
    if not only:
        make_real_vocab_tokens()


if __name__ == "__main__":
    sys.exit(main())
