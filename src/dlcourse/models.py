"""The PyTorch models of the lectures: softmax regression, MLPs (MLP2) and LeNet-5.

All take MNIST-shaped input ``N×1×28×28`` (MLPs flatten it) and return logits ``N×10``; the loss
(cross-entropy) applies the softmax.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ._checks import positive_int

__all__ = ["SoftmaxRegression", "MLP", "MLP2", "LeNet5", "count_parameters"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def _activation(name: str, owner: str) -> type[nn.Module]:
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise ValueError(f"The 'activation' parameter of {owner} must be one of "
                         f"{', '.join(map(repr, _ACTIVATIONS))}. Got {name!r} instead.")
    return _ACTIVATIONS[name]


def _check_input(x, owner: str, weight: torch.Tensor, n_features: int | None = None) -> None:
    """A clear message for the usual mistakes: a NumPy array, integer or float64 pixels, a wrong size."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor (use torch.as_tensor(x, dtype=torch.float32)). "
                        f"Got {type(x).__name__} instead.")
    if x.dtype != weight.dtype:
        raise TypeError(f"{owner} expects {str(weight.dtype).removeprefix('torch.')} input, the dtype of its "
                        f"weights (use x.to({weight.dtype}); divide uint8 pixels by 255). Got {x.dtype} instead.")
    # From the shape alone: this runs at every forward, including fit's training steps.
    if n_features is not None and (x.dim() < 2 or math.prod(x.shape[1:]) != n_features):
        raise ValueError(f"{owner} expects input of shape (N, {n_features}) or (N, ...) with {n_features} "
                         f"values per example. Got shape {tuple(x.shape)} instead.")


class SoftmaxRegression(nn.Module):
    """One linear layer 784 → 10: the softmax regression of lecture 001 (Y = softmax(X·W + b))."""

    def __init__(self, n_in: int = 784, n_classes: int = 10):
        super().__init__()
        self.linear = nn.Linear(positive_int(n_in, "n_in", "SoftmaxRegression"),
                                positive_int(n_classes, "n_classes", "SoftmaxRegression"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, "SoftmaxRegression", self.linear.weight, self.linear.in_features)
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
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(f"The 'sizes' parameter of MLP must be a list of layer widths such as "
                            f"[784, 100, 10]. Got {sizes!r} instead.")
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes):
            raise ValueError(f"The 'sizes' parameter of MLP must be a list of at least two positive "
                             f"integers. Got {sizes!r} instead.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"The 'dropout' parameter of MLP must be in [0, 1). Got {dropout!r} instead.")
        if dropout and len(sizes) == 2:
            raise ValueError("The 'dropout' parameter of MLP applies after hidden layers, and "
                             f"sizes={sizes} has none. Got dropout={dropout!r}; use 0 or add a hidden layer.")
        act = _activation(activation, "MLP")
        layers: list[nn.Module] = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(n_in, n_out), act()]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, type(self).__name__, self.net[1].weight, self.net[1].in_features)
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
        n_classes = positive_int(n_classes, "n_classes", "LeNet5")
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
        _check_input(x, "LeNet5", self.features[0].weight)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"LeNet5 expects input of shape (N, 1, 28, 28). Got {tuple(x.shape)} instead.")
        return self.classifier(self.features(x))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of a model."""
    if not isinstance(model, nn.Module):
        raise TypeError("The 'model' parameter of count_parameters must be a torch.nn.Module instance "
                        "(for a list of layer sizes, use dlcourse.mlp.count_parameters). "
                        f"Got {model!r} instead.")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
