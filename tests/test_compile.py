"""``A.compile``: a replayed step gives eager mode's numbers bit for bit, for every example's
model, and its guards re-record or fall back rather than replay a wrong schedule."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
import nn.functional as F
import optim
from autograd import replay

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples import (  # noqa: E402
    batch_norm,
    char_lm,
    date_translation,
    dcgan,
    ddp_train,
    demo,
    gradient_checking,
    initialization,
    lenet5,
    optimizers,
    planar_classification,
    regularization,
    resnet,
    softmax_digits,
    vanishing_gradients,
    word2vec,
)

STEPS = 7


def _batches(n_features, m, n_classes=None, count=3, seed=0, dtype=np.float32):
    """``count`` different batches of the same shape: replays must read the new data."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = A.tensor(rng.standard_normal((m, n_features)).astype(dtype))
        if n_classes is None:
            y = A.tensor((rng.random((m, 1)) > 0.5).astype(dtype))
        else:
            y = A.tensor(rng.integers(0, n_classes, m))
        out.append((x, y))
    return out


def _logistic_regression():
    w = A.zeros(6, 1, dtype=A.float64, requires_grad=True)
    b = A.zeros(1, dtype=A.float64, requires_grad=True)
    opt = optim.SGD([w, b], lr=0.5)

    def step(X, Y):
        opt.zero_grad()
        cost = F.binary_cross_entropy(A.sigmoid(X @ w + b), Y)
        cost.backward()
        opt.step()
        return cost

    return step, [w, b], _batches(6, 20, dtype=np.float64), True


def _sgd_step(model, opt, loss_fn):
    def step(X, Y):
        opt.zero_grad()
        cost = loss_fn(model(X), Y)
        cost.backward()
        opt.step()
        return cost

    return step


def _planar():
    model = planar_classification.one_hidden_layer(4, "cpu", A.float64)
    step = _sgd_step(model, optim.SGD(model.parameters(), lr=1.2), F.binary_cross_entropy)
    return step, list(model.parameters()), _batches(2, 30, dtype=np.float64), True


def _initialization():
    model = initialization.three_layer_net(2.0, "cpu", A.float32)
    opt = optim.SGD(model.parameters(), lr=0.01)
    return (
        _sgd_step(model, opt, F.binary_cross_entropy_with_logits),
        list(model.parameters()),
        _batches(2, 30),
        True,
    )


def _regularization():
    A.manual_seed(3)
    model = regularization.three_layer_net("cpu", A.float32, keep_prob=0.86)
    model.train()

    def cost(scores, Y):
        return F.binary_cross_entropy_with_logits(scores, Y) + regularization.l2_penalty(
            model, 0.7, 30
        )

    step = _sgd_step(model, optim.SGD(model.parameters(), lr=0.3), cost)
    return step, list(model.parameters()), _batches(2, 30), True


def _optimizers_momentum():
    model = optimizers.he_initialized_net("cpu", A.float32)
    opt = optim.SGD(model.parameters(), lr=0.0007, momentum=0.9, dampening=0.9)
    step = _sgd_step(model, opt, F.binary_cross_entropy_with_logits)
    return step, list(model.parameters()), _batches(2, 64), True


def _optimizers_adam():
    model = optimizers.he_initialized_net("cpu", A.float32)
    opt = optim.Adam(model.parameters(), lr=0.0007)
    step = _sgd_step(model, opt, F.binary_cross_entropy_with_logits)
    return step, list(model.parameters()), _batches(2, 64), True


def _batch_norm():
    model = batch_norm.deep_mlp(True, "cpu", depth=2, hidden=16)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = _sgd_step(model, opt, F.cross_entropy)
    state = list(model.parameters()) + list(model.buffers())
    return step, state, _batches(64, 32, n_classes=10), True


def _softmax_digits():
    model = softmax_digits.models("cpu")["MLP 64-64-10"]
    opt = optim.Adam(model.parameters(), lr=0.01)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), True


def _demo():
    model = demo.make_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), True


def _sgd_demo():
    model = demo.make_model()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), True


def _amsgrad():
    model = demo.make_model()
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), False


