"""Attribute consistency of supervised AMR's class mixes, and the paper's Figure 5.

The question (section 2.2, Figure 5 of the AMR paper): does Mix_sup(f(x1), f(x2), y) decode to
an image that carries the attributes y? An independent judge answers it: the small classifier
that frechet.py trains on the real training images of the dataset (same cache, same
`eval.frechet_steps`), never the run's own discriminator, which the generator was trained to
please. It predicts the probe class; the attributes are functions of the class (the digit for
derived attributes, the bit pattern for CelebA's combination label, the class itself for
'softmax'), so an attribute's probability is the summed probability of the classes that have it.

Pairs are validation examples (i, n + i), n = eval.attribute_pairs. Each pair is asked for every
attribute combination y it can reach, i.e. each bit of y held by x1 or x2 (the mixer recombines
feature maps, it cannot add what neither has; the paper's y_mix is a convex combination for the
same reason). Scalars, over (pair, reachable y):

- attribute_consistency/accuracy (best): share of attribute bits the classifier reads as asked;
- attribute_consistency/exact: share of mixes with every bit as asked;
- attribute_consistency/bernoulli_accuracy, .../bernoulli_exact: the same pairs and requests
  answered by the unsupervised Bernoulli mixer (Eq. 5, p ~ U(0, 1), blind to y) through the
  same encoder and decoder: what the class mixer adds over chance recombination;
- attribute_consistency/classifier_accuracy: the judge's validation accuracy on real images.

Figure 'attribute_consistency/figure5': rows = pairs whose attributes differ; columns = x1, the
decoded class mix for every combination (labelled +/- and each attribute's first letters, or the
class), x2. Masks are drawn from fixed keys: the same at every evaluation.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mixres import mixers
from mixres.data import pipeline
from mixres.data import sources
from mixres.evaluation import figures
from mixres.evaluation import frechet

MAX_ATTRIBUTES = 6  # Combinations enumerated: 2**A decodes per pair.


def combinations(num_attributes: int) -> np.ndarray:
  """Every 0/1 vector of length A, (2**A, A) float32, bit i of row r = (r >> i) & 1."""
  rows = np.arange(2**num_attributes)[:, None]
  return ((rows >> np.arange(num_attributes)) & 1).astype(np.float32)


def reachable(y1: np.ndarray, y2: np.ndarray, targets: np.ndarray) -> np.ndarray:
  """(N, K) bool: target k asks only for bits that x1 or x2 holds, per pair (N, A), (K, A)."""
  holds = (targets[None] == y1[:, None]) | (targets[None] == y2[:, None])  # (N, K, A)
  return np.all(holds, axis=-1)


def _label(target: np.ndarray, names: tuple[str, ...]) -> str:
  return ''.join(('+' if bit else '-') + name[:2] for bit, name in zip(target, names))


class AttributeConsistency:
  maximize = ('attribute_consistency/accuracy',)

  def __init__(self, objective, config, mesh, valid_source):
    del mesh  # A few thousand small decodes: runs replicated, as the figures do.
    if not hasattr(objective, 'class_mix'):
      raise ValueError("config.eval.evaluators lists 'attribute_consistency', which needs a class "
                       f"mixer: config.objective='amr_supervised', not {config.objective!r}")
    self.objective, self.batch_size = objective, int(config.eval.batch_size)
    self.softmax = config.supervised.classifier == 'softmax'
    if self.softmax:
      self.table = np.eye(config.data.num_classes, dtype=np.float32)
      self.targets = self.table
      names = tuple(str(c) for c in range(config.data.num_classes))
      self.labels = list(names)
    else:
      self.table = sources.attribute_table(config.data)
      names = sources.attribute_names(config.data)
      if len(names) > MAX_ATTRIBUTES:
        raise ValueError(f"'attribute_consistency' enumerates 2**A attribute combinations; "
                         f'config.data has A={len(names)} attributes, at most {MAX_ATTRIBUTES}')
      self.targets = combinations(len(names))
      self.labels = [_label(t, names) for t in self.targets]
    if self.table.shape[0] != config.data.num_classes:
      raise ValueError(f'config.data.num_classes={config.data.num_classes} does not match the '
                       f'{self.table.shape[0]} classes the attributes are read from')
    n = min(int(config.eval.attribute_pairs), len(valid_source) // 2)
    if n < 1:
      raise ValueError(f'config.eval.attribute_pairs={config.eval.attribute_pairs} must be >= 1 '
                       f'and the validation split ({len(valid_source)}) hold 2 images per pair')
    examples = pipeline.read(valid_source, range(2 * n))
    self.x1, self.x2 = np.split(examples['image'], 2)
    y = self.table[examples['label']]
    self.y1, self.y2 = np.split(y, 2)
    self.reachable = reachable(self.y1, self.y2, self.targets)  # (n, K)
    differ = np.flatnonzero(np.any(self.y1 != self.y2, axis=-1))
    rows = [*differ, *np.flatnonzero(np.all(self.y1 == self.y2, axis=-1))]
    self.figure_rows = np.asarray(rows[:min(int(config.eval.figure_pairs), n)])
    self.key = jax.random.PRNGKey(config.seed)

    self.judge = frechet.feature_extractor(frechet.labelled_data(config.data),
                                           config.eval.frechet_steps,
                                           config.eval.frechet_cache_dir, config.seed)
    judge_net, table = self.judge.net, jnp.asarray(self.table)

    def read_attributes(judge_params, images):
      probs = jax.nn.softmax(judge_net.apply({'params': judge_params}, images)[1], axis=-1)
      if self.softmax:
        return jax.nn.one_hot(jnp.argmax(probs, -1), table.shape[1])
      return (probs @ table > 0.5).astype(jnp.float32)  # P(bit) = sum of its classes' P.

    def mixes(params, h1, h2, target, key):
      sup_key, bern_key = jax.random.split(key)
      y = jnp.broadcast_to(target, (h1.shape[0], target.shape[-1]))
      supervised, _ = objective.class_mix(params, h1, h2, y, sup_key)
      masks = mixers.bernoulli_masks(bern_key, 2, h1.shape)
      bernoulli = mixers.combine(jnp.stack([h1, h2]), masks)
      return supervised, bernoulli

    def score(params, judge_params, h1, h2, target, key):
      supervised, bernoulli = mixes(params, h1, h2, target, key)
      decoded = objective.decode(params, jnp.concatenate([supervised, bernoulli]))
      return jnp.stack(jnp.split(read_attributes(judge_params, decoded), 2))  # (2, b, A)

    def decode_class_mix(params, h1, h2, target, key):
      return objective.decode(params, mixes(params, h1, h2, target, key)[0])

    self._encode = jax.jit(objective.encode)
    self._score = jax.jit(score)
    self._decode_class_mix = jax.jit(decode_class_mix)

  def _chunks(self, fn, h1, h2, target, key):
    """fn over pairs in chunks of one size (the last padded), a key per chunk: one compile."""
    n = len(h1)
    size = min(self.batch_size, n)
    outputs = []
    for start in range(0, n, size):
      a, b = h1[start:start + size], h2[start:start + size]
      real, pad = len(a), size - len(a)
      a, b = (np.concatenate([c, np.repeat(c[-1:], pad, 0)]) for c in (a, b))
      out = np.asarray(fn(a, b, target, jax.random.fold_in(key, start)))
      outputs.append(out[..., :real, :])
    return np.concatenate(outputs, axis=-2)

  def __call__(self, state):
    params = self.objective.inference_params(state)
    encode = functools.partial(self._encode, params)
    h1 = frechet.map_batches(encode, self.x1, batch_size=self.batch_size)
    h2 = frechet.map_batches(encode, self.x2, batch_size=self.batch_size)
    hits = {'': [], 'bernoulli_': []}
    for k, target in enumerate(self.targets):
      score = functools.partial(self._score, params, self.judge.params)
      read = self._chunks(score, h1, h2, target, jax.random.fold_in(self.key, k))  # (2, n, A)
      for (prefix, per_mixer), bits in zip(hits.items(), read):
        per_mixer.append(bits == target[None])  # (n, A)
    weights = self.reachable.astype(np.float64)  # (n, K)
    scalars = {}
    for prefix, per_mixer in hits.items():
      match = np.stack(per_mixer, axis=1)  # (n, K, A)
      # Softmax "bits" are a one-hot class: a wrong class still matches C - 2 of C positions,
      # so there the accuracy is the exact match (the class read is the class asked for).
      accuracy = match.all(-1) if self.softmax else match.mean(-1)
      for name, value in (('accuracy', accuracy), ('exact', match.all(-1))):
        scalars[f'attribute_consistency/{prefix}{name}'] = float(
            np.sum(weights * value) / np.sum(weights))
    scalars['attribute_consistency/classifier_accuracy'] = self.judge.valid_accuracy
    return scalars, {'attribute_consistency/figure5': self.figure(params, h1, h2)}

  def figure(self, params, h1, h2) -> np.ndarray:
    """Rows = pairs; columns = x1, the class mix for every target combination, x2."""
    rows = self.figure_rows
    columns = [self.x1[rows]]
    for k, target in enumerate(self.targets):
      columns.append(np.asarray(self._decode_class_mix(
          params, h1[rows], h2[rows], target, jax.random.fold_in(self.key, k))))
    columns.append(self.x2[rows])
    mosaic = figures.grid(np.stack(columns, axis=1))
    return figures.labelled_columns(mosaic, ['x1', *self.labels, 'x2'])
