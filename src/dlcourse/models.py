"""The PyTorch models of the lectures: softmax regression, MLPs (MLP2) and LeNet-5.

All take MNIST-shaped input ``N×1×28×28`` (MLPs flatten it) and return logits ``N×10``; the loss
(cross-entropy) applies the softmax.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["SoftmaxRegression", "MLP", "MLP2", "LeNet5", "count_parameters"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def _activation(name: str, owner: str) -> type[nn.Module]:
    if name not in _ACTIVATIONS:
        raise ValueError(f"The 'activation' parameter of {owner} must be one of "
                         f"{', '.join(map(repr, _ACTIVATIONS))}. Got {name!r} instead.")
    return _ACTIVATIONS[name]


class SoftmaxRegression(nn.Module):
    """One linear layer 784 → 10: the softmax regression of lecture 001 (Y = softmax(X·W + b))."""

    def __init__(self, n_in: int = 784, n_classes: int = 10):
        super().__init__()
        self.linear = nn.Linear(n_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


class MLP(nn.Module):
    """Fully connected network ``sizes[0] → … → sizes[-1]`` with an activation after each hidden layer.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including input and output, e.g. ``(784, 200, 100, 60, 30, 10)``.
    activation : {"sigmoid", "tanh", "relu"}
    dropout : float
        Drop probability applied after each hidden activation (0 = none).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(f"The 'sizes' parameter of MLP must be a list of at least two positive "
                             f"integers. Got {sizes!r} instead.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"The 'dropout' parameter of MLP must be in [0, 1). Got {dropout!r} instead.")
        act = _activation(activation, "MLP")
        layers: list[nn.Module] = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(n_in, n_out), act()]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MLP2(MLP):
    """The lecture's five-layer MLP 784-200-100-60-30-10 (lecture 001), sigmoid by default."""

    SIZES = (784, 200, 100, 60, 30, 10)

    def __init__(self, activation: str = "sigmoid", dropout: float = 0.0):
        super().__init__(self.SIZES, activation=activation, dropout=dropout)


class LeNet5(nn.Module):
    """LeNet-5 for 28×28 digits (LeCun et al. 1998; lectures 000 and 002): conv-pool-conv-pool-fc.

    Shapes: 1×28×28 → conv 5×5 pad 2 → 6×28×28 → pool → 6×14×14 → conv 5×5 → 16×10×10 → pool →
    16×5×5 → 120 → 84 → 10. ReLU and max-pooling, as is usual today (the 1998 paper used tanh-like
    units and sub-sampling).
    """

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"LeNet5 expects input of shape (N, 1, 28, 28). Got {tuple(x.shape)} instead.")
        return self.classifier(self.features(x))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
