"""mixres: adversarial mixup resynthesis and the autoencoders it is compared with."""

import os

# Measured on a 2-core CPU (BENCHMARKS.md): +25-40% on the AMR train step. XLA reads the flags
# when the first backend starts, so this must run before any computation; a user's own setting
# of the same flag wins.
_CPU_FLAG = '--xla_cpu_experimental_ynn_fusion_type=-individual_convolution'
if 'xla_cpu_experimental_ynn_fusion_type' not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = f'{os.environ.get("XLA_FLAGS", "")} {_CPU_FLAG}'.strip()
