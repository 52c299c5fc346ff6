"""Writes the images of TestPixelsAsPIL and what PIL's pipelines make of them (pixels.json),
and the JPEGs and WebPs of TestDecodedColoursAsPIL with PIL's (libjpeg's, libwebp's) RGB of
them (jpeg.json).

Run with the Python that has Pillow (9.4 made the committed files): python3 make.py. Each
image is preprocessed as transformers' CLIPImageProcessor does (convert to RGB, resize, crop
at the floor of half the excess) and as torchvision's pipeline of OpenAI's clip.load and
open_clip does (resize as the file is, crop at the rounded half, convert to RGB), with both
filters, to an 8-pixel crop of a short side of 8 (or a squash to 9x8).
"""
import json
import os
import random

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def images(rng):
    """The test images, by file name: every PNG kind PIL and Go read differently."""
    rgba = np.array([[[rng.randrange(256) for _ in range(3)] + [rng.choice([0, 0, 255, rng.randrange(256)])]
                      for _ in range(23)] for _ in range(17)], dtype=np.uint8)
    la = np.array([[[rng.randrange(256), rng.choice([0, 255, rng.randrange(256)])] for _ in range(13)]
                   for _ in range(21)], dtype=np.uint8)
    rgb = np.array([[[rng.randrange(256) for _ in range(3)] for _ in range(19)] for _ in range(14)], dtype=np.uint8)
    grey = np.array([[rng.randrange(256) for _ in range(11)] for _ in range(29)], dtype=np.uint8)
    palette = Image.new("P", (18, 25))
    palette.putpalette([rng.randrange(256) for _ in range(16 * 3)])
    palette.putdata([rng.randrange(16) for _ in range(18 * 25)])
    palette.info["transparency"] = bytes([0, 128] + [255] * 14)
    palette2 = Image.new("P", (12, 78))  # 12 wide squashed to 9: PIL's float steps pick a column off the exact one
    palette2.putpalette([rng.randrange(256) for _ in range(16 * 3)])
    palette2.putdata([rng.randrange(16) for _ in range(12 * 78)])
    tall = np.array([[[rng.randrange(256) for _ in range(3)]] for _ in range(300)], dtype=np.uint8)
    tiny = np.array([[[rng.randrange(256) for _ in range(3)] for _ in range(3)] for _ in range(2)], dtype=np.uint8)
    deep = np.array([[[rng.randrange(65536) for _ in range(3)] for _ in range(15)] for _ in range(12)], dtype=">u2")
    keyed_rgb = Image.fromarray(rgb[:, :13], "RGB")
    keyed_rgb.info["transparency"] = tuple(int(v) for v in rgb[0, 0])  # a transparent colour (tRNS)
    keyed_grey = Image.fromarray(grey[:19], "L")
    keyed_grey.info["transparency"] = int(grey[0, 0])
    bits = Image.fromarray(grey > 127).convert("1")
    keyed_bits = bits.copy()
    keyed_bits.info["transparency"] = 0
    return {
        "rgba.png": Image.fromarray(rgba, "RGBA"),
        "keyed-rgb.png": keyed_rgb,
        "keyed-grey.png": keyed_grey,
        "bits.png": bits,
        "keyed-bits.png": keyed_bits,
        "la.png": Image.fromarray(la, "LA"),
        "rgb.png": Image.fromarray(rgb, "RGB"),
        "grey.png": Image.fromarray(grey, "L"),
        "palette.png": palette,
        "rgb16.png": deep,
        "palette2.png": palette2,
        "tall.png": Image.fromarray(tall, "RGB"),
        "tiny.png": Image.fromarray(tiny, "RGB"),
        "transparent.gif": palette.copy(),  # index 0 transparent: PIL keeps its stored colour
    }


def write_deep(path, data):
    """Writes a 16-bit RGB PNG (PIL cannot), with zlib and struct alone."""
    import struct
    import zlib
    h, w, _ = data.shape
    raw = b"".join(b"\x00" + data[y].tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def size_for(img, squash):
    if squash:
        return 9, 8
    w, h = img.size
    return (8, 8 * h // w) if w <= h else (8 * w // h, 8)


def crop(img, rounded):
    w, h = img.size
    left = round((w - 8) / 2) if rounded else (w - 8) // 2
    top = round((h - 8) / 2) if rounded else (h - 8) // 2
    return img.crop((left, top, left + 8, top + 8))


def jpegs():
    """JPEGs of a picture with colour edges, in each chroma subsampling and at odd sizes."""
    from PIL import ImageDraw, ImageFilter
    picture = Image.new("RGB", (37, 23), (90, 140, 200))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((4, 3, 20, 19), fill=(220, 40, 30))
    draw.rectangle((22, 5, 33, 20), fill=(40, 180, 60))
    draw.line((0, 21, 37, 9), fill=(250, 240, 20), width=2)
    picture = picture.filter(ImageFilter.GaussianBlur(0.6))
    out = []
    for name, subsampling in (("420.jpg", 2), ("422.jpg", 1), ("444.jpg", 0)):
        picture.save(os.path.join(HERE, name), quality=80, subsampling=subsampling)
        out.append(name)
    for name, size, subsampling in (("tiny420.jpg", (3, 5), 2), ("tiny422.jpg", (4, 4), 1), ("narrow420.jpg", (1, 9), 2)):
        picture.resize(size).save(os.path.join(HERE, name), quality=80, subsampling=subsampling)
        out.append(name)  # two chroma samples a row or fewer: libjpeg repeats them
    picture.convert("L").save(os.path.join(HERE, "grey.jpg"), quality=80)
    out.append("grey.jpg")
    picture.save(os.path.join(HERE, "lossy.webp"), quality=80)  # libwebp's colours and upsampling too
    picture.resize((36, 22)).save(os.path.join(HERE, "even.webp"), quality=80)
    translucent = picture.convert("RGBA")
    translucent.putalpha(picture.convert("L"))
    translucent.save(os.path.join(HERE, "alpha.webp"), quality=80)
    out += ["lossy.webp", "even.webp", "alpha.webp"]
    return [{"file": name, "rgb": np.asarray(Image.open(os.path.join(HERE, name)).convert("RGB")).flatten().tolist()}
            for name in out]


def main():
    rng = random.Random(5)
    cases = []
    for name, img in images(rng).items():
        path = os.path.join(HERE, name)
        if isinstance(img, np.ndarray):
            write_deep(path, img)
        else:
            if name.endswith(".gif"):
                img.save(path, transparency=0)
            elif "transparency" in img.info and img.mode != "P":
                img.save(path, transparency=img.info["transparency"])
            else:
                img.save(path)
        img = Image.open(path)
        img.load()
        for filt, resample in (("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR)):
            for squash in (False, True):
                size = size_for(img, squash)
                hf = crop(img.convert("RGB").resize(size, resample), False)
                tv = crop(img.resize(size, resample), True).convert("RGB")
                for pipeline, out in (("huggingface", hf), ("torchvision", tv)):
                    cases.append({"file": name, "mode": img.mode, "filter": filt, "squash": squash, "pipeline": pipeline,
                                  "pixels": list(np.asarray(out, dtype=np.uint8).flatten().tolist())})
    with open(os.path.join(HERE, "pixels.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "cases": cases}, f, separators=(",", ":"))
    with open(os.path.join(HERE, "jpeg.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "images": jpegs()}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