def _gradient_checking():
    model = gradient_checking.DeepNet(
        linear_ops=[gradient_checking.CourseLinear, None, None], dtype=A.float64
    )
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = _sgd_step(model, opt, F.binary_cross_entropy_with_logits)
    return step, list(model.parameters()), _batches(4, 10, dtype=np.float64), True


def _images(shape, count=3, seed=0):
    rng = np.random.default_rng(seed)
    return [A.tensor(rng.standard_normal(shape).astype(np.float32)) for _ in range(count)]


def _classes(n, n_classes, count=3, seed=1, shape=None):
    rng = np.random.default_rng(seed)
    return [A.tensor(rng.integers(0, n_classes, shape or n)) for _ in range(count)]


def _lenet5(classic):
    def make():
        model = lenet5.lenet5(classic=classic)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        step = _sgd_step(model, opt, lambda s, y: F.cross_entropy(s, y, label_smoothing=0.1))
        batches = list(zip(_images((4, 1, 28, 28)), _classes(4, 10)))
        return step, list(model.parameters()), batches, True

    return make


def _resnet(residual):
    def make():
        model = resnet.network(1, residual, width=4)
        model.train()
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
        step = _sgd_step(model, opt, F.cross_entropy)
        batches = list(zip(_images((4, 1, 12, 12)), _classes(4, 10)))
        return step, list(model.parameters()) + list(model.buffers()), batches, True

    return make


def _inception():
    block = resnet.Inception(in_ch=8)
    opt = optim.Adam(block.parameters(), lr=0.01)

    def step(x, target):
        opt.zero_grad()
        loss = F.mse_loss(block(x), target)
        loss.backward()
        opt.step()
        return loss

    batches = list(zip(_images((2, 8, 5, 5)), _images((2, 256, 5, 5), seed=1)))
    return step, list(block.parameters()), batches, True


def _gan():
    gen = dcgan.Generator(z_dim=8, hidden=4)
    disc = dcgan.Discriminator(hidden=4)
    gen.apply(dcgan.weights_init)
    disc.apply(dcgan.weights_init)
    return (
        gen,
        disc,
        optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999)),
    )


def _gan_state(gen, disc):
    return [*gen.parameters(), *gen.buffers(), *disc.parameters(), *disc.buffers()]


def _dcgan():
    """The example's D step (on real and detached fake) then G step, in one compiled step."""
    gen, disc, gen_opt, disc_opt = _gan()
    bce = F.binary_cross_entropy_with_logits

    def step(real, noise):
        fake = gen(noise).detach()
        disc_opt.zero_grad()
        real_score, fake_score = disc(real), disc(fake)
        disc_loss = (
            bce(fake_score, A.zeros_like(fake_score)) + bce(real_score, A.ones_like(real_score))
        ) / 2
        disc_loss.backward()
        disc_opt.step()
        gen_opt.zero_grad()
        score = disc(gen(noise))
        gen_loss = bce(score, A.ones_like(score))
        gen_loss.backward()
        gen_opt.step()
        return gen_loss, disc_loss

    batches = list(zip(_images((3, 1, 28, 28)), _images((3, 8), seed=1)))
    return step, _gan_state(gen, disc), batches, True


def _wgan_gp_step(gen, disc, gen_opt, disc_opt, penalty):
    def step(real, noise, *eps):
        fake = gen(noise).detach()
        disc_opt.zero_grad()
        gp = penalty(disc, real, fake, *eps)
        disc_loss = disc(fake).mean() - disc(real).mean() + 10.0 * gp
        disc_loss.backward()
        disc_opt.step()
        gen_opt.zero_grad()
        gen_loss = -disc(gen(noise)).mean()
        gen_loss.backward()
        gen_opt.step()
        return gen_loss, disc_loss

    return step


def _wgan_gp():
    """The example's penalty draws eps with A.rand inside the step: never replayed (a warning
    says why), and the eager fallback gives eager's numbers."""
    gen, disc, gen_opt, disc_opt = _gan()
    step = _wgan_gp_step(gen, disc, gen_opt, disc_opt, dcgan.gradient_penalty)
    batches = list(zip(_images((3, 1, 28, 28)), _images((3, 8), seed=1)))
    return step, _gan_state(gen, disc), batches, "random factory"


