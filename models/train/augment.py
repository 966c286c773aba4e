"""Batched, seeded augmentation in torch (geometry by one affine grid_sample per image, colour by tensor ops).

Every random draw comes from the torch.Generator the caller passes; the training loops seed it from
(seed, epoch, step), so a resumed run draws exactly what an uninterrupted run would have drawn.

Geometry is applied identically to the image and its masks (the same sampling grid; masks are soft area fractions
and are resampled bilinearly). Pixels sampled from outside the square become black, like the fundus border.

Flips: a horizontal flip turns a right eye into a left eye (the disc moves to the other side). That is harmless
for the classifier and the segmenter: no label depends on laterality, and both eyes are in the data anyway. A
vertical flip swaps superior and inferior retina; it is used for the segmenter only (lesion and disc appearance
does not depend on it; the classifier keeps the natural orientation of the vessel arcades).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    hflip: float = 0.5
    vflip: float = 0.0
    rotate_deg: float = 15.0
    scale: tuple[float, float] = (0.9, 1.1)
    translate: float = 0.05        # fraction of the side
    brightness: float = 0.2        # multiply by U(1 - b, 1 + b)
    contrast: float = 0.2
    saturation: float = 0.2
    gamma: float = 0.2             # x ** U(1 - g, 1 + g)


CLASSIFIER_AUG = AugmentConfig()
SEGMENTER_AUG = AugmentConfig(vflip=0.5, scale=(0.8, 1.25), translate=0.0)


def _u(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def affine_params(n: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """[n, 2, 2] linear parts (output -> input normalised coordinates): rotation / scale with flips."""
    ang = _u(gen, n, -cfg.rotate_deg, cfg.rotate_deg) * math.pi / 180
    scale = torch.exp(_u(gen, n, math.log(cfg.scale[0]), math.log(cfg.scale[1])))
    fx = torch.where(torch.rand(n, generator=gen) < cfg.hflip, -1.0, 1.0)
    fy = torch.where(torch.rand(n, generator=gen) < cfg.vflip, -1.0, 1.0)
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    lin = torch.stack([torch.stack([cos * fx, -sin * fy], -1), torch.stack([sin * fx, cos * fy], -1)], 1)
    return lin


def warp(images: torch.Tensor, masks: torch.Tensor | None, theta: torch.Tensor, out_size: int
         ) -> tuple[torch.Tensor, torch.Tensor | None]:
    n, c = images.shape[:2]
    grid = F.affine_grid(theta, [n, c, out_size, out_size], align_corners=False)
    img = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    msk = None
    if masks is not None:
        msk = F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return img, msk


_GREY = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def colour(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Brightness, contrast, saturation and gamma jitter on [n, 3, h, w] images in 0..1 (per image; contrast is
    scaled about the image's mean, so a lowered contrast lifts the black border slightly; values are clamped)."""
    n = images.shape[0]
    b = _u(gen, n, 1 - cfg.brightness, 1 + cfg.brightness).view(n, 1, 1, 1)
    c = _u(gen, n, 1 - cfg.contrast, 1 + cfg.contrast).view(n, 1, 1, 1)
    s = _u(gen, n, 1 - cfg.saturation, 1 + cfg.saturation).view(n, 1, 1, 1)
    g = _u(gen, n, 1 - cfg.gamma, 1 + cfg.gamma).view(n, 1, 1, 1)
    b, c, s, g = (v.to(images.device) for v in (b, c, s, g))
    m = images.mean(dim=(1, 2, 3), keepdim=True) * b
    x = images * (b * c) + m * (1 - c)            # brightness, then contrast about the (brightened) mean
    grey = (x * _GREY.to(x.device)).sum(dim=1, keepdim=True)
    x.mul_(s).add_(grey * (1 - s))                # saturation
    x.clamp_(0, 1).pow_(g)                        # gamma
    return x


def to_float(batch_uint8_nhwc: torch.Tensor) -> torch.Tensor:
    return batch_uint8_nhwc.permute(0, 3, 1, 2).contiguous().float().div_(255.0)


def normalise(x: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


def augment_full(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Classifier: whole-image geometry and colour jitter; images [n, 3, s, s] in 0..1."""
    n, _, s, _ = images.shape
    theta = torch.zeros(n, 2, 3)
    theta[:, :, :2] = affine_params(n, cfg, gen)
    theta[:, :, 2] = _u(gen, 2 * n, -2 * cfg.translate, 2 * cfg.translate).view(n, 2)
    img, _ = warp(images, None, theta.to(images.device), s)
    return colour(img, cfg, gen)


def augment_patches(images: torch.Tensor, masks: torch.Tensor, centres: torch.Tensor, patch: int,
                    cfg: AugmentConfig, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Segmenter: cut a rotated, scaled, flipped patch of patch x patch pixels around each centre (normalised
    coordinates in [-1, 1]) straight from the full cached image, so nothing outside the patch is resampled."""
    n, _, s, _ = images.shape
    theta = torch.zeros(n, 2, 3)
    theta[:, :, :2] = affine_params(n, cfg, gen) * (patch / s)
    theta[:, :, 2] = centres
    img, msk = warp(images, masks, theta.to(images.device), patch)
    return colour(img, cfg, gen), msk
