"""Interpolation figure (the AMR paper's Figure 6): decoded mixes between fixed pairs.

Row i: x1 | g(f(x1)) | 8 decoded mixes | g(f(x2)) | x2 for validation pairs (i, n + i); mixes
follow config.mixer's deterministic path (mixers.interpolation_path), mixup for non-mixing
objectives.
"""

import jax
import numpy as np

from mixres import mixers
from mixres.data import pipeline
from mixres.evaluation import figures


class InterpolationFigure:
  maximize = ()

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # A handful of images: runs replicated.
    self.objective = objective
    n, self.steps = config.eval.figure_pairs, config.eval.figure_steps
    if len(valid_source) < 2 * n:
      raise ValueError(f'config.eval.figure_pairs={n} needs {2 * n} validation images; the '
                       f'validation split has {len(valid_source)}')
    self.mixer = config.mixer if config.mixer in mixers.MIXERS else 'mixup'
    images = np.stack([valid_source[i]['image'] for i in range(2 * n)])
    self.x1, self.x2 = np.split(pipeline.to_model_input(images), 2)
    key = jax.random.PRNGKey(config.seed)  # Fixed: the same channel order at every evaluation.

    def decode_path(params, x1, x2):
      h1, h2 = objective.encode(params, x1), objective.encode(params, x2)
      path = mixers.interpolation_path(self.mixer, h1, h2, self.steps, key)  # (S, n, ...)
      decoded = objective.decode(params, path.reshape(-1, *path.shape[2:]))
      return decoded.reshape(self.steps, n, *decoded.shape[1:])

    self._decode_path = jax.jit(decode_path)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    path = np.asarray(self._decode_path(params, self.x1, self.x2))  # (S, n, H, W, C)
    rows = np.concatenate([self.x1[None], path, self.x2[None]]).swapaxes(0, 1)
    return {}, {f'interpolation/{self.mixer}': figures.grid(rows)}