def _penalty_given_eps(critic, real, fake, eps):
    """dcgan.gradient_penalty with eps passed in: the create_graph double backward replays."""
    mixed = (real * eps + fake * (1 - eps)).detach().requires_grad_()
    (grad,) = A.grad(critic(mixed).sum(), [mixed], create_graph=True)
    norm = grad.reshape(grad.shape[0], -1).norm(dim=1)
    return ((norm - 1) ** 2).mean()


def _wgan_gp_eps_input():
    gen, disc, gen_opt, disc_opt = _gan()
    step = _wgan_gp_step(gen, disc, gen_opt, disc_opt, _penalty_given_eps)
    rng = np.random.default_rng(2)
    eps = [A.tensor(rng.random((3, 1, 1, 1)).astype(np.float32)) for _ in range(3)]
    batches = list(zip(_images((3, 1, 28, 28)), _images((3, 8), seed=1), eps))
    return step, _gan_state(gen, disc), batches, True


def _char_lm():
    """Packed names of different lengths: the step packs padded one-hot inputs itself (the
    lengths are a tuple, part of the input signature), clips gradients by value, Adam."""
    model = char_lm.CharRNN(8, "cpu")
    opt = optim.Adam(model.parameters(), lr=0.01)
    lengths = (5, 3, 4)

    def step(x, y, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(x, list(lengths), enforce_sorted=False)
        targets = nn.utils.rnn.pack_padded_sequence(y, list(lengths), enforce_sorted=False)
        opt.zero_grad()
        logits, _ = model(packed)
        loss = F.cross_entropy(logits, targets.data)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 5.0)
        opt.step()
        return loss

    rng = np.random.default_rng(0)
    batches = []
    for _ in range(3):
        ids = rng.integers(0, len(char_lm.VOCAB), (5, 3))
        x = F.one_hot(A.tensor(ids), len(char_lm.VOCAB)).float()
        batches.append((x, A.tensor(rng.integers(0, len(char_lm.VOCAB), (5, 3))), lengths))
    # Packing sorts the lengths and builds its gather indices in Python (host arrays the
    # recorder cannot see): refused with one warning, run eagerly with eager's numbers.
    return step, list(model.parameters()), batches, "Getitem received an array computed"


