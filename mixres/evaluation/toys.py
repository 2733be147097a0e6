"""2-D toys: decoded random mixes over the data (AMR supplement Figure 12; GAIA's 2-D plots).

For models of 2-D points (config.model.arch='mlp' on spiral, moons, circles, ...): random pairs
of validation points are encoded, mixed as h = alpha f(x1) + (1 - alpha) f(x2) with
alpha ~ U(0, 1) (the AMR supplement's definition, the same for every objective), and decoded.

- toy/mix_to_data: mean distance from a decoded mix to its nearest validation point: how far
  mixes leave the data.
- toy/recon_distance: mean distance from x to g(f(x)).
- toy/mixes_on_spiral (spiral only): the share of decoded mixes within eval.toy_tolerance of the
  noise-free spiral, the number behind the supplement's beta study.
- toy/input_mix_to_data, toy/input_mixes_on_spiral: the same two numbers for the same pairs and
  alphas mixed as points, alpha x1 + (1 - alpha) x2: the reference a model's mixes are read
  against (the same in every evaluation of a run; the model plays no part).
- Figure 'toy/mixes': data in blue, decoded mixes in orange, as in the supplement.
"""

import jax
import jax.numpy as jnp
import numpy as np

from mixres import mixers
from mixres.data import procedural

BLUE, ORANGE = (31, 119, 180), (255, 127, 14)


def scatter(layers: list[tuple[np.ndarray, tuple[int, int, int]]], size: int = 320,
            extent: float = 1.25, dot: int = 2) -> np.ndarray:
  """Points (N, 2) of each layer drawn in its colour, later layers on top; uint8 (size, size, 3).

  The view is the square [-extent, extent]^2 with y up; points outside it are left out.
  """
  canvas = np.full((size, size, 3), 255, np.uint8)
  for points, colour in layers:
    points = np.asarray(points, np.float64)
    cols = np.floor((points[:, 0] + extent) / (2 * extent) * size).astype(int)
    rows = np.floor((extent - points[:, 1]) / (2 * extent) * size).astype(int)
    for dr in range(dot):
      for dc in range(dot):
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
        canvas[r[inside], c[inside]] = colour
  return canvas


def nearest_distance(points: np.ndarray, data: np.ndarray, chunk: int = 512) -> np.ndarray:
  """Euclidean distance (N,) from each point to its nearest data point."""
  points, data = np.asarray(points, np.float64), np.asarray(data, np.float64)
  out = np.empty(len(points))
  for start in range(0, len(points), chunk):
    diff = points[start:start + chunk, None, :] - data[None]
    out[start:start + chunk] = np.sqrt((diff * diff).sum(-1).min(1))
  return out


class ToyMixes:
  """Evaluator for 2-D toys: mix statistics and the scatter figure, with fixed pairs and alphas."""

  maximize = ()  # Distances (and, on the spiral, a share best read beside them).

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # A few thousand points: runs replicated.
    if np.shape(valid_source[0]['image']) != (2,):
      raise ValueError('config.eval.evaluators lists "toy_mixes", which needs 2-D points (a toy '
                       f'such as spiral, moons); config.data.name={config.data.name!r} is not one')
    self.objective, self.config = objective, config
    n = min(len(valid_source), int(config.eval.max_examples) or len(valid_source))
    self.points = np.stack([valid_source[i]['image'] for i in range(n)]).astype(np.float32)
    rng = np.random.default_rng(int(config.seed))
    self.first, self.second = rng.integers(0, n, (2, int(config.eval.num_samples)))
    self.alpha = rng.uniform(0.0, 1.0, int(config.eval.num_samples)).astype(np.float32)

    def decode_mixes(params, points, first, second, alpha):
      codes = objective.encode(params, points)
      mixed = mixers.convex_mix(alpha, codes[first], codes[second])
      return objective.decode(params, mixed), objective.decode(params, codes)

    self._decode = jax.jit(decode_mixes)
    in_input_space = np.asarray(mixers.convex_mix(self.alpha, self.points[self.first],
                                                  self.points[self.second]))
    self.reference = self._mix_statistics(in_input_space, 'toy/input_')

  def _mix_statistics(self, mixes: np.ndarray, prefix: str) -> dict[str, float]:
    scalars = {f'{prefix}mix_to_data': float(nearest_distance(mixes, self.points).mean())}
    if self.config.data.name == 'spiral':
      near = procedural.distance_to_spiral(mixes) <= float(self.config.eval.toy_tolerance)
      scalars[f'{prefix}mixes_on_spiral'] = float(near.mean())
    return scalars

  def __call__(self, state):
    params = self.objective.inference_params(state)
    mixes, recons = (np.asarray(a) for a in self._decode(
        params, self.points, jnp.asarray(self.first), jnp.asarray(self.second),
        jnp.asarray(self.alpha)))
    scalars = {**self._mix_statistics(mixes, 'toy/'), **self.reference,
               'toy/recon_distance': float(np.linalg.norm(recons - self.points, axis=1).mean())}
    figure = scatter([(self.points, BLUE), (mixes, ORANGE)])
    return scalars, {'toy/mixes': figure}
