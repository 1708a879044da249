"""Render FaceFX's bundled sticker artwork into stickers/ (run by hand; never at run time).

Emoji come from Debian's fonts-noto-color-emoji (Noto Color Emoji, SIL OFL 1.1): its glyphs are
colour bitmaps (CBDT) at one strike, 109 px, which Pillow draws with embedded_color=True. Each
glyph is trimmed to its visible pixels plus a small transparent margin, so a sticker's size in
the plan is the size of the picture a user sees, and saved as straight-alpha RGBA PNG.

Particles that an emoji does not fit well (confetti strips, firework sparks, rain streaks) are
drawn here with Pillow at 4x and reduced, so their edges are anti-aliased; coloured balloons are
the font's red balloon with its hue turned, keeping its highlight and string.

    .venv/bin/python tools/make_stickers.py [--font PATH] [--out DIR]

Rerunning rewrites the same files; stickers/README.md lists each with its code point.
"""
from __future__ import annotations

import argparse
import colorsys
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
STRIKE = 109          # the only bitmap size Noto Color Emoji has
MARGIN = 4            # transparent pixels kept around a trimmed glyph
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One sticker per built-in gesture (facefx.results.BUILTIN_GESTURES): file stem -> code point.
GESTURES = {
    "thumbs_up": 0x1F44D,        # THUMBS UP SIGN
    "thumbs_down": 0x1F44E,      # THUMBS DOWN SIGN
    "open_palm": 0x270B,         # RAISED HAND
    "victory": 0x270C,           # VICTORY HAND
    "pointing_up": 0x261D,       # WHITE UP POINTING INDEX
    "fist": 0x270A,              # RAISED FIST
    "ok": 0x1F44C,               # OK HAND SIGN
    "i_love_you": 0x1F91F,       # I LOVE YOU HAND SIGN
    "heart_hands": 0x1FAF6,      # HEART HANDS
    "two_thumbs_up": 0x1F64C,    # PERSON RAISING BOTH HANDS IN CELEBRATION
    "two_thumbs_down": 0x1F645,  # FACE WITH NO GOOD GESTURE
    "two_victories": 0x1F389,    # PARTY POPPER
}

# Gestures of a custom model or taught ones get this sticker unless they are given one.
OTHER_STICKERS = {
    "sparkles": 0x2728,          # SPARKLES
}

# The seven FER2013 expressions (facefx.results.EXPRESSIONS), under emoji/.
EXPRESSIONS = {
    "angry": 0x1F620,            # ANGRY FACE
    "disgust": 0x1F922,          # NAUSEATED FACE
    "fear": 0x1F628,             # FEARFUL FACE
    "happy": 0x1F604,            # SMILING FACE WITH OPEN MOUTH AND SMILING EYES
    "sad": 0x1F622,              # CRYING FACE
    "surprise": 0x1F62E,         # FACE WITH OPEN MOUTH
    "neutral": 0x1F610,          # NEUTRAL FACE
}

# Animation particles taken from the font, under particles/.
PARTICLE_EMOJI = {
    "heart_red": 0x2764,         # HEAVY BLACK HEART (red heart)
    "heart_pink": 0x1FA77,       # PINK HEART
    "heart_sparkling": 0x1F496,  # SPARKLING HEART
    "heart_two": 0x1F495,        # TWO HEARTS
    "balloon_red": 0x1F388,      # BALLOON
    "cloud": 0x2601,             # CLOUD
}

# Balloon recolours: target hue (0..1) and a saturation/value scale for each.
BALLOON_HUES = {
    "balloon_blue": (0.60, 1.0, 1.0),
    "balloon_yellow": (0.14, 1.0, 1.08),
    "balloon_green": (0.36, 0.95, 0.95),
    "balloon_purple": (0.78, 0.9, 1.0),
    "balloon_orange": (0.07, 1.0, 1.05),
}