def _date_translation():
    """Bi-LSTM encoder, additive attention, LSTMCell decoder over 11 teacher-forced steps."""
    model = date_translation.DateTranslator(20, "cpu")
    opt = optim.Adam(model.parameters(), lr=0.01)
    classes = date_translation.EOS + 1

    def step(x, y):
        opt.zero_grad()
        log_probs = model(x, y)
        loss = F.nll_loss(log_probs.reshape(-1, classes), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    length = date_translation.OUTPUT_LENGTH
    xs = _classes(2, 20, shape=(2, 6))
    ys = _classes(2, classes, seed=2, shape=(2, length))
    return step, list(model.parameters()), list(zip(xs, ys)), True


def _word2vec_skipgram():
    model = word2vec.SkipGram(20, 8)
    opt = optim.Adam(model.parameters(), lr=0.01)

    def step(centers, targets, negatives):
        opt.zero_grad()
        loss = model(centers, targets, negatives)
        loss.backward()
        opt.step()
        return loss

    batches = list(
        zip(_classes(6, 20), _classes(6, 20, seed=2), _classes(6, 20, seed=3, shape=(6, 4)))
    )
    return step, list(model.parameters()), batches, True


def _word2vec_classifier(kind):
    def make():
        embedding = nn.Embedding(20, 6)
        embedding.weight.requires_grad_(False)  # the example freezes the trained vectors
        model = (
            word2vec.Averager(embedding)
            if kind == "mean"
            else word2vec.LSTMClassifier(embedding, hidden=5)
        )
        opt = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
        step = _sgd_step(model, opt, F.binary_cross_entropy_with_logits)
        rng = np.random.default_rng(4)
        ys = [A.tensor((rng.random(4) > 0.5).astype(np.float32)) for _ in range(3)]
        batches = list(zip(_classes(4, 20, shape=(4, 7)), ys))
        return step, list(model.parameters()), batches, True

    return make


def _ddp_model():
    """ddp_train's model in one process (DistributedDataParallel's hooks are refused: see
    test_a_step_whose_leaves_have_hooks_runs_eagerly), Adam as the example."""
    model = ddp_train.make_model()
    model.train()
    opt = optim.Adam(model.parameters(), lr=2e-3)
    step = _sgd_step(model, opt, F.cross_entropy)
    state = list(model.parameters()) + list(model.buffers())
    return step, state, _batches(64, 16, n_classes=10), True


def _conv_arithmetic():
    """The example's layers (strided padded conv, max-pool with padding, transposed conv with
    output_padding) in one small training step."""
    conv = nn.Conv2d(1, 2, 3, stride=2, padding=1)
    pool = nn.MaxPool2d(3, 2, 1)
    up = nn.ConvTranspose2d(2, 1, 3, 2, 1, output_padding=1)
    params = [*conv.parameters(), *up.parameters()]
    opt = optim.SGD(params, lr=0.01)

    def step(x, target):
        opt.zero_grad()
        loss = F.mse_loss(up(pool(conv(x))), target)
        loss.backward()
        opt.step()
        return loss

    batches = list(zip(_images((2, 1, 9, 9)), _images((2, 1, 6, 6), seed=1)))
    return step, params, batches, True


MODELS = {
    "logistic_regression": _logistic_regression,
    "planar_classification": _planar,
    "initialization": _initialization,
    "regularization (dropout + L2)": _regularization,
    "optimizers (SGD momentum)": _optimizers_momentum,
    "optimizers (Adam)": _optimizers_adam,
    "batch_norm": _batch_norm,
    "softmax_digits (Adam)": _softmax_digits,
    "demo (Adam)": _demo,
    "demo (SGD momentum)": _sgd_demo,
    "gradient_checking (own Function)": _gradient_checking,
    "Adam with amsgrad (general path)": _amsgrad,
    "lenet5 (ReLU, max-pool)": _lenet5(False),
    "lenet5 (classic: tanh, avg-pool)": _lenet5(True),
    "resnet (plain net)": _resnet(False),
    "resnet (residual net)": _resnet(True),
    "resnet (Inception block)": _inception,
    "dcgan (D and G steps)": _dcgan,
    "dcgan (WGAN-GP, eps drawn in the step)": _wgan_gp,
    "dcgan (WGAN-GP, create_graph, eps given)": _wgan_gp_eps_input,
    "char_lm (packed RNN, clipping)": _char_lm,
    "date_translation (attention)": _date_translation,
    "word2vec (skip-gram)": _word2vec_skipgram,
    "word2vec (averaging classifier)": _word2vec_classifier("mean"),
    "word2vec (LSTM classifier)": _word2vec_classifier("lstm"),
    "ddp_train (single-process model)": _ddp_model,
    "conv_arithmetic (its layers)": _conv_arithmetic,
}

# Every example, and the MODELS entries (or tests) that cover it, or why none does.
COVERAGE = {
    "batch_norm": ["batch_norm"],
    "char_lm": ["char_lm (packed RNN, clipping)"],
    "conv_arithmetic": ["conv_arithmetic (its layers)"],
    "date_translation": ["date_translation (attention)"],
    "dcgan": [
        "dcgan (D and G steps)",
        "dcgan (WGAN-GP, eps drawn in the step)",
        "dcgan (WGAN-GP, create_graph, eps given)",
    ],
    "ddp_train": ["ddp_train (single-process model)"],
    "demo": ["demo (Adam)", "demo (SGD momentum)"],
    "gradient_checking": ["gradient_checking (own Function)"],
    "initialization": ["initialization"],
    "lenet5": ["lenet5 (ReLU, max-pool)", "lenet5 (classic: tanh, avg-pool)"],
    "logistic_regression": ["logistic_regression"],
    "optimizers": ["optimizers (SGD momentum)", "optimizers (Adam)"],
    "planar_classification": ["planar_classification"],
    "regularization": ["regularization (dropout + L2)"],
    "resnet": ["resnet (plain net)", "resnet (residual net)", "resnet (Inception block)"],
    "softmax_digits": ["softmax_digits (Adam)"],
    "vanishing_gradients": ["test_vanishing_gradients_input_gradients_replay"],
    "word2vec": [
        "word2vec (skip-gram)",
        "word2vec (averaging classifier)",
        "word2vec (LSTM classifier)",
    ],
}
NOT_COVERED = {
    "visualize_graph": "draws graphs of single eager backward passes; it trains nothing",
    "common": "helpers for the examples (tables, figures, progress bars), not an example",
    "documented": "the README's table of numbers the examples print, not an example",
}


def test_every_example_is_covered_or_has_a_reason():
    examples = {p.stem for p in (ROOT / "examples").glob("*.py") if p.stem != "__init__"}
    assert examples == set(COVERAGE) | set(NOT_COVERED)
    tests = {name for name in globals() if name.startswith("test_")}
    for names in COVERAGE.values():
        assert all(n in MODELS or n in tests for n in names), names


def _values(result):
    """The step's returned Tensors, as floats."""
    if isinstance(result, (tuple, list)):
        return tuple(r.item() for r in result)
    return result.item()


def _train(make, compiled):
    A.manual_seed(0)
    step, state, batches, replayable = make()
    run = A.compile(step) if compiled else step
    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(STEPS):
            losses.append(_values(run(*batches[i % len(batches)])))
    grads = [None if t.grad is None else t.grad.numpy() for t in state]
    return losses, [t.detach().numpy().copy() for t in state], grads, run, caught, replayable


@pytest.mark.parametrize("name", list(MODELS))
def test_compiled_training_equals_eager_bit_for_bit(name):
    losses, state, grads, _, _, _ = _train(MODELS[name], compiled=False)
    c_losses, c_state, c_grads, run, caught, replayable = _train(MODELS[name], compiled=True)
    assert c_losses == losses
    for a, b in zip(state, c_state):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(grads, c_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    if replayable is True:
        assert run.replays == STEPS - 3 and not caught, [str(w.message) for w in caught]
    elif replayable is False:  # the general Adam path reads its step counter with .item()
        assert run.replays == 0
        assert len([w for w in caught if "running eagerly" in str(w.message)]) <= 1
    else:  # refused: one warning that says why, then eager (and eager's numbers, above)
        assert run.replays == 0
        messages = [str(w.message) for w in caught if "running eagerly" in str(w.message)]
        assert len(messages) == 1 and replayable in messages[0], messages


@pytest.mark.parametrize("layer, bias", [("RNN", 0.0), ("GRU", 4.0), ("LSTM", 4.0)])
def test_vanishing_gradients_input_gradients_replay(layer, bias):
    """vanishing_gradients' measurement: d(last output)/dx for every step of an RNN, GRU and
    LSTM (float64, the example's gate bias). With x a leaf passed to the step the step runs
    eagerly after one warning (a replay cannot set .grad on a new argument); with x held by
    the step (a parameter-like leaf, its data refreshed in place) it replays."""
    A.manual_seed(0)
    module = getattr(nn, layer)(3, 4).double()
    with A.no_grad():
        module.bias_hh_l0[4:8] += bias

    def step(x):
        module.zero_grad()
        out, _ = module(x)
        loss = out[-1].sum()
        loss.backward()
        return loss

    compiled = A.compile(step)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((6, 2, 3)) for _ in range(2)]
    with pytest.warns(RuntimeWarning, match="a Tensor argument requires grad"):
        for i in range(6):
            x = A.tensor(xs[i % 2], requires_grad=True)
            twin = A.tensor(xs[i % 2], requires_grad=True)
            assert compiled(x).item() == step(twin).item()
            np.testing.assert_array_equal(x.grad.numpy(), twin.grad.numpy())
    assert compiled.replays == 0

    held = A.zeros(6, 2, 3, dtype=A.float64, requires_grad=True)
    twin = A.zeros(6, 2, 3, dtype=A.float64, requires_grad=True)

    def held_step(data):
        with A.no_grad():
            held.copy_(data)
        held.grad = None
        return step(held)

    compiled = A.compile(held_step)
    for i in range(6):
        data = A.tensor(xs[i % 2])
        loss = compiled(data).item()
        with A.no_grad():
            twin.copy_(data)
        twin.grad = None
        assert loss == step(twin).item()
        np.testing.assert_array_equal(held.grad.numpy(), twin.grad.numpy())
    assert compiled.replays == 6 - 3
    assert set(vanishing_gradients.LAYERS.values()) >= {("GRU", 4.0), ("LSTM", 4.0)}


def _mlp():
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    return model, opt, A.compile(_sgd_step(model, opt, F.cross_entropy))


def test_a_scheduler_changing_lr_takes_effect():
    model, opt, step = _mlp()
    x, y = A.randn(4, 5), A.tensor([0, 1, 2, 1])
    for _ in range(4):
        step(x, y)
    assert step.replays == 1
    opt.param_groups[0]["lr"] = 0.0  # what a scheduler does
    before = [p.detach().numpy().copy() for p in model.parameters()]
    for _ in range(3):
        step(x, y)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)


