"""Procedural sources, no download: ACAI lines, a dSprites renderer and 2-D toy distributions.

Each source is random-access (`len`, `source[i] -> dict`) and a pure function of its constructor
arguments, so grain may read indices in any order. Images live on pixel grids whose pixel (row r,
column c) has its centre at x = c + 0.5, y = r + 0.5; angles are measured from +x (right),
counterclockwise as seen on screen (towards row 0), i.e. with y pointing up.
"""

from typing import Any

import numpy as np

TWO_PI = 2.0 * np.pi

# ---------------------------------------------------------------------------------------------
# ACAI lines (Berthelot et al. 2019).
# ---------------------------------------------------------------------------------------------

LINE_WIDTH = 2.0  # ACAI lib/data.py:72 draw_line(..., w=2.): the band's width along the minor axis.
_LINES_CHUNK = 1024  # Angles per vectorised chunk: (1024, S, S) float64 temporaries, ~8 MiB at 32.


def _overlap(lo: np.ndarray, hi: np.ndarray, cells: np.ndarray) -> np.ndarray:
  """Length of [lo, hi] inside each cell [k, k + 1]: lo, hi (..., 1), cells (S,) -> (..., S)."""
  return np.maximum(np.minimum(hi, cells + 1.0) - np.maximum(lo, cells), 0.0)


def render_lines(angles: np.ndarray, image_size: int = 32, dtype=np.float32) -> np.ndarray:
  """Lines from the image centre at `angles` (radians), as ACAI draws them: (N, S, S, 1).

  ACAI's draw_line (lib/data.py:72-112 of brain-research/acai), vectorised: the segment runs
  from (S/2, S/2), the corner shared by the four middle pixels, to S/2 - 1 = 15 px (at S = 32)
  along the angle, (x, y-down) = (S/2 + 15 cos a, S/2 - 15 sin a). Along its major axis (the
  one it spans more of; rows when |dx| = |dy|) ACAI walks up from the segment's lower end: that
  end's pixel row gets the share of the segment inside it, every later row up to and including
  the one holding the upper end gets 1. Across it each row holds a band LINE_WIDTH = 2 px wide,
  each pixel inked by the share of the band inside it, the band's centre in row k being where
  the segment is at k - 1/2 (not the row's centre k + 1/2). Ink = 2 * (row weight * band share)
  - 1: background -1, full ink +1. The same float operations in the same order, so the images
  equal ACAI's to the bit (checked on 13,008 angles at S = 16, 32, 64; for S >= 14 the band stays
  inside the image, where ACAI's integer truncation and ours agree). float32 as ACAI's input
  pipeline feeds them, float64 as its evaluator's reference lines (lib/eval.py:41-44).
  """
  angles = np.asarray(angles, np.float64).reshape(-1)
  centre = image_size / 2.0
  cells = np.arange(image_size, dtype=np.float64)
  out = np.empty((len(angles), image_size, image_size), dtype)
  for start in range(0, len(angles), _LINES_CHUNK):
    chunk = angles[start:start + _LINES_CHUNK, None]
    row_end = centre + (centre - 1.0) * np.sin(-chunk)  # (n, 1); rows grow downwards.
    col_end = centre + (centre - 1.0) * np.cos(-chunk)
    along_cols = np.abs(centre - row_end) < np.abs(centre - col_end)  # Major axis: columns.
    major_end = np.where(along_cols, col_end, row_end)
    minor_end = np.where(along_cols, row_end, col_end)
    # Walk the major axis upwards: from the end point when it lies below the centre.
    backwards = major_end < centre
    a0, a1 = np.where(backwards, major_end, centre), np.where(backwards, centre, major_end)
    b0 = np.where(backwards, minor_end, centre) - LINE_WIDTH / 2
    b1 = np.where(backwards, centre, minor_end) - LINE_WIDTH / 2
    slope = (b1 - b0) / (a1 - a0)  # |slope| <= 1; a1 - a0 >= (S/2 - 1) / sqrt(2) > 0.
    # (n, S): each major row's ink weight: the first row's share of the segment, then 1 up to
    # and including the row holding a1 (ACAI's test for a partial last row, y > int(y1) in
    # lib/data.py:93, never holds inside its loop).
    share = np.clip((cells + 1.0) - a0, 0.0, 1.0) * (cells < np.ceil(a1))
    band = b0 + ((cells - a0) - 0.5) * slope  # (n, S): the band's low edge in each row.
    cover = _overlap(band[..., None], band[..., None] + LINE_WIDTH, cells)  # (n, S, S)
    ink = 2.0 * (share[..., None] * cover) - 1.0  # (n, major, minor)
    out[start:start + len(chunk)] = np.where(along_cols[..., None], ink.swapaxes(1, 2), ink)
  return out[..., None]