CONFETTI = {
    "red": (235, 64, 52), "orange": (255, 150, 30), "yellow": (255, 214, 40),
    "green": (60, 190, 90), "blue": (40, 130, 240), "purple": (150, 80, 220),
    "pink": (255, 105, 180),
}

SPARKS = {
    "gold": (255, 200, 80), "red": (255, 80, 70), "green": (110, 255, 120),
    "blue": (110, 170, 255), "pink": (255, 110, 220), "white": (235, 240, 255),
}


def render_emoji(font: ImageFont.FreeTypeFont, cp: int) -> Image.Image:
    """One glyph, trimmed to its visible pixels plus MARGIN on every side."""
    canvas = Image.new("RGBA", (STRIKE * 2, STRIKE * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((STRIKE // 2, STRIKE // 2), chr(cp), font=font,
                                embedded_color=True)
    box = canvas.getchannel("A").point(lambda a: 255 if a > 2 else 0).getbbox()
    if box is None:
        raise SystemExit(f"U+{cp:04X}: the font drew nothing; expected a colour glyph")
    glyph = canvas.crop(box)
    out = Image.new("RGBA", (glyph.width + 2 * MARGIN, glyph.height + 2 * MARGIN), (0, 0, 0, 0))
    out.paste(glyph, (MARGIN, MARGIN))
    return out


def recolour(img: Image.Image, hue: float, sat: float, val: float) -> Image.Image:
    """Turn the saturated (rubber) pixels to `hue`; grey string and white highlight stay."""
    rgba = np.asarray(img).astype(np.float32) / 255.0
    out = rgba.copy()
    h, w = rgba.shape[:2]
    for yy in range(h):
        for xx in range(w):
            r, g, b, a = rgba[yy, xx]
            if a == 0:
                continue
            hh, ss, vv = colorsys.rgb_to_hsv(r, g, b)
            if ss < 0.25:
                continue
            out[yy, xx, :3] = colorsys.hsv_to_rgb(hue, min(1.0, ss * sat), min(1.0, vv * val))
    return Image.fromarray(np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGBA")


def shade(img: Image.Image, factor: float) -> Image.Image:
    """The same picture darker (a rain cloud from the white cloud), alpha unchanged."""
    rgba = np.asarray(img).astype(np.float32)
    rgba[..., :3] *= factor
    return Image.fromarray(np.clip(rgba + 0.5, 0, 255).astype(np.uint8), "RGBA")


def confetti_strip(rgb) -> Image.Image:
    """A paper strip 2:1 with a lighter half, so a spinning strip reads as catching the light."""
    s = 4
    w, h = 40 * s, 20 * s
    img = Image.new("RGBA", (w + 8 * s, h + 8 * s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    light = tuple(min(255, int(c + (255 - c) * 0.35)) for c in rgb)
    d.rounded_rectangle((4 * s, 4 * s, 4 * s + w, 4 * s + h), radius=3 * s, fill=rgb + (255,))
    d.rounded_rectangle((4 * s, 4 * s, 4 * s + w, 4 * s + h // 2), radius=3 * s,
                        fill=light + (255,))
    return img.resize((img.width // s, img.height // s), Image.LANCZOS)


def spark(rgb) -> Image.Image:
    """A glowing point: white-hot core, a solid coloured body and a halo fading out (straight
    alpha), so it reads over bright video as well as over the darkened "night" overlay."""
    n = 48
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    r = np.hypot(xx - (n - 1) / 2, yy - (n - 1) / 2) / (n / 2)
    body = np.clip((0.42 - r) / 0.08, 0, 1)
    halo = np.exp(-((r / 0.55) ** 2)) * 0.7 * np.clip((0.96 - r) / 0.3, 0, 1)
    alpha = np.clip(np.maximum(body, halo), 0, 1)
    alpha[r >= 1] = 0
    core = np.clip(1.0 - r / 0.2, 0, 1)[..., None] * 0.85
    colour = np.array(rgb, np.float32)[None, None, :] * (1 - core) + 255.0 * core
    out = np.dstack([colour, alpha[..., None] * 255.0])
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGBA")


def overlay(rgb, top: float, bottom: float) -> Image.Image:
    """A small vertical gradient that a renderer stretches over the whole frame (bilinear, so
    it stays smooth): it darkens the video for the night sky of fireworks or the gloom of rain.
    top/bottom: alpha at the top and bottom edges, 0..1."""
    h = 32
    a = np.linspace(top, bottom, h, dtype=np.float32)[:, None].repeat(4, axis=1)
    out = np.dstack([np.full((h, 4, 3), rgb, np.float32), a[..., None] * 255.0])
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGBA")


def rain_streak() -> Image.Image:
    """A falling raindrop as motion blur sees it: a thin pale-blue streak, brightest at its head."""
    s = 4
    w, h = 10 * s, 90 * s
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    px = img.load()
    for y in range(h):
        t = y / (h - 1)                       # 0 = tail (top), 1 = head (bottom)
        half = (0.18 + 0.32 * t) * w / 2
        for x in range(w):
            d = abs(x - (w - 1) / 2)
            if d <= half:
                edge = min(1.0, (half - d) / (1.5 * s))
                px[x, y] = (215, 232, 255, int(255 * (0.2 + 0.8 * t ** 1.2) * edge))
    small = img.resize((w // s, h // s), Image.LANCZOS).filter(ImageFilter.SMOOTH)
    out = Image.new("RGBA", (small.width + 4, small.height + 4), (0, 0, 0, 0))
    out.paste(small, (2, 2))
    return out


def save(img: Image.Image, out_dir: str, rel: str) -> str:
    path = os.path.join(out_dir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, optimize=True)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--font", default=FONT)
    ap.add_argument("--out", default=os.path.join(ROOT, "stickers"))
    args = ap.parse_args(argv)
    if not os.path.isfile(args.font):
        print(f"{args.font}: not found; expected Noto Color Emoji "
              "(Debian: apt install fonts-noto-color-emoji)", file=sys.stderr)
        return 2
    font = ImageFont.truetype(args.font, STRIKE)
    written = []
    for name, cp in GESTURES.items():
        written.append(save(render_emoji(font, cp), args.out, f"{name}.png"))
    for name, cp in OTHER_STICKERS.items():
        written.append(save(render_emoji(font, cp), args.out, f"{name}.png"))
    for name, cp in EXPRESSIONS.items():
        written.append(save(render_emoji(font, cp), args.out, f"emoji/{name}.png"))
    for name, cp in PARTICLE_EMOJI.items():
        written.append(save(render_emoji(font, cp), args.out, f"particles/{name}.png"))
    cloud = render_emoji(font, PARTICLE_EMOJI["cloud"])
    written.append(save(shade(cloud, 0.62), args.out, "particles/cloud_dark.png"))
    red = render_emoji(font, PARTICLE_EMOJI["balloon_red"])
    for name, (hue, sat, val) in BALLOON_HUES.items():
        written.append(save(recolour(red, hue, sat, val), args.out, f"particles/{name}.png"))
    for name, rgb in CONFETTI.items():
        written.append(save(confetti_strip(rgb), args.out, f"particles/confetti_{name}.png"))
    for name, rgb in SPARKS.items():
        written.append(save(spark(rgb), args.out, f"particles/spark_{name}.png"))
    written.append(save(rain_streak(), args.out, "particles/rain_streak.png"))
    written.append(save(overlay((8, 12, 38), 0.92, 0.55), args.out, "particles/night.png"))
    written.append(save(overlay((28, 36, 48), 0.75, 0.45), args.out, "particles/gloom.png"))
    total = sum(os.path.getsize(p) for p in written)
    print(f"{len(written)} images, {total / 1024:.0f} KiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