def test_training_flags_are_guarded():
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    twin = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    twin.load_state_dict(model.state_dict())
    out = A.compile(lambda x: model(x).sum())
    x = A.randn(6, 5)
    for _ in range(5):
        out(x)
    model.eval()
    twin.eval()
    np.testing.assert_array_equal(out(x).detach().numpy(), twin(x).sum().detach().numpy())


def test_a_new_input_shape_records_a_new_schedule():
    model, opt, step = _mlp()
    for m in (4, 4, 4, 4, 6, 6, 6, 6):
        step(A.randn(m, 5), A.tensor(np.arange(m) % 3))
    assert step.replays == 2
    assert step.schedule(A.randn(6, 5), A.tensor(np.arange(6) % 3)) is not None


def test_data_dependent_control_flow_falls_back_to_eager_with_one_warning():
    w = A.tensor([1.0, -2.0], requires_grad=True)

    def step(x):
        y = (w * x).sum()
        return y * 2 if y.item() > 0 else y * 3  # a host read: the replay checks its value

    compiled = A.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [compiled(A.tensor([v, 1.0])).item() for v in [5, 5, 5, 5, 0, 5, 0]]
    assert results == [step(A.tensor([v, 1.0])).item() for v in [5, 5, 5, 5, 0, 5, 0]]
    assert compiled.replays >= 2
    assert len(caught) == 0