def angle_bins(angles: np.ndarray, num_bins: int) -> np.ndarray:
  """Bin of each angle in [0, 2 pi): floor(angle / (2 pi / num_bins)), int32."""
  bins = np.floor(np.asarray(angles, np.float64) / (TWO_PI / num_bins)).astype(np.int32)
  return np.clip(bins, 0, num_bins - 1)  # Float rounding can put 2 pi - eps at num_bins.


def line_angle(seed: int, index: int) -> float:
  """The angle ~ U[0, 2 pi) of line `index` under `seed`: a pure function of the pair, so a
  source may be read in any order and a resumed run draws the lines it would have drawn."""
  return TWO_PI * np.random.default_rng((seed, index)).random()


class LinesSource:
  """`num_examples` lines, line i at angle line_angle(seed, i), drawn on demand.

  Nothing is stored per line, so `num_examples` may be astronomically large: the ACAI training
  stream (lib/data.py:115-131 draws a fresh random angle for every line, forever) is a source
  of sources.STREAM_LENGTH lines, of which a run reads a vanishing, never repeated share.
  """

  def __init__(self, num_examples: int, seed: int, image_size: int = 32, num_bins: int = 10):
    self.num_examples, self.seed = int(num_examples), int(seed)
    self.image_size, self.num_bins = image_size, num_bins

  def __len__(self) -> int:
    return self.num_examples

  def angle(self, index: int) -> float:
    return line_angle(self.seed, _check_index(index, len(self)))

  def __getitem__(self, index: int) -> dict[str, Any]:
    return {k: v[0] for k, v in self.read_batch(np.array([index])).items()}

  def read_batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    """The lines at `indices` drawn together (one vectorised render: the pipeline's path)."""
    angles = np.array([self.angle(i) for i in indices], np.float64)
    # The reported float32 angle may round up to 2 pi; keep it in [0, 2 pi) like the label.
    below_two_pi = np.nextafter(np.float32(TWO_PI), np.float32(0))
    reported = np.minimum(angles.astype(np.float32), below_two_pi)
    return {'image': to_uint8(render_lines(angles, self.image_size)),
            'label': angle_bins(angles, self.num_bins), 'angle': reported}


def to_uint8(image: np.ndarray) -> np.ndarray:
  """[-1, 1] floats -> uint8 [0, 255], rounded."""
  return np.round((np.asarray(image) + 1.0) * 127.5).clip(0, 255).astype(np.uint8)


def _check_index(index: int, length: int) -> int:
  index = int(index)
  if not 0 <= index < length:
    raise IndexError(f'index {index} out of range for a source of {length} examples')
  return index


# ---------------------------------------------------------------------------------------------
# dSprites (Matthey et al. 2017): the same factor grid, our own rasteriser.
# ---------------------------------------------------------------------------------------------

DSPRITES_FACTORS = ('shape', 'scale', 'orientation', 'x_position', 'y_position')
DSPRITES_SIZES = (3, 6, 40, 32, 32)
DSPRITES_SHAPES = ('square', 'ellipse', 'heart')

# Geometry on the 64-pixel frame (scaled by size / 64 for other sizes): a sprite's centre
# (centroid for the heart) is at 12 + 40 * position px, and every shape fits in a disc of radius
# 10 * scale px around it at any rotation, so ink stays in [2, 62] px: the border is always empty.
_MARGIN, _TRAVEL, _RADIUS = 12.0, 40.0, 10.0
# The heart (x^2 + y^2 - 1)^3 <= x^2 y^3 has its area centroid at y = 0.2935 and its farthest
# point (the tip, (0, -1)) 1.2935 from it (numerically, 4001^2 grid); shift and shrink by these.
_HEART_CENTROID_Y, _HEART_RADIUS = 0.2935, 1.2935


def dsprites_factor_values() -> tuple[np.ndarray, ...]:
  """Each factor's values, as in the original: shape (1, 2, 3), scale, orientation (rad), x, y."""
  return (np.arange(1.0, 4.0), np.linspace(0.5, 1.0, 6),
          np.linspace(0.0, TWO_PI, 40),  # Includes both 0 and 2 pi, like the original.
          np.linspace(0.0, 1.0, 32), np.linspace(0.0, 1.0, 32))


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
  """Inside test in sprite-local units (the shape fits the unit disc), v pointing up."""
  if shape == 0:  # Square, half-diagonal 1.
    return np.maximum(np.abs(u), np.abs(v)) <= np.sqrt(0.5)
  if shape == 1:  # Ellipse, semi-axes 1 (along u) and 0.5.
    return u * u + 4.0 * v * v <= 1.0
  if shape == 2:  # Heart, lobes towards +v, centroid at the origin.
    x, y = u * _HEART_RADIUS, v * _HEART_RADIUS + _HEART_CENTROID_Y
    r = x * x + y * y - 1.0
    return r * r * r <= x * x * y * y * y
  raise ValueError(f'shape={shape} is not a dSprites shape; choose one of: 0, 1, 2')


