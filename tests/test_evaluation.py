"""Figures and the probe evaluator."""

import jax
import numpy as np

from configs import quickstart
from mixres import objectives
from mixres import parallel
from mixres.data import sources
from mixres.evaluation import figures
from mixres.evaluation import interpolation
from mixres.evaluation import probe


def test_to_uint8_and_grid_layout():
  np.testing.assert_array_equal(figures.to_uint8(np.array([[[-1.0]], [[1.0]]]))[..., 0],
                                [[0], [255]])
  tiles = np.zeros((2, 3, 4, 4, 1))
  tiles[1, 2] = 1.0
  image = figures.grid(tiles, gap=2, scale=1)
  assert image.shape == (2 * 6 + 2, 3 * 6 + 2, 3) and image.dtype == np.uint8
  assert (image[8:12, 14:18] == 255).all() and (image[2:6, 2:6] == 128).all()  # 0.0 -> 127.5 rounds to even


def _setup(num_classes=10):
  config = quickstart.get_config()
  config.model.depth = 4
  config.eval.figure_pairs = 3
  config.eval.batch_size = 64
  config.data.num_classes = num_classes
  _, valid = sources.build(config)
  objective = objectives.get_objective(config, (32, 32, 1))
  state = objective.init(jax.random.PRNGKey(0))
  return config, valid, objective, state


def test_interpolation_figure_rows_are_pairs_with_reconstructions_at_the_ends():
  config, valid, objective, state = _setup()
  figure = interpolation.InterpolationFigure(objective, config, parallel.make_mesh(1), valid)
  scalars, images = figure(state)
  (name, image), = images.items()
  assert scalars == {} and name == 'interpolation/mixup'
  tile = 2 * 32 + 2  # Upscaled x2 with a 2-pixel gap.
  assert image.shape == (3 * tile + 2, 12 * tile + 2, 3)
  # Column 0 is x1 itself; column 1 is g(f(x1)), the first step of the path.
  first = np.asarray(valid[0]['image'])[..., 0]
  np.testing.assert_array_equal(image[2:66:2, 2:66:2, 0], first)
  recon = figures.to_uint8(objective.decode(state.params,
                                            objective.encode(state.params, figure.x1[:1])))
  np.testing.assert_array_equal(image[2:66:2, 2 + tile:66 + tile:2], recon[0])


def test_probe_accuracy_counts_every_validation_example_once():
  config, valid, objective, state = _setup()
  evaluator = probe.ProbeAccuracy(objective, config, parallel.make_mesh(2), valid)
  value = evaluator(state)[0]['probe/val_accuracy']
  codes = objective.encode(state.params, np.stack([
      (valid[i]['image'].astype(np.float32) / 127.5 - 1) for i in range(len(valid))]))
  predicted = np.argmax(objective.probe_logits(state.params, codes), -1)
  labels = np.array([valid[i]['label'] for i in range(len(valid))])
  np.testing.assert_allclose(value, np.mean(predicted == labels), atol=1e-6)
