"""ACAI's lines benchmark (Berthelot et al. 2019): Mean Distance, Smoothness.

Definitions and calibration: docs/metrics.md#lines-benchmark.

A model trained on `lines` interpolates between the codes of fresh pairs of lines, z_i = ((15-i)
z_a + i z_b) / 15 for i = 0..15, and decodes each z_i. Every decoded image is matched to the
nearest of 10,000 reference lines (angles evenly spaced over [0, 2 pi)) by cosine distance:

- Mean Distance: the mean over all decoded images of that minimum cosine distance (realism; the
  ACAI paper reports it x 10^-3). Images are compared as the model sees them, in [-1, 1].
- Smoothness: the nearest line's angle along each interpolation, unwrapped; the largest step
  divided by the total change, minus 1/15, so that an even walk scores 0 and an abrupt switch
  1 - 1/15. An interpolation whose angle changes by less than 1e-4 in total has no direction:
  as ACAI's `line_eval` (lib/eval.py:56-112 of brain-research/acai), it adds 0 to the sum that
  is divided by all interpolations, and when no interpolation is defined the mean is NaN, not 0
  (a decoder that ignores its code would otherwise score a perfect 0). The share of undefined
  interpolations is logged as lines/undefined_fraction.

Reference lines are drawn as ACAI draws them (procedural.render_lines) and kept in float64, and
the nearest one is searched in float64, as ACAI's scipy `cdist`: in float32 the dot products of
neighbouring reference lines tie, which moves the angle by up to two steps. Exact ties remain:
an image symmetric about a line's axis (the pixel blend of a line with a vertical one) is as near
to two mirrored reference lines, whose cosines then differ by rounding alone (1e-17), so which
one `cdist` returns depends on the arithmetic's order (ACAI's own code reads the canonical blend
below as 0.940 in float64 and 0.921 in float32). Cosines within TIE of the best count as tied
and the first reference line among them wins, argmin's rule for exact ties, so the read-out is
the same on any machine. Perfect interpolations score 0 on both.
"""

import jax
import numpy as np

from mixres.data import procedural

NUM_REFERENCE = 10_000
NUM_STEPS = 16  # z_0 = z_a ... z_15 = z_b.
MIN_TOTAL_CHANGE = 1e-4  # Below this an interpolation has no direction to be smooth along.
_CHUNK = 1024  # Decoded images per matrix product with the reference bank.
# Cosines this close to the best are ties: rounding error is ~1e-16, and each reference line is
# >= 1.3e-6 nearer to itself than to any other (measured over all 10,000).
TIE = 1e-12


def reference_lines(image_size: int = 32, count: int = NUM_REFERENCE
                    ) -> tuple[np.ndarray, np.ndarray]:
  """(angles (N,), unit-norm flattened images (N, S*S)) of `count` evenly spaced lines."""
  angles = np.linspace(0.0, procedural.TWO_PI, count, endpoint=False)
  return angles, _unit_rows(procedural.render_lines(angles, image_size, np.float64))


def _unit_rows(images: np.ndarray) -> np.ndarray:
  rows = np.asarray(images, np.float64).reshape(len(images), -1)
  return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def nearest_lines(images: np.ndarray, bank: tuple[np.ndarray, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
  """(cosine distance to the nearest reference line, that line's angle) for each image."""
  angles, vectors = bank
  distance, nearest = [], []
  for start in range(0, len(images), _CHUNK):
    cosine = _unit_rows(images[start:start + _CHUNK]) @ vectors.T  # (n, N), float64.
    # The first reference line within TIE of the best (argmax returns the first True).
    best = np.argmax(cosine >= cosine.max(axis=1, keepdims=True) - TIE, axis=1)
    nearest.append(angles[best])
    distance.append(np.maximum(1.0 - cosine[np.arange(len(best)), best], 0.0))
  return np.concatenate(distance), np.concatenate(nearest)


def smoothness(angles: np.ndarray) -> np.ndarray:
  """Smoothness of each interpolation from its angles (P, S) along the path; 0 is perfect, NaN
  where the angle changes by less than MIN_TOTAL_CHANGE in total (no direction to be smooth in).
  """
  angles = np.unwrap(np.asarray(angles, np.float64), axis=1)
  total = np.abs(angles[:, -1] - angles[:, 0])
  steps = np.abs(np.diff(angles, axis=1))
  defined = total >= MIN_TOTAL_CHANGE
  score = steps.max(axis=1) / np.where(defined, total, 1.0) - 1.0 / (angles.shape[1] - 1)
  return np.where(defined, score, np.nan)


def mean_smoothness(scores: np.ndarray) -> float:
  """ACAI's mean: the defined scores summed over all interpolations; NaN if none is defined."""
  defined = ~np.isnan(scores)
  return float(np.sum(scores[defined]) / len(scores)) if defined.any() else float('nan')


def score_interpolations(images: np.ndarray, bank: tuple[np.ndarray, np.ndarray]
                         ) -> dict[str, float]:
  """Mean Distance, Smoothness and the undefined share of interpolations (P, S, H, W, 1)."""
  pairs, steps = images.shape[:2]
  distance, angles = nearest_lines(images.reshape(pairs * steps, *images.shape[2:]), bank)
  scores = smoothness(angles.reshape(pairs, steps))
  return {'lines/mean_distance': float(distance.mean()),
          'lines/smoothness': mean_smoothness(scores),
          'lines/undefined_fraction': float(np.isnan(scores).mean())}


class LinesInterpolation:
  """Evaluator: Mean Distance and Smoothness over `eval.lines_pairs` fixed pairs of fresh lines."""

  maximize = ()  # Both are distances: lower is better.

  def __init__(self, objective, config, mesh, valid_source):
    del mesh, valid_source  # Fresh lines, not the validation split; a few thousand images.
    if config.data.name != 'lines':
      raise ValueError('config.eval.evaluators lists "lines", which needs config.data.name='
                       f"'lines', not {config.data.name!r}; remove \"lines\" or train on lines")
    self.objective = objective
    size = int(config.data.image_size)
    rng = np.random.default_rng(int(config.eval.lines_seed))
    pair_angles = rng.uniform(0.0, procedural.TWO_PI, (2, int(config.eval.lines_pairs)))
    self.x_a, self.x_b = (procedural.render_lines(a, size) for a in pair_angles)
    self.bank = reference_lines(size)
    weights = np.arange(NUM_STEPS, dtype=np.float32) / (NUM_STEPS - 1)  # i / 15

    def decode_paths(params, x_a, x_b):
      z_a, z_b = objective.encode(params, x_a), objective.encode(params, x_b)
      w = weights.reshape(-1, 1, *([1] * (z_a.ndim - 1)))
      # As mixers.interpolation_path writes it, for its reason (not convex_mix(w, z_b, z_a)).
      path = (1.0 - w) * z_a[None] + w * z_b[None]  # (S, P, ...)
      decoded = objective.decode(params, path.reshape(-1, *z_a.shape[1:]))
      return decoded.reshape(NUM_STEPS, len(x_a), *decoded.shape[1:]).swapaxes(0, 1)

    self._decode_paths = jax.jit(decode_paths)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    images = np.asarray(self._decode_paths(params, self.x_a, self.x_b))  # (P, S, H, W, 1)
    return score_interpolations(images, self.bank), {}
