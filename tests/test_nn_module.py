"""nn.Module and the containers: registration, traversal, state_dict (PyTorch keys, loading a
PyTorch checkpoint, strict errors that leave the module unchanged, save/load), modes, .to, hooks,
repr, the viz record, float32 end to end, and nn.utils.
"""

import copy
import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
import nn.functional as F
from autograd.scopes import module_calls

FIXTURES = Path(__file__).parent / "fixtures"
REF = np.load(FIXTURES / "nn_reference.npz")
META = json.loads((FIXTURES / "nn_reference.json").read_text())


class Net(nn.Module):
    """The same architecture as the fixture script's torch ``Net``."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Linear(4, 8, bias=False),
            nn.LayerNorm(8),
            nn.GELU(approximate="tanh"),
            nn.Dropout(0.25),
        )
        self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)] + [nn.Tanh()])
        self.heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "emb": nn.Embedding(10, 8, 0)})
        self.bn = nn.BatchNorm2d(3, momentum=None, affine=False)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        x = self.features(x)
        for block in self.blocks:
            x = block(x)
        return self.heads["cls"](self.act(x))


def fixture_model():
    return nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3)
    )


def torch_state_dict():
    prefix = "model/sd/"
    return OrderedDict((key, REF[prefix + key]) for key in META["model_keys"])


def snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


# --------------------------------------------------------------------------- registration
def test_names_and_order_match_pytorch():
    net = Net()
    assert list(net.state_dict()) == META["net_keys"]
    assert [name for name, _ in net.named_modules()] == META["net_named_modules"]
    assert [name for name, _ in net.named_parameters()] == META["net_param_names"]
    assert [name for name, _ in net.named_buffers()] == META["net_buffer_names"]
    assert [name for name, _ in net.named_children()] == [
        "features",
        "blocks",
        "heads",
        "bn",
        "act",
    ]
    assert len(list(net.parameters(recurse=False))) == 0
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())


def test_registration_by_assignment_and_errors():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(A.ones(2))
            self.register_buffer("steps", A.zeros(1))
            self.register_buffer("scratch", A.zeros(3), persistent=False)
            self.plain = A.ones(2)  # a plain tensor attribute is not registered

    block = Block()
    assert [n for n, _ in block.named_parameters()] == ["w"]
    assert [n for n, _ in block.named_buffers()] == ["steps", "scratch"]
    assert list(block.state_dict()) == ["w", "steps"]  # non-persistent buffers are excluded
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        block.w = A.ones(2)
    block.w = None
    assert block.w is None and list(block.state_dict()) == ["steps"]
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        block.register_buffer("plain", A.ones(1))
    with pytest.raises(KeyError, match=r'contain "\."'):
        block.register_parameter("a.b", nn.Parameter(A.ones(1)))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'q'"):
        block.register_parameter("q", A.ones(1))
    del block.steps
    assert "steps" not in dict(block.named_buffers())
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        block.missing

    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Forgot()
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(A.ones(1))


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_parameter_basics():
    p = nn.Parameter(A.ones(2, 3))
    assert p.requires_grad and p.is_leaf and isinstance(p, A.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(A.ones(2), requires_grad=False).requires_grad
    data = A.zeros(3)
    assert nn.Parameter(data).data is data.data  # shares memory, as PyTorch
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(A.tensor([1, 2]))
    y = (p * 2).sum()
    y.backward()
    np.testing.assert_array_equal(p.grad.numpy(), 2.0)


# ---------------------------------------------------------------------------- state_dict
def test_pytorch_state_dict_loads_and_reproduces_outputs(device):
    model = fixture_model().to(device)
    assert list(model.state_dict()) == META["model_keys"]
    result = model.load_state_dict(torch_state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    model.eval()
    out = model(A.tensor(REF["model/x"], device=device))
    np.testing.assert_allclose(out.detach().numpy(), REF["model/out"], rtol=1e-5, atol=1e-6)
    assert model[1].num_batches_tracked.item() == 3
    assert model[1].num_batches_tracked.dtype == A.int64
    assert model[0].weight.dtype == A.float32  # float64 arrays are cast into float32 params


def test_state_dict_round_trip_through_save_and_load(tmp_path, device):
    A.manual_seed(1)
    model = fixture_model().to(device)
    model(A.randn(16, 4, device=device))  # move BatchNorm's running statistics
    model.eval()
    x = A.randn(5, 4, device=device)
    expected = model(x).detach().numpy()
    path = tmp_path / "model.chalk"
    A.save(model.state_dict(), path)
    A.manual_seed(2)
    fresh = fixture_model().to(device)
    fresh.load_state_dict(A.load(path))
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).detach().numpy(), expected)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key].numpy(), value.numpy())
    # the state_dict shares memory with the module (detached)
    sd = model.state_dict()
    assert sd["0.weight"].data is model[0].weight.data and not sd["0.weight"].requires_grad


def test_strict_errors_leave_the_module_unchanged():
    model = fixture_model()
    before = snapshot(model)
    bad = {k: v + 1.0 for k, v in torch_state_dict().items()}
    bad["4.weight"] = np.zeros((2, 8))  # a shape mismatch, after good keys in order
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert "Error(s) in loading state_dict for Sequential" in message
    assert "size mismatch for 4.weight: copying a param with shape (2, 8)" in message
    assert "the shape in current model is (3, 8)" in message
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])

    partial = {k: v + 1.0 for k, v in torch_state_dict().items()}
    del partial["1.running_var"]
    partial["extra.weight"] = np.ones(2)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(partial)
    message = str(info.value)
    assert 'Missing key(s) in state_dict: "1.running_var"' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in message
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])

    # strict=False loads what matches and reports the rest
    result = model.load_state_dict(partial, strict=False)
    assert result == (["1.running_var"], ["extra.weight"])
    assert result.missing_keys == ["1.running_var"]
    np.testing.assert_allclose(model[0].weight.detach().numpy(), partial["0.weight"], rtol=1e-6)
    np.testing.assert_array_equal(model[1].running_var.numpy(), before["1.running_var"])

    # a shape mismatch raises even when not strict
    with pytest.raises(RuntimeError, match="size mismatch for 0.bias"):
        model.load_state_dict({"0.bias": np.zeros(5)}, strict=False)
    with pytest.raises(RuntimeError, match='While copying the parameter named "0.bias"'):
        model.load_state_dict({"0.bias": [0.0] * 8}, strict=False)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        model.load_state_dict([1, 2])


def test_loading_keeps_parameter_identity():
    model = fixture_model()
    params = list(model.parameters())
    model.load_state_dict(torch_state_dict())
    assert all(a is b for a, b in zip(params, model.parameters()))


# --------------------------------------------------------------------------- modes, to
def test_train_eval_propagate_and_change_dropout_and_batchnorm(device):
    model = fixture_model().to(device)
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    x = A.randn(8, 4, device=device)
    # eval: deterministic, running stats untouched
    first = model(x).detach().numpy()
    np.testing.assert_array_equal(model(x).detach().numpy(), first)
    assert model[1].num_batches_tracked.item() == 0
    model.train()
    model(x)
    assert model[1].num_batches_tracked.item() == 1
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train("yes")


def test_to_casts_in_place_and_keeps_identity(device):
    model = fixture_model()
    params = list(model.parameters())
    model(A.randn(4, 4)).sum().backward()
    assert model.to(device) is model
    assert model.double() is model
    after = list(model.parameters())
    assert all(a is b for a, b in zip(params, after))  # optimizers keep working
    assert all(isinstance(p, nn.Parameter) and p.dtype == A.float64 for p in after)
    assert all(p.grad.dtype == A.float64 for p in after)
    assert model[1].running_mean.dtype == A.float64
    assert model[1].num_batches_tracked.dtype == A.int64  # only floating tensors are cast
    out = model(A.randn(3, 4, dtype=A.float64, device=device))
    assert out.dtype == A.float64
    model.to(A.float32).cpu()
    assert all(p.dtype == A.float32 and p.device == "cpu" for p in model.parameters())
    with pytest.raises(TypeError, match="only accepts floating point"):
        model.to(A.int64)


def test_zero_grad_requires_grad_apply_and_deepcopy():
    model = fixture_model()
    model(A.randn(4, 4)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    # a gradient that is a read-only broadcast view can still be zeroed in place
    bias = model[0].bias
    (bias * 1.0).sum().backward()
    model.zero_grad(set_to_none=False)
    assert not bias.grad.numpy().any()

    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "Sequential"]

    clone = copy.deepcopy(model)
    assert clone[0].weight is not model[0].weight and isinstance(clone[0].weight, nn.Parameter)
    np.testing.assert_array_equal(clone[0].weight.numpy(), model[0].weight.numpy())
    with A.no_grad():
        clone[0].weight.fill_(0.0)
    assert model[0].weight.numpy().any()


# ------------------------------------------------------------------------ hooks and viz
def test_forward_hooks_and_module_call_record():
    layer = nn.Linear(3, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0.0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1.0)
    out = layer(A.randn(4, 3, requires_grad=True))
    np.testing.assert_allclose(
        out.detach().numpy(), np.tile(layer.bias.detach().numpy() + 1, (4, 1))
    )
    assert calls == [(4, 2)]
    pre.remove()
    post.remove()
    x = A.randn(4, 3, requires_grad=True)
    out = layer(x)
    assert calls == [(4, 2)]
    recorded = module_calls(out.grad_fn)
    assert recorded and recorded[0][0] is layer

    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    out = model(x)
    owners = [m for m, _ in module_calls(out.grad_fn)]
    assert owners == [model[1], model]  # innermost first


# ---------------------------------------------------------------------------------- repr
def test_repr_matches_pytorch():
    assert repr(Net()) == META["net_repr"]
    layers = {
        "Linear": nn.Linear(3, 2),
        "Identity": nn.Identity(),
        "Flatten": nn.Flatten(),
        "ReLU": nn.ReLU(),
        "LeakyReLU": nn.LeakyReLU(),
        "ELU": nn.ELU(alpha=0.5),
        "GELU": nn.GELU(),
        "Sigmoid": nn.Sigmoid(),
        "Tanh": nn.Tanh(),
        "Softmax": nn.Softmax(dim=1),
        "LogSoftmax": nn.LogSoftmax(dim=-1),
        "Dropout": nn.Dropout(),
        "BatchNorm1d": nn.BatchNorm1d(5),
        "BatchNorm2d": nn.BatchNorm2d(2, eps=1e-3, momentum=0.2),
        "LayerNorm": nn.LayerNorm((2, 3), elementwise_affine=False),
        "Embedding": nn.Embedding(7, 2),
        "MSELoss": nn.MSELoss(),
        "CrossEntropyLoss": nn.CrossEntropyLoss(label_smoothing=0.1),
    }
    for name, layer in layers.items():
        assert repr(layer) == META["layer_reprs"][name], name
    assert repr(Net().features[1:3]) == META["sequential_slice_repr"]
    assert repr(nn.ModuleList()) == META["empty_modulelist_repr"]
    ordered = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert repr(ordered) == META["ordered_sequential_repr"]


# ---------------------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_mutation():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    sliced = seq[1:]
    assert isinstance(sliced, nn.Sequential) and list(sliced) == layers[1:]
    assert list(sliced._modules) == ["1", "2"]  # keys kept, as PyTorch
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and seq[1] is layers[2]
    seq[0] = nn.Linear(2, 2)
    assert seq[0] is not layers[0]
    out = seq(A.randn(5, 2))
    assert out.shape == (5, 1) and (out.detach().numpy() > 0).all()
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]


def test_modulelist_and_moduledict():
    blocks = nn.ModuleList([nn.Linear(2, 2)])
    blocks.append(nn.ReLU())
    blocks.extend([nn.Linear(2, 3)])
    blocks += [nn.Tanh()]
    assert len(blocks) == 4 and isinstance(blocks[-1], nn.Tanh)
    assert [n for n, _ in blocks.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(blocks[1:3], nn.ModuleList) and len(blocks[1:3]) == 2
    blocks.insert(0, nn.Identity())
    assert isinstance(blocks[0], nn.Identity) and isinstance(blocks[1], nn.Linear)
    del blocks[0]
    assert isinstance(blocks[0], nn.Linear)
    with pytest.raises(TypeError, match="should be called with an iterable"):
        blocks.extend(nn.Linear(2, 2))

    heads = nn.ModuleDict({"a": nn.Linear(2, 2)})
    heads["b"] = nn.Linear(2, 1)
    heads.update([("c", nn.ReLU())])
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert list(heads.keys()) == ["a", "b", "c"]
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert isinstance(heads.pop("c"), nn.ReLU) and "c" not in heads


# ------------------------------------------------------------------------ float32 end to end
def test_float32_model_stays_float32(device):
    model = nn.Sequential(
        nn.Linear(6, 16),
        nn.BatchNorm1d(16),
        nn.GELU(),
        nn.Dropout(0.2),
        nn.Linear(16, 8),
        nn.LayerNorm(8),
        nn.ELU(),
        nn.Linear(8, 4),
    ).to(device)
    x = A.randn(10, 6, device=device)
    target = A.randint(0, 4, (10,), device=device)
    assert target.dtype == A.int64
    activations = []
    for layer in model:
        layer.register_forward_hook(lambda m, args, out: activations.append(out.dtype))
    loss = F.cross_entropy(model(x), target, label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == A.float32
    assert activations and all(dtype == A.float32 for dtype in activations)
    for name, p in model.named_parameters():
        assert p.dtype == A.float32 and p.grad.dtype == A.float32, name
    for name, b in model.named_buffers():
        assert b.dtype == (A.int64 if name.endswith("num_batches_tracked") else A.float32), name


def test_training_reduces_the_loss(device):
    # a two-moons-like toy problem: a few steps of plain SGD on the module's parameters
    A.manual_seed(0)
    x = A.randn(64, 2, device=device)
    y = ((x[:, 0] * x[:, 1]) > 0).long()
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).to(device)
    losses = []
    for _ in range(60):
        model.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        with A.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * 0.5)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------------------------- utils
def test_clip_grad_norm_matches_the_formula(device):
    a = nn.Parameter(A.tensor([3.0, 4.0], device=device))
    b = nn.Parameter(A.tensor([[12.0]], device=device))
    a.grad = A.tensor([3.0, 4.0], device=device)
    b.grad = A.tensor([[12.0]], device=device)
    total = nn.utils.clip_grad_norm_([a, b], max_norm=6.5)
    np.testing.assert_allclose(total.item(), 13.0, rtol=1e-6)
    scale = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [3.0 * scale, 4.0 * scale], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [[12.0 * scale]], rtol=1e-6)
    # below the limit: unchanged; the inf norm is the largest magnitude
    total = nn.utils.clip_grad_norm_(a, max_norm=100.0, norm_type="inf")
    np.testing.assert_allclose(total.item(), 4.0 * scale, rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [3.0 * scale, 4.0 * scale], rtol=1e-6)
    a.grad = A.tensor([float("nan"), 1.0], device=device)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(a, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_on_broadcast_gradients(device):
    # d(sum(W x + b))/db is a broadcast: it must still be clipped in place without error
    layer = nn.Linear(3, 2).to(device)
    layer(A.ones(5, 3, device=device)).sum().backward()
    total = nn.utils.clip_grad_norm_(layer.parameters(), 1.0)
    grads = np.concatenate([p.grad.numpy().ravel() for p in layer.parameters()])
    np.testing.assert_allclose(np.linalg.norm(grads), 1.0, rtol=1e-5)
    assert total.item() > 1.0


def test_clip_grad_value_and_vector_round_trip(device):
    layer = nn.Linear(3, 2).to(device)
    layer(A.randn(5, 3, device=device) * 10).sum().backward()
    nn.utils.clip_grad_value_(layer.parameters(), 0.5)
    for p in layer.parameters():
        assert np.abs(p.grad.numpy()).max() <= 0.5
    vec = nn.utils.parameters_to_vector(layer.parameters())
    assert vec.shape == (8,)
    np.testing.assert_array_equal(vec.detach().numpy()[:6], layer.weight.detach().numpy().ravel())
    nn.utils.vector_to_parameters(A.arange(8, device=device).float(), layer.parameters())
    np.testing.assert_array_equal(layer.bias.detach().numpy(), [6.0, 7.0])
    with pytest.raises(RuntimeError, match=r"vec of shape \(5,\) does not match"):
        nn.utils.vector_to_parameters(A.zeros(5, device=device), layer.parameters())