def render_sprite(shape: int, scale: float, orientation: float, x: float, y: float,
                  size: int = 64) -> np.ndarray:
  """One binary sprite, bool (size, size).

  shape: 0 square, 1 ellipse (long axis along x at orientation 0), 2 heart (lobes up).
  orientation: radians, counterclockwise on screen. x: 0 left .. 1 right (column grows);
  y: 0 top .. 1 bottom (row grows). Pixels are inside if their centre is.
  """
  unit = size / 64.0
  cx, cy = (_MARGIN + _TRAVEL * x) * unit, (_MARGIN + _TRAVEL * y) * unit
  radius = _RADIUS * scale * unit
  coords = np.arange(size) + 0.5
  dx = (coords - cx)[None, :]  # (1, size): offsets to the right.
  dy = (cy - coords)[:, None]  # (size, 1): offsets upwards.
  cos, sin = np.cos(orientation), np.sin(orientation)
  # Inverse rotation takes pixels into the sprite's frame, then unit size.
  u = (dx * cos + dy * sin) / radius
  v = (dy * cos - dx * sin) / radius
  return _inside(int(shape), u, v)


class DspritesSource:
  """All 737,280 dSprites factor combinations, rendered on demand; index order as the original."""

  def __init__(self, image_size: int = 64):
    self.image_size = image_size
    self.values = dsprites_factor_values()

  def __len__(self) -> int:
    return int(np.prod(DSPRITES_SIZES))

  def factors_of(self, indices: np.ndarray) -> np.ndarray:
    """Flat indices -> factor indices int32 (..., 5): shape slowest, y position fastest."""
    return np.stack(np.unravel_index(np.asarray(indices), DSPRITES_SIZES), -1).astype(np.int32)

  def index_of(self, factors: np.ndarray) -> np.ndarray:
    """Factor indices (..., 5) -> flat indices (...,)."""
    factors = np.asarray(factors)
    return np.ravel_multi_index(tuple(np.moveaxis(factors, -1, 0)), DSPRITES_SIZES)

  def factor_values(self, factors: np.ndarray) -> np.ndarray:
    """Factor indices (..., 5) -> factor values float32 (..., 5)."""
    factors = np.asarray(factors)
    return np.stack([v[factors[..., k]] for k, v in enumerate(self.values)], -1).astype(
        np.float32)

  def sample_factors(self, rng: np.random.Generator, n: int) -> np.ndarray:
    """n factor index vectors int32 (n, 5), each factor uniform and independent."""
    return np.stack([rng.integers(0, s, n) for s in DSPRITES_SIZES], -1).astype(np.int32)

  def images(self, indices: np.ndarray) -> np.ndarray:
    """uint8 (n, S, S, 1) images, 0 or 255, for flat indices (e.g. a metric's vote)."""
    return np.stack([self[int(i)]['image'] for i in np.asarray(indices).reshape(-1)])

  def __getitem__(self, index: int) -> dict[str, Any]:
    factors = self.factors_of(_check_index(index, len(self)))
    values = self.factor_values(factors)
    # Render from the float64 grid values; the float32 copy is only reported.
    _, sc, o, x, y = (v[f] for v, f in zip(self.values, factors))
    image = render_sprite(int(factors[0]), sc, o, x, y, self.image_size)  # Shape by index.
    return {'image': (image * np.uint8(255)).astype(np.uint8)[..., None],
            'label': np.int32(factors[0]), 'factors': factors, 'factor_values': values}


# ---------------------------------------------------------------------------------------------
# 2-D toys. `noise` is always the std of Gaussian noise in the final coordinates.
# ---------------------------------------------------------------------------------------------

TOYS = ('spiral', 'moons', 'circles', 'blobs', 'swiss_roll', 's_curve')
_DEFAULT_NOISE = {'spiral': 0.02, 'moons': 0.03, 'circles': 0.02, 'blobs': 0.05,
                  'swiss_roll': 0.02, 's_curve': 0.02}
# Archimedean spiral r = 0.9 phi / PHI_MAX for phi in [0, PHI_MAX]: 1.75 turns from the centre
# out to radius 0.9, turns 0.51 apart.
SPIRAL_PHI_MAX, SPIRAL_RADIUS = 3.5 * np.pi, 0.9
BLOB_CENTRES, BLOB_RING = 8, 0.75  # Eight Gaussians on a ring, the classic mode-coverage toy.


