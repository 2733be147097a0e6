"""Per-example image transforms on uint8 HWC arrays: fitting to the model size, augmentation.

Both run on the host inside the grain pipeline, with PIL's C resamplers (a 32x32 warp costs a
few microseconds, far below the train step; see BENCHMARKS.md, "Input pipeline").
"""

import math

import numpy as np
from PIL import Image

FITS = ('resize', 'pad', 'crop_resize')


def _pil(image: np.ndarray) -> Image.Image:
  return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def _array(image: Image.Image, channels: int) -> np.ndarray:
  out = np.asarray(image)
  return out[..., None] if channels == 1 else out


def check_fit(method: str, native: tuple[int, ...], size: int) -> None:
  """Raises ValueError naming the fields if images of shape `native` cannot become size x size."""
  if size < 1:
    raise ValueError(f'config.data.image_size={size} must be >= 1')
  if method not in FITS:
    raise ValueError(f'config.data.fit={method!r} is not a fit; choose one of: '
                     f'{", ".join(FITS)}')
  if method == 'pad' and max(native[:2]) > size:
    raise ValueError(f'config.data.fit=\'pad\' cannot pad {native[0]}x{native[1]} images to '
                     f'config.data.image_size={size}; use fit=\'resize\' or a larger size')


def fit(image: np.ndarray, size: int, method: str) -> np.ndarray:
  """(H, W, C) uint8 -> (size, size, C) uint8.

  'resize': bilinear resize (the reference code's MNIST 28 -> 32); 'pad': centred zero padding
  (keeps pixels exact); 'crop_resize': the central square crop, then resize (CelebA's faces).
  """
  h, w, channels = image.shape
  if (h, w) == (size, size):
    return image
  if method == 'pad':
    top, left = (size - h) // 2, (size - w) // 2
    return np.pad(image, ((top, size - h - top), (left, size - w - left), (0, 0)))
  if method == 'crop_resize':
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top:top + side, left:left + side]
  return _array(_pil(image).resize((size, size), Image.BILINEAR), channels)


def random_affine(image: np.ndarray, rng: np.random.Generator, rotation: float,
                  translation: float, scale: tuple[float, float]) -> np.ndarray:
  """A random rotation, translation and scale about the image centre (AugIntAE, section 4).

  Args:
    rotation: degrees; the angle is drawn from U[-rotation, rotation].
    translation: pixels; each of dx, dy is drawn from U[-translation, translation].
    scale: (low, high) of a uniform zoom factor.
  Pixels that come from outside the image are 0 (the background of digit datasets).
  """
  h, w, channels = image.shape
  angle = math.radians(rng.uniform(-rotation, rotation))
  dx, dy = rng.uniform(-translation, translation, size=2)
  zoom = rng.uniform(*scale)
  # PIL maps each output pixel to an input location: in = A^-1 (out - c - t) + c, where
  # A = zoom * R(angle) is the forward transform about the centre c.
  cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
  cx, cy = w / 2, h / 2  # PIL samples pixel i at its centre i + 0.5.
  ox, oy = cx + dx, cy + dy
  coefficients = (cos, sin, cx - cos * ox - sin * oy,
                  -sin, cos, cy + sin * ox - cos * oy)
  warped = _pil(image).transform((w, h), Image.AFFINE, coefficients, Image.BILINEAR)
  return _array(warped, channels)