def test_returning_a_python_number_is_refused_with_a_warning():
    w = A.tensor([1.0, 2.0], requires_grad=True)
    compiled = A.compile(lambda x: (w * x).sum().item())
    with pytest.warns(RuntimeWarning, match="returns a float"):
        values = [compiled(A.tensor([1.0, float(i)])) for i in range(4)]
    assert values == [1.0, 3.0, 5.0, 7.0]


def test_a_random_factory_inside_the_step_is_not_frozen():
    w = A.tensor([1.0, 2.0], requires_grad=True)
    compiled = A.compile(lambda x: (w * x * A.randn(2)).sum())
    with pytest.warns(RuntimeWarning, match="random factory"):
        values = [compiled(A.tensor([1.0, 1.0])).item() for _ in range(5)]
    assert len(set(values)) == 5


def test_the_schedule_describes_the_replayed_calls():
    model, opt, step = _mlp()
    x, y = A.randn(4, 5), A.tensor([0, 1, 2, 1])
    for _ in range(3):
        step(x, y)
    text = step.schedule(x, y).describe()
    assert "_Linear.forward(%0" in text and "backend.sgd_update_" in text


def test_a_replay_drops_intermediates_and_draws_its_schedule():
    model, opt, step = _mlp()
    x, y = A.randn(4, 5), A.tensor([0, 1, 2, 1])
    for _ in range(3):
        step(x, y)
    schedule = step.schedule(x, y)
    frame = schedule.run([x.data, y.data])
    alive = {slot for slot, array in enumerate(frame) if array is not None}
    # Inputs, state (bound arrays), outputs and .grad only: every intermediate was dropped.
    keep = set(range(schedule.n_inputs)) | set(schedule.bound)
    keep |= {slot for _, _, slot in schedule.leaves if slot is not None}
    keep |= set(replay._output_slots(schedule.outputs))
    assert alive == keep and len(alive) < schedule.n_slots
    dot = schedule.to_dot()
    assert dot.startswith("digraph schedule") and "_Linear.forward" in dot and "frees" in dot


