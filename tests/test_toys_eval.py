"""2-D toy evaluator: mixes of an identity 'autoencoder' are straight segments between points."""

import ml_collections
import numpy as np
import pytest

from mixres.data import procedural
from mixres.evaluation import toys


class _Identity:
  def inference_params(self, state):
    return state

  def encode(self, params, points):
    return points

  def decode(self, params, codes):
    return codes


def _config(name):
  return ml_collections.ConfigDict({'seed': 0, 'data': {'name': name}, 'eval': {
      'max_examples': 500, 'num_samples': 400, 'toy_tolerance': 0.05}})


def test_scatter_draws_points_in_place():
  image = toys.scatter([(np.array([[0.0, 0.0], [-1.2, 1.2], [5.0, 5.0]]), (1, 2, 3))],
                       size=100, extent=1.25, dot=1)
  assert (image[50, 50] == (1, 2, 3)).all()  # The origin is the centre pixel.
  assert (image[2, 2] == (1, 2, 3)).all()  # (-1.2, 1.2) is near the top-left corner.
  assert (image != 255).any(-1).sum() == 2  # (5, 5) is outside the view.


def test_nearest_distance_hand_computed():
  data = np.array([[0.0, 0.0], [1.0, 0.0]])
  np.testing.assert_allclose(toys.nearest_distance(np.array([[0.5, 0.5], [3.0, 4.0]]), data),
                             [np.sqrt(0.5), np.sqrt(4.0 + 16.0)])


def test_identity_model_on_the_spiral():
  source = procedural.ToySource('spiral', 1000, seed=0)
  scalars, images = toys.ToyMixes(_Identity(), _config('spiral'), None, source)({})
  assert scalars['toy/recon_distance'] == 0.0
  # Straight segments between random spiral points mostly cut across the turns.
  assert 0.05 < scalars['toy/mix_to_data']
  assert 0.0 < scalars['toy/mixes_on_spiral'] < 0.5
  # The input-space reference mixes the same pairs with the same alphas: here the same mixes
  # (computed on the host, not under jit: float32 rounding apart; a share within one of 400).
  assert scalars['toy/input_mix_to_data'] == pytest.approx(scalars['toy/mix_to_data'], rel=1e-6)
  assert scalars['toy/input_mixes_on_spiral'] == pytest.approx(scalars['toy/mixes_on_spiral'],
                                                               abs=1 / 400)
  assert images['toy/mixes'].shape == (320, 320, 3)
  # The real points themselves are on the spiral (noise std 0.02, tolerance 0.05).
  assert np.mean(procedural.distance_to_spiral(source.points) <= 0.05) > 0.95


def test_input_space_reference_does_not_depend_on_the_model():
  class _Shrink(_Identity):  # Decodes every mix at the origin's side: its own numbers move.
    def decode(self, params, codes):
      return 0.5 * codes
  source = procedural.ToySource('moons', 1000, seed=0)
  identity = toys.ToyMixes(_Identity(), _config('moons'), None, source)({})[0]
  shrunk = toys.ToyMixes(_Shrink(), _config('moons'), None, source)({})[0]
  assert shrunk['toy/mix_to_data'] != identity['toy/mix_to_data']
  assert shrunk['toy/input_mix_to_data'] == identity['toy/input_mix_to_data']
  assert 'toy/input_mixes_on_spiral' not in shrunk  # The share is defined on the spiral only.


def test_needs_points():
  from mixres.data import sources
  with pytest.raises(ValueError, match='needs 2-D points'):
    toys.ToyMixes(_Identity(), _config('digits'), None, sources.digits())


def test_amr_beta_study_runs_and_compares(tmp_path):
  """configs/amr_toys.py at test size for beta 0 and 10, then the side-by-side panel figure."""
  from configs import amr_toys
  from mixres import evaluate
  from mixres import train
  workdirs, summaries = [], []
  for beta in (0.0, 10.0):
    config = amr_toys.get_config('spiral,local')
    config.beta, config.num_train_steps, config.batch_size = beta, 4, 8
    config.gen_every = 1  # Every logged step then carries G's metrics.
    config.model.mlp_layers, config.model.mlp_width = 1, 16
    config.log_every = 2
    config.eval_every = config.checkpoint_every = 4
    config.eval.max_examples, config.eval.num_samples = 200, 100
    workdir = str(tmp_path / f'beta{beta:g}')
    summary = train.train_and_evaluate(config, workdir)
    assert np.isfinite(summary['gen/loss']) and np.isfinite(summary['disc/loss'])
    assert (beta > 0) == ('gen/consistency' in summary)
    workdirs.append(workdir)
    summaries.append(summary)
  figure, results = evaluate.compare_toys(workdirs)
  assert [workdir for workdir, _ in results] == workdirs
  # The panels re-evaluate each final checkpoint: the same numbers as its run's last evaluation.
  for (_, scalars), summary in zip(results, summaries):
    for name in ('toy/mixes_on_spiral', 'toy/mix_to_data', 'toy/recon_distance'):
      assert scalars[name] == summary[name], name
  # Two 320 px panels with 8 px gaps, a 16 px label band above them.
  assert figure.shape == (16 + 320 + 8, 2 * (320 + 8) + 8, 3) and figure.dtype == np.uint8
