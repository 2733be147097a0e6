"""NDM: near 0 for independent dimensions, large for dependent ones, shuffling keeps marginals."""

import jax
import jax.numpy as jnp
import numpy as np

from mixres.evaluation import dependency


def test_shuffle_keeps_each_column_and_breaks_rows():
  codes = jnp.arange(40.0).reshape(10, 4)
  shuffled = np.asarray(dependency.shuffle_dimensions(jax.random.PRNGKey(0), codes))
  for d in range(4):
    np.testing.assert_array_equal(np.sort(shuffled[:, d]), np.asarray(codes[:, d]))
  # Columns are permuted independently: rows no longer hold (4i, 4i+1, 4i+2, 4i+3).
  assert not (np.diff(shuffled, axis=1) == 1).all()


def test_independent_codes_score_near_zero_dependent_ones_high():
  rng = np.random.default_rng(0)
  independent = rng.standard_normal((4000, 4))
  x = rng.standard_normal((4000, 2))
  dependent = np.concatenate([x, x + 0.1 * rng.standard_normal((4000, 2))], 1)
  low = dependency.neural_dependency(independent, steps=300)
  high = dependency.neural_dependency(dependent, steps=300)
  assert abs(low) < 0.1, low
  # Two pairs with correlation 1/sqrt(1.01): KL(joint || product) = the mutual information,
  # 2 * -0.5 log(1 - 1/1.01) = log(101) = 4.62 nats.
  assert 3.5 < high < 5.5, high