def test_gradient_accumulation_across_calls_respects_grads_cleared_outside():
    """A step without zero_grad adds into .grad; clearing .grad between calls must be seen."""
    A.manual_seed(0)
    model = nn.Linear(3, 2)
    twin = nn.Linear(3, 2)
    twin.load_state_dict(model.state_dict())
    opt = optim.SGD(model.parameters(), lr=0.1)
    twin_opt = optim.SGD(twin.parameters(), lr=0.1)
    compiled = A.compile(lambda x: model(x).sum().backward())
    x = A.randn(4, 3)
    for i in range(12):
        compiled(x)
        twin(x).sum().backward()
        if i % 3 == 2:  # the optimizer steps every third call, outside the step
            opt.step()
            twin_opt.step()
            opt.zero_grad(set_to_none=i > 4)  # new buffers after call 5: the guard sees it
            twin_opt.zero_grad(set_to_none=i > 4)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert compiled.replays > 0


@pytest.mark.parametrize("op", ["index", "scatter_add", "gather"])
def test_index_driven_steps_follow_a_changing_index(op):
    """Index arrays built in Python from data must never be frozen into a replay."""
    w = A.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)

    def step(index):
        if op == "index":
            picked = w[index]
        elif op == "scatter_add":
            picked = A.zeros(3, 4).scatter_add(1, index.reshape(1, -1).expand(3, -1), w[:, :3])
        else:
            picked = w.gather(1, index.reshape(1, -1).expand(3, -1))
        loss = (picked * picked).sum()
        loss.backward()
        return loss

    compiled = A.compile(step)
    indices = [
        A.tensor(np.array(i)) for i in ([0, 1, 2], [0, 1, 2], [0, 1, 2], [2, 0, 1], [1, 1, 0])
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = []
        for index in indices:
            w.grad = None
            got.append((compiled(index).item(), w.grad.numpy().copy()))
    for index, (value, grad) in zip(indices, got):
        w.grad = None
        assert step(index).item() == value
        np.testing.assert_array_equal(w.grad.numpy(), grad)


def test_a_step_whose_leaves_have_hooks_runs_eagerly():
    w = A.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append(1))
    compiled = A.compile(lambda x: (w * x).sum().backward())
    with pytest.warns(RuntimeWarning, match="gradient hooks"):
        for _ in range(5):
            compiled(A.tensor([1.0, 1.0]))
    assert len(seen) == 5 and compiled.replays == 0


def test_class_target_checks_do_not_read_the_host_in_a_replay():
    """cross_entropy's range check is a *check* (no host read: a CUDA graph can capture it);
    a bad target in a replay stops it before any write and eager raises its own message."""
    model, opt, step = _mlp()
    x, y = A.randn(4, 5), A.tensor([0, 1, 2, 1])
    for _ in range(4):
        step(x, y)
    schedule = step.schedule(x, y)
    text = schedule.describe()
    assert "check any" in text and "host read" not in text
    assert not schedule.host_reads
    before = [p.detach().numpy().copy() for p in model.parameters()]
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        step(x, A.tensor([0, 7, 2, 1]))
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)
    replays = step.replays
    for _ in range(3):  # the failed eager call cleared .grad: a guard re-records, then replays
        step(x, y)
    assert step.replays > replays


def test_calls_on_fresh_constants_are_folded_but_filled_constants_are_not():
    """The backward seed's broadcast (Unreduce of the ones) is folded into a constant; a
    factory's zeros that the step fills in place stay a computation, so new inputs count."""
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = A.compile(_sgd_step(model, opt, F.mse_loss))  # a mean: its backward is an Unreduce
    x, y = A.randn(4, 5), A.randn(4, 3)
    for _ in range(3):
        step(x, y)
    schedule = step.schedule(x, y)
    assert schedule.folded and "Unreduce" not in schedule.describe()

    w = A.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def filled(x):
        buf = A.zeros(3)
        buf.add_(x)
        loss = (w * (buf * 2.0)).sum()
        loss.backward()
        return loss

    compiled = A.compile(filled)
    for i in range(7):
        x = A.tensor([float(i), 1.0, -float(i)])
        w.grad = None
        got = compiled(x).item()
        got_grad = w.grad.numpy().copy()
        w.grad = None
        assert got == filled(x).item()
        np.testing.assert_array_equal(got_grad, w.grad.numpy())
