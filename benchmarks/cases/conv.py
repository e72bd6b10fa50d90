"""Convolutional cases (issue 8): LeNet-5, a DCGAN step and a ResNet basic-block stack."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Case, StepAndArgs, register


def lenet5(api: Any, device: str) -> StepAndArgs:
    """LeNet-5 (conv 6@5x5 pad 2, max-pool, conv 16@5x5, max-pool, 120-84-10, ReLU), batch 128,
    1x28x28, cross-entropy, SGD with momentum: im2col, GEMMs, col2im and max-pool."""
    nn = api.nn
    rng = np.random.default_rng(0)
    x = api.tensor(rng.standard_normal((128, 1, 28, 28), dtype=np.float32), device=device)
    y = api.tensor(rng.integers(0, 10, 128), device=device)
    api.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    ).to(device)  # fmt: skip
    opt = api.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = api.F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, (x, y)


def dcgan(api: Any, device: str) -> StepAndArgs:
    """One DCGAN step on 28x28 (the GAN course's generator and discriminator, batch 64): a
    discriminator update on real and fake, then a generator update; BCE on logits, Adam."""
    nn, F = api.nn, api.F
    api.manual_seed(0)

    def up(i: int, o: int, k: int, s: int) -> list:
        return [nn.ConvTranspose2d(i, o, k, s), nn.BatchNorm2d(o), nn.ReLU()]

    def down(i: int, o: int) -> list:
        return [nn.Conv2d(i, o, 4, 2), nn.BatchNorm2d(o), nn.LeakyReLU(0.2)]

    gen = nn.Sequential(
        *up(64, 256, 3, 2), *up(256, 128, 4, 1), *up(128, 64, 3, 2),
        nn.ConvTranspose2d(64, 1, 4, 2), nn.Tanh(),
    ).to(device)  # fmt: skip
    disc = nn.Sequential(*down(1, 16), *down(16, 32), nn.Conv2d(32, 1, 4, 2), nn.Flatten())
    disc = disc.to(device)
    gen_opt = api.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    disc_opt = api.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    real = api.tensor(rng.uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32), device=device)
    noise = api.tensor(rng.standard_normal((64, 64, 1, 1), dtype=np.float32), device=device)
    ones = api.tensor(np.ones((64, 1), np.float32), device=device)
    zeros = api.tensor(np.zeros((64, 1), np.float32), device=device)
    bce = F.binary_cross_entropy_with_logits

    def step() -> None:
        fake = gen(noise)
        disc_opt.zero_grad()
        loss = bce(disc(fake.detach()), zeros) + bce(disc(real), ones)
        loss.backward()
        disc_opt.step()
        gen_opt.zero_grad()
        bce(disc(fake), ones).backward()
        gen_opt.step()

    return step, ()


def resnet_blocks(api: Any, device: str) -> StepAndArgs:
    """Three ResNet basic blocks (3x3 conv, BN, ReLU, 3x3 conv, BN, + identity, ReLU), 32
    channels, 32x32, batch 32, forward and backward."""
    nn, F = api.nn, api.F
    api.manual_seed(0)
    blocks = [
        nn.Sequential(
            nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32),
        ).to(device)
        for _ in range(3)
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    x = api.tensor(rng.standard_normal((32, 32, 32, 32), dtype=np.float32), device=device)
    x.requires_grad_()

    def step() -> None:
        h = x
        for block in blocks:
            h = F.relu(block(h) + h)
        h.sum().backward()
        x.grad = None
        for block in blocks:
            for p in block.parameters():
                p.grad = None

    return step, ()


register(Case("lenet5_b128", "LeNet-5, batch 128, 1x28x28, SGD momentum", lenet5,
              compilable=True, group=60))  # fmt: skip
register(Case("dcgan_b64", "DCGAN step on 28x28 (D then G), batch 64, Adam", dcgan, group=61))
register(Case("resnet_3_blocks", "3 ResNet basic blocks, 32 channels, 32x32, batch 32, fwd+bwd",
              resnet_blocks, group=62))  # fmt: skip
