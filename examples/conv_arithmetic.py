"""Convolution arithmetic: output sizes, and the checkerboard of transposed convolutions.

The notes (course 4, week 1): an n x n image convolved with an f x f filter, padding p and
stride s gives floor((n + 2p - f) / s) + 1 per side; "same" padding is p = (f - 1) / 2; pooling
follows the same formula. A transposed convolution goes the other way: (n - 1) s - 2p + f (+ an
output_padding of up to s - 1). This example checks those formulas against real layers for a
table of cases.

The GAN course (week 2): a stride-2 transposed convolution whose kernel size is not a multiple
of the stride covers some output pixels more often than others, a checkerboard pattern; upsampling
followed by a convolution does not. With all-ones weights on a constant image the counts are
plain to see: a 3x3, stride-2 transposed conv gives interior pixels 1, 2 and 4 (max / min 4),
nearest upsampling then a 3x3 conv gives 9 everywhere (max / min 1). The example saves both.

    python -m examples.conv_arithmetic [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import nn
from examples import common

# (n, f, p, s): the notes' examples (6x6 with 3x3; 7x7 stride 2) and a few more.
CONV_CASES = [(6, 3, 0, 1), (6, 3, 1, 1), (7, 3, 0, 2), (7, 3, 1, 2), (28, 5, 2, 1), (32, 5, 0, 1),
              (14, 5, 0, 1), (64, 4, 1, 2), (39, 3, 0, 1), (37, 5, 0, 2)]  # fmt: skip
POOL_CASES = [(28, 2, 0, 2), (5, 3, 0, 1), (14, 2, 0, 2), (7, 3, 1, 2)]
TRANSPOSE_CASES = [
    (7, 4, 1, 2, 0),
    (4, 4, 1, 2, 0),
    (3, 3, 0, 2, 0),
    (3, 3, 1, 2, 1),
    (1, 4, 0, 1, 0),
]


def conv_size(n, f, p, s):
    return (n + 2 * p - f) // s + 1


def transpose_size(n, f, p, s, output_padding):
    return (n - 1) * s - 2 * p + f + output_padding


def interior_values(image):
    return sorted({float(v) for v in common.to_numpy(image)[0, 0, 2:-2, 2:-2].ravel()})


def interior_ratio(image):
    """max / min over the interior (away from the borders, where every layer is uneven)."""
    core = image[0, 0, 2:-2, 2:-2]
    return core.max().item() / core.min().item()


def checkerboard(device):
    """Ones through a stride-2 3x3 transposed conv, and through upsample + 3x3 conv."""
    x = A.ones(1, 1, 8, 8, device=device)
    deconv = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1, bias=False)
    upconv = nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(1, 1, 3, padding=1, bias=False)
    )
    with A.no_grad():
        deconv.weight.fill_(1.0)
        upconv[1].weight.fill_(1.0)
        return deconv.to(device)(x), upconv.to(device)(x)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    args = common.parse_args(parser, argv)
    rows, agree = [], 0
    for n, f, p, s in CONV_CASES:
        layer = nn.Conv2d(1, 1, f, stride=s, padding=p, device=args.device)
        real = layer(A.zeros(1, 1, n, n, device=args.device)).shape[-1]
        agree += real == conv_size(n, f, p, s)
        rows.append(["conv", n, f, p, s, conv_size(n, f, p, s), real])
    for n, f, p, s in POOL_CASES:
        real = nn.MaxPool2d(f, s, p)(A.zeros(1, 1, n, n, device=args.device)).shape[-1]
        agree += real == conv_size(n, f, p, s)
        rows.append(["max-pool", n, f, p, s, conv_size(n, f, p, s), real])
    for n, f, p, s, op in TRANSPOSE_CASES:
        layer = nn.ConvTranspose2d(1, 1, f, s, p, output_padding=op, device=args.device)
        real = layer(A.zeros(1, 1, n, n, device=args.device)).shape[-1]
        agree += real == transpose_size(n, f, p, s, op)
        rows.append([f"transposed (op={op})", n, f, p, s, transpose_size(n, f, p, s, op), real])
    same = [f for f in (1, 3, 5, 7) if conv_size(10, f, (f - 1) // 2, 1) == 10]
    common.print_table(
        "Output size: floor((n + 2p - f) / s) + 1; transposed: (n - 1) s - 2p + f + op",
        ["layer", "n", "f", "p", "s", "formula", "real layer"],
        rows,
    )
    print(
        f"{agree} of {len(rows)} cases agree; 'same' padding p = (f - 1) / 2 keeps n for f = {same}"
    )

    deconv, upconv = checkerboard(args.device)
    ratios = {"transposed conv": interior_ratio(deconv), "upsample + conv": interior_ratio(upconv)}
    common.print_table(
        "Checkerboard: a 3x3 stride-2 transposed conv vs nearest upsampling + 3x3 conv (ones)",
        ["layer", "interior values", "max / min"],
        [
            ["transposed conv", interior_values(deconv),
             ratios["transposed conv"]],
            ["upsample + conv", interior_values(upconv),
             ratios["upsample + conv"]],
        ],
    )  # fmt: skip
    files = []
    plt = common.pyplot()
    if plt is not None:
        fig, axes = plt.subplots(1, 2, figsize=(8, 4))
        for ax, (name, image) in zip(
            axes, (("transposed conv", deconv), ("upsample + conv", upconv))
        ):
            ax.imshow(common.to_numpy(image)[0, 0], cmap="magma")
            ax.set_title(f"{name}: max/min {ratios[name]:.0f}")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle("Ones through a stride-2 3x3 transposed conv leave a checkerboard")
        files.append(common.save_figure(fig, args.out / "conv_arithmetic_checkerboard.png"))
    return {"cases": len(rows), "agree": agree, "ratios": ratios, "files": files}


if __name__ == "__main__":
    main()
