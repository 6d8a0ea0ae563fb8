"""POTNet's loss between a batch of real rows and a batch of generated rows of the same size:
the exact optimal-transport cost of the joint distributions (L1 ground cost; with equal
uniform weights the optimal plan is a permutation, found by the Hungarian algorithm) plus
each column's one-dimensional Wasserstein-1 distance (sorted values) times its penalty. The
plan is held fixed for the gradient (the envelope theorem: the gradient of the optimal cost
is the gradient of the cost at the optimal plan)."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment


def joint_w1(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    cost = torch.cdist(real, fake, p=1)
    rows, cols = linear_sum_assignment(cost.detach().cpu().double().numpy())
    pick = torch.as_tensor(np.stack([rows, cols]), device=cost.device)
    return cost[pick[0], pick[1]].mean()


def marginal_w1(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Per column (a vector): the Wasserstein-1 distance of the two batches' values."""
    return (real.sort(dim=0).values - fake.sort(dim=0).values).abs().mean(dim=0)


def potnet_loss(real: torch.Tensor, fake: torch.Tensor, penalty: float) -> torch.Tensor:
    return joint_w1(real, fake) + penalty * marginal_w1(real, fake).sum()
