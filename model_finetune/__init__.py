__version__ = "0.1.0"

from .doctor import doctor  # `model_finetune.doctor()`: is this machine ready? (nbs/00a_doctor.ipynb)
