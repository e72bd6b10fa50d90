"""A small CNN with BatchNorm shared by tests/test_distributed.py and its MPI ranks."""

import autograd as A
import nn


class SmallCNN(nn.Module):
    """(N, 4) features as 1x2x2 images -> conv 3@2x2 (pad 1) -> BatchNorm2d -> tanh -> linear 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 2, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.head = nn.Linear(27, 2)

    def forward(self, x: A.Tensor) -> A.Tensor:
        h = self.bn(self.conv(x.reshape(-1, 1, 2, 2))).tanh()
        return self.head(h.flatten(1))


def small_cnn(seed: int) -> SmallCNN:
    A.manual_seed(seed)
    return SmallCNN()
