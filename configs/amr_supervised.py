"""Supervised AMR (section 2.2, Eq. 7, Figure 5 of the AMR paper): the class mixer on CelebA.

  python -m mixres.main --config=configs/amr_supervised.py --workdir=runs/celeba_supervised
  python -m mixres.main --config=configs/amr_supervised.py:local --workdir=runs/supervised_local
  python -m mixres.main --config=configs/amr_supervised.py:reference --workdir=runs/celeba_ref
  python -m mixres.main --config=configs/amr_supervised.py:reference,local --workdir=runs/ref_local

The paper's setting: CelebA with the attributes 'is male', 'is wearing heavy makeup', 'is wearing
lipstick' (data.attributes; the probe predicts their 8 combinations). The paper gives no image
size, bottleneck, lambda or length for it; our choices: TFDS 'celeb_a' train split cut 90/10,
the central square crop resized to 64x64, the ACAI-style nets at latent_width 4 (4 scales) with
16 channels (d_h = 256, so the class mixer has 16 feature maps to choose from), lambda 10, the
reference schedule (G every 5th step, Adam 1e-4), 50 epochs (about 114k steps of batch 64; an
accelerator job). The losses are AMR's Eq. 3 with the Bernoulli mixer plus Eq. 7's. The mask
follows the paper (config.supervised.mask='sample', straight-through);
'soft' is the reference code's.

'local': the CPU variant, no download: scikit-learn's embedded digits (1,438 train / 359 valid)
resized to 32x32x1, with binary attributes derived from the digit (data.derived_attributes =
odd, large (>= 5), loop (0, 6, 8, 9)), the same d_h = 256 nets, 300 steps with the quickstart's
demo schedule (G every step at lr 5e-4, probe 1e-2: configs/quickstart.py says why).
Measured here before Eq. 3's unsupervised mix terms joined the losses, with other jobs on the
2 cores (load average 6 to 11): 9 m 19 s wall, 5 m 30 s of CPU, of which 8 m 15 s the 300 steps
and two evaluations, the rest building the judge classifier of 'attribute_consistency'
(eval.frechet_steps = 500, cached for later runs). Best probe accuracy 97.2%; attribute
accuracy of the class mixes 0.62 against 0.63 for the Bernoulli mixer on the same pairs: 300
steps teach embed nothing yet, the variant checks that it all runs.

'reference' (alone or with 'local'): the authors' supervised loop (docs/faithfulness.md#a13),
read from christopher-beckham/amr at 8187d92 (swapgan.py:383-462,
architectures/discriminators.py:361-376) with the settings of the run behind Figure 5, whose
name in the paper's source (seeds/amr_paper.txt:162) reads lamb50, beta1, cls1, eps1e-4, mixer
'fm': variant 'reference' (y_mix crossed over per attribute, the unsupervised mix's partner, D's
classification term at weight 1: mixres/objectives/amr_supervised.py), the soft mask
m = sigmoid(ReLU(embed(y))) with hidden widths C, C, mask prior 1e-4, beta 1 (consistency on
both mixes), lambda 50. Not reproduced: their 'fm' mixer draws p per (example, channel)
(swapgan.py:264), ours per example (Eq. 5); their CelebA frontal-face subset and 64-filter
networks ('g64'; that architecture file is not in their repository).
"""

from configs import amr_paper
from configs import base
from mixres import config_arg


def get_config(arg=None):
  flags, = config_arg.parse(arg, flags=('reference', 'local'))
  local = 'local' in flags
  config = base.get_config()
  config.objective = 'amr_supervised'
  # Eq. 3's unsupervised mixer, whose terms the supervised ones add to (k = 2); also the
  # baseline that 'attribute_consistency' compares the class mixer with.
  config.mixer = 'bernoulli'
  config.lam = 10.0
  config.model.latent_width = 4
  config.model.latent = 16  # d_h = 16 x 4 x 4 = 256: 16 feature maps for the class mixer.
  config.supervised.mask = 'sample'
  config.supervised.classifier = 'sigmoid'
  config.eval.evaluators = ('probe', 'interpolation', 'attribute_consistency')
  if 'reference' in flags:
    config.supervised.variant = 'reference'
    config.supervised.mask = 'soft'  # m = p, never sampled (discriminators.py:374-376).
    # discriminators.py:364-371: Linear(A, C), Linear(C, C), Linear(C, C), each ReLU'd.
    config.supervised.embed_hidden = (config.model.latent, config.model.latent)
    config.supervised.mask_prior = 1e-4
    config.supervised.cls_weight = 1.0
    config.lam = 50.0
    config.beta = 1.0
  if local:
    amr_paper.make_local(config)
    config.data.name = 'digits'
    config.data.valid_fraction = 0.2  # As configs/quickstart.py.
    config.data.derived_attributes = ('odd', 'large', 'loop')
    config.data.num_classes = 10
    config.num_train_steps = 300
    config.gen_every = 1
    config.optim.lr = 5e-4
    config.eval_every = 150
    config.checkpoint_every = 150
  else:
    config.data.name = 'celeb_a'
    config.data.attributes = ('Male', 'Heavy_Makeup', 'Wearing_Lipstick')
    config.data.num_classes = 8  # 2**3 attribute combinations.
    config.data.image_size = 64
    config.data.fit = 'crop_resize'
    config.num_epochs = 50.0
  return config
