"""The AMR paper's Table 4: dSprites with beta-VAE-style 64x64 networks and a 10-d code.

  python -m mixres.main --config=configs/amr_dsprites.py:bern3 --workdir=runs/dsprites_bern3
  rows: ae_gan, mixup2, bern2, mixup3, bern3 (lambda 1 for all); ',local' for the CPU variant,
  which trains on our procedural dSprites renderer (no download)

REFERENCE.md section 1: conv encoder/decoder as in Higgins et al. / Kim & Mnih (model.arch
'betavae'), z = 10, spectral-norm conv D, lambda = 1, no weight decay. The paper gives no training
length; we use Kim & Mnih's 300k steps at batch 64. The probe predicts the shape (3 classes);
Table 4's number is the FactorVAE disentanglement metric (evaluation issue).
Published (FactorVAE metric): AE+GAN 45.12, mixup2 49.00, bern2 53.00, mixup3 51.13, bern3 56.00.
Time: 300,000 steps; about 1.7 days on the 2-core CPU (2.0 steps/s, BENCHMARKS.md).
',local': about 4.5 minutes here (500 steps at 2 steps/s on the renderer).
"""

from configs import amr_paper


def get_config(arg=None):
  config = amr_paper.setting_config('dsprites', arg)
  _, local = amr_paper.parse(arg, 'dsprites')
  config.data.name = 'dsprites_rendered' if local else 'dsprites'
  config.data.image_size = 64
  config.data.num_classes = 3
  config.model.arch = 'betavae'
  config.model.init, config.model.entry_padding = 'flax', 0  # Choices of the 32x32 nets only.
  config.model.code_size = 10
  config.optim.weight_decay = 0.0
  if not local:
    config.num_train_steps = 300_000
  return config
