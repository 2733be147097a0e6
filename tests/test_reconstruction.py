"""mixres/evaluation/reconstruction.py (and split_mean.py under it): the validation
reconstruction error, partial batches too."""

import ml_collections
import numpy as np
import pytest

from mixres import parallel
from mixres.data import pipeline
from mixres.data import sources
from mixres.evaluation import reconstruction


class _HalfDecoder:
  """g(f(x)) = x / 2: f doubles, g quarters. The error x / 2 - x = -x / 2 is known per pixel."""
  networks = {'encoder': None, 'decoder': None}

  def inference_params(self, state):
    return state

  def encode(self, params, images):
    return 2.0 * images

  def decode(self, params, codes):
    return 0.25 * codes


def _config(max_examples):
  return ml_collections.ConfigDict({
      'seed': 0, 'objective': 'amr',
      'data': {'name': 'digits', 'image_size': 8, 'num_classes': 10, 'fit': 'resize',
               'valid_fraction': 0.2, 'valid_size': 0, 'split_method': 'default',
               'split_seed': 0, 'train_subset': 0, 'path': '', 'labels_path': ''},
      'eval': {'batch_size': 100, 'max_examples': max_examples}})


def test_error_over_the_validation_split_counts_each_example_once():
  config = _config(max_examples=250)  # Batches of 100, 100 and a masked 50.
  _, valid = sources.build(config)
  evaluator = reconstruction.Reconstruction(_HalfDecoder(), config, parallel.make_mesh(1), valid)
  scalars, images = evaluator({})
  x = np.asarray(pipeline.stack([valid[i] for i in range(250)])['image'], np.float64)
  assert scalars['recon/val_l1'] == pytest.approx(np.mean(np.abs(x) / 2), rel=1e-5)
  assert scalars['recon/val_mse'] == pytest.approx(np.mean(x ** 2 / 4), rel=1e-5)
  assert scalars['recon/val_l1'] > 0.1 and not images  # Digits are not all background.


def test_objective_without_decoder_is_refused():
  class _Encoder(_HalfDecoder):
    networks = {'encoder': None}
  with pytest.raises(ValueError, match="lists \"reconstruction\" but objective 'amr' has no "
                     'decoder'):
    reconstruction.Reconstruction(_Encoder(), _config(0), parallel.make_mesh(1), None)
