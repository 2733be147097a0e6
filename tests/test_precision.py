"""config.precision='bfloat16': networks compute in bfloat16, the state and losses stay float32."""

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

from mixres import objectives
from mixres import precision
from mixres.data import sources

IMAGE_SHAPE = (32, 32, 1)


def build(config, objective, precision_name='float32'):
  config = config.copy_and_resolve_references()
  config.objective, config.precision = objective, precision_name
  return objectives.get_objective(config, IMAGE_SHAPE)


def digit_images(n):
  """The first `n` embedded digits at 32x32 in [-1, 1]."""
  pixels = sources.digits().images[:n].astype(np.float32) / 127.5 - 1
  return np.asarray(jax.image.resize(pixels, (n, *IMAGE_SHAPE), 'linear'))


def conv_operand_dtypes(fn, *args) -> set[str]:
  """The dtypes the convolutions of `fn(*args)` (and of its gradient, if any) read."""
  dtypes = set()

  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == 'conv_general_dilated':
        dtypes.update(str(v.aval.dtype) for v in eqn.invars)
      for sub in jax.extend.core.jaxprs_in_params(eqn.params):
        visit(sub)

  visit(jax.make_jaxpr(fn)(*args).jaxpr)
  return dtypes


def test_bfloat16_convolutions_with_float32_state_and_metrics(tiny_config):
  """AMR's step, G and D updating: every network kind (G, spectral-norm D, probe)."""
  obj = build(tiny_config, 'amr', 'bfloat16')
  state = obj.init(jax.random.key(0))
  batch = {'image': jnp.zeros((4, 32, 32, 1)), 'label': jnp.zeros((4,), jnp.int32)}
  step = lambda s, b: obj.train_step(s, b, **obj.schedule(0))
  assert conv_operand_dtypes(step, state, batch) == {'bfloat16'}  # Forward and backward.
  new_state, metrics = jax.jit(step)(state, batch)
  for leaf in jax.tree.leaves((new_state.params, new_state.opt_state, new_state.collections,
                               metrics)):
    if jnp.issubdtype(leaf.dtype, jnp.floating):
      assert leaf.dtype == jnp.float32
  float32 = build(tiny_config, 'amr')
  assert conv_operand_dtypes(lambda s, b: float32.train_step(s, b, **float32.schedule(0)),
                             state, batch) == {'float32'}


def test_computing_casts_floats_in_and_out_and_leaves_other_leaves():
  tree = {'x': jnp.ones(2), 'n': jnp.arange(2), 'b': jnp.array([True]), 'k': jax.random.key(0),
          's': 'spectral', 'f': 0.5}
  cast = precision.cast_floats(tree, jnp.bfloat16)
  assert cast['x'].dtype == jnp.bfloat16 and cast['n'].dtype == tree['n'].dtype
  assert cast['b'].dtype == jnp.bool_ and cast['s'] == 'spectral' and cast['f'] == 0.5
  assert jax.dtypes.issubdtype(cast['k'].dtype, jax.dtypes.prng_key)


def test_gradients_reach_the_float32_parameters_in_float32(tiny_config):
  obj = build(tiny_config, 'ae', 'bfloat16')
  params = obj.init(jax.random.key(0)).params
  images = jax.random.uniform(jax.random.key(1), (4, 32, 32, 1), minval=-1, maxval=1)
  loss = lambda p: jnp.mean(jnp.abs(obj.decode(p, obj.encode(p, images)) - images))
  grads = jax.jit(jax.grad(loss))(params)  # Eager convolution gradients are slow.
  assert {leaf.dtype for leaf in jax.tree.leaves(grads)} == {jnp.dtype(jnp.float32)}
  assert all(bool(jnp.any(g != 0)) for g in jax.tree.leaves(grads['encoder']))


def _losses(tiny_config, precision_name, steps=60):
  """Reconstruction losses of an AE trained on digits at `precision_name`, every 10 steps."""
  images = digit_images(64)
  obj = build(tiny_config, 'ae', precision_name)
  state = obj.init(jax.random.key(0))
  step = jax.jit(lambda s, b: obj.train_step(s, b))
  recorded = []
  for i in range(steps):
    batch = {'image': jnp.asarray(images[(i % 4) * 16:(i % 4 + 1) * 16]),
             'label': jnp.zeros((16,), jnp.int32)}
    state, metrics = step(state, batch)
    if i % 10 == 0 or i == steps - 1:
      recorded.append(float(metrics['gen/recon']))
  return np.array(recorded)


def test_bfloat16_trains_as_float32_does(tiny_config):
  """The same 60 steps in both precisions: bfloat16's loss falls as float32's does, to within
  a few per cent (bfloat16 rounds each product to 8 significant bits, about 0.4%)."""
  f32, bf16 = _losses(tiny_config, 'float32'), _losses(tiny_config, 'bfloat16')
  assert bf16[-1] < 0.6 * bf16[0]  # It learns...
  np.testing.assert_allclose(bf16, f32, rtol=0.05)  # ...as float32 does,
  assert not np.array_equal(bf16, f32)  # though not in the same arithmetic.


def test_bad_precision_names_the_field(tiny_config):
  with pytest.raises(ValueError, match=r"^config.precision='float16' is not a precision; "
                                       r'choose one of: float32, bfloat16$'):
    build(tiny_config, 'ae', 'float16')
