"""Run a peer script with torch.manual_seed() fixed to another seed.

The PyTorch peer seeds its weights with torch.manual_seed(0). The benchmark
compares accuracies over several seeds, so this wrapper replaces the seed
and runs the script unchanged.
Usage: /usr/bin/python3 torch_seed.py SEED SCRIPT [ARGS...]
"""
import runpy
import sys

import torch

seed = int(sys.argv[1])
original_manual_seed = torch.manual_seed
torch.manual_seed = lambda _ignored: original_manual_seed(seed)
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