def spiral_curve(num_points: int = 4001) -> np.ndarray:
  """The noise-free spiral as a polyline (num_points, 2), from the centre outwards."""
  return _spiral_at(np.linspace(0.0, SPIRAL_PHI_MAX, num_points))


def _spiral_at(phi: np.ndarray) -> np.ndarray:
  r = SPIRAL_RADIUS * phi / SPIRAL_PHI_MAX
  return np.stack([r * np.cos(phi), r * np.sin(phi)], -1)


def distance_to_spiral(points: np.ndarray, num_vertices: int = 4001) -> np.ndarray:
  """Min Euclidean distance (N,) from each point (N, 2) to the noise-free spiral polyline."""
  points = np.asarray(points, np.float64).reshape(-1, 2)
  curve = spiral_curve(num_vertices)
  ax, ay = curve[:-1, 0], curve[:-1, 1]  # Segment starts (V-1,) and directions.
  bx, by = np.diff(curve[:, 0]), np.diff(curve[:, 1])
  inv_len2 = 1.0 / (bx * bx + by * by)
  out = np.empty(len(points))
  for start in range(0, len(points), 256):  # (256, V-1) temporaries.
    px = points[start:start + 256, 0:1] - ax
    py = points[start:start + 256, 1:2] - ay
    t = np.clip((px * bx + py * by) * inv_len2, 0.0, 1.0)
    px -= t * bx
    py -= t * by
    out[start:start + 256] = np.sqrt(np.min(px * px + py * py, -1))
  return out


def _make_toy(name: str, n: int, seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
  """Points (n, 2) roughly in [-1, 1]^2 and int labels (n,); fixed transforms, no data rescale."""
  from sklearn import datasets  # Imported here: only the toys need it.
  zeros = np.zeros(n, np.int64)
  if name == 'spiral':
    rng = np.random.default_rng(seed)
    # sqrt makes the density per unit of arc length nearly uniform (ds ~ phi dphi).
    phi = SPIRAL_PHI_MAX * np.sqrt(rng.uniform(size=n))
    return _spiral_at(phi) + noise * rng.standard_normal((n, 2)), zeros
  if name == 'moons':  # sklearn: x in [-1, 2], y in [-0.5, 1]; centre, then span [-0.9, 0.9].
    p, y = datasets.make_moons(n, noise=noise / 0.6, random_state=seed)
    return (p - [0.5, 0.25]) * 0.6, y
  if name == 'circles':  # Radii 0.9 and 0.45.
    p, y = datasets.make_circles(n, noise=noise / 0.9, factor=0.5, random_state=seed)
    return p * 0.9, y
  if name == 'blobs':
    k = np.arange(BLOB_CENTRES) * TWO_PI / BLOB_CENTRES
    centres = BLOB_RING * np.stack([np.cos(k), np.sin(k)], -1)
    return datasets.make_blobs(n, centers=centres, cluster_std=noise, random_state=seed)
  if name == 'swiss_roll':  # (x, z) spirals out to radius 4.5 pi; shrink to 0.9.
    s = 0.9 / (4.5 * np.pi)
    p, _ = datasets.make_swiss_roll(n, noise=noise / s, random_state=seed)
    return p[:, [0, 2]] * s, zeros
  if name == 's_curve':  # (x, z) spans [-1, 1] x [-2, 2]; keep the aspect, z to [-0.9, 0.9].
    p, _ = datasets.make_s_curve(n, noise=noise / 0.45, random_state=seed)
    return p[:, [0, 2]] * 0.45, zeros
  raise _unknown_toy(name)


def _unknown_toy(name: str) -> ValueError:
  return ValueError(f'config.data.name={name!r} is not a 2-D toy; choose one of: '
                    f'{", ".join(sorted(TOYS))}')


class ToySource:
  """`num_examples` points of a 2-D toy; 'image' is the point, float32 (2,)."""

  def __init__(self, name: str, num_examples: int, seed: int, noise: float | None = None):
    if name not in TOYS:
      raise _unknown_toy(name)
    self.name = name
    self.noise = _DEFAULT_NOISE[name] if noise is None else float(noise)
    points, labels = _make_toy(name, num_examples, seed, self.noise)
    self.points = points.astype(np.float32)
    self.labels = labels.astype(np.int32)

  def __len__(self) -> int:
    return len(self.points)

  def __getitem__(self, index: int) -> dict[str, Any]:
    index = _check_index(index, len(self))
    return {'image': self.points[index], 'label': self.labels[index]}
