"""Gradient checking of a deep network (course 2, week 1), catching a wrong backward rule.

The course's recipe (notes 001 and 002, "Gradient checking"): put every parameter W[1], b[1],
..., W[L], b[L] into one vector theta, and for each component i compute the two-sided
difference

    gradapprox[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps),   eps = 1e-7

then compare it with backprop's gradient:

    difference = ||grad - gradapprox|| / (||grad|| + ||gradapprox||)

The notes: about 1e-7 is great, 1e-3 means worry. Everything here runs in float64 (in float32
the rounding of J alone, ~1e-7 relative, would swamp a 1e-7 step).

The network is the course's assignment: X of shape (3 examples, 4 features), layers
[4, 5, 3, 1], LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID, the cross-entropy cost.
It is checked three times: built from chalkgrad's own layers; with each LINEAR replaced by a
hand-written ``autograd.Function`` whose backward applies the course's formulas
(dW = dZ^T A_prev, db = sum(dZ), dA_prev = dZ W); and with a deliberately wrong backward in
the second layer (``dW2`` doubled, the course's own planted bug). The first two pass; the third
fails with a large difference, and the per-parameter breakdown points at ``W2``, as the notes
advise ("look at components to try to identify the bug").

    python -m examples.gradient_checking [--device cuda]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import nn
import nn.functional as F
from examples import common

EPSILON = 1e-7
THRESHOLD = 1e-7
LAYERS = (4, 5, 3, 1)


class CourseLinear(A.Function):
    """``Z = A_prev W^T + b`` with the course's hand-derived backward.

    Shape: a_prev (m, n_in), weight (n_out, n_in), bias (n_out,) -> (m, n_out)
    """

    @staticmethod
    def forward(ctx, a_prev, weight, bias):
        ctx.save_for_backward(a_prev, weight)
        return a_prev @ weight.T + bias

    @staticmethod
    def backward(ctx, grad_out):
        a_prev, weight = ctx.saved_tensors
        grad_weight = grad_out.T @ a_prev  # dW = dZ^T A_prev (the 1/m is inside the cost)
        grad_bias = grad_out.sum(dim=0)  # db = sum over examples of dZ
        grad_a_prev = grad_out @ weight  # dA_prev = dZ W
        return grad_a_prev, grad_weight, grad_bias


class BuggyLinear(CourseLinear):
    """The course's planted bug: ``dW2 = 1./m * np.dot(dZ2, A1.T) * 2``."""

    @staticmethod
    def backward(ctx, grad_out):
        grad_a_prev, grad_weight, grad_bias = CourseLinear.backward(ctx, grad_out)
        return grad_a_prev, grad_weight * 2, grad_bias


class DeepNet(nn.Module):
    """The course's [4, 5, 3, 1] network; ``linear_ops[l]`` computes layer l's LINEAR
    (None: chalkgrad's ``F.linear``). The final sigmoid is applied by the cost.

    Shape: (m, 4) -> (m, 1) logits
    """

    def __init__(self, layers=LAYERS, linear_ops=None, device=None, dtype=None):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Linear(n_in, n_out, device=device, dtype=dtype)
            for n_in, n_out in zip(layers[:-1], layers[1:])
        )
        self.linear_ops = linear_ops or [None] * len(self.layers)

    def forward(self, x):
        for index, (layer, op) in enumerate(zip(self.layers, self.linear_ops)):
            if op is None:
                x = F.linear(x, layer.weight, layer.bias)
            else:
                x = op.apply(x, layer.weight, layer.bias)
            if index < len(self.layers) - 1:
                x = F.relu(x)
        return x


def gradient_check(model, X, Y, epsilon=EPSILON):
    """The course's ``gradient_check_n``. Returns (difference, {parameter name: difference}).

    Shape: X (m, n_x), Y (m, 1) -> a float and a dict of floats
    """
    names = [name for name, _ in model.named_parameters()]
    params = list(model.parameters())

    def cost():
        return F.binary_cross_entropy_with_logits(model(X), Y)

    model.zero_grad()
    cost().backward()
    grad = A.cat([p.grad.reshape(-1) for p in params])

    theta = nn.utils.parameters_to_vector(params).detach().clone()
    approx = []
    with A.no_grad():
        for i in range(theta.numel()):
            original = theta[i].item()
            theta[i] = original + epsilon
            nn.utils.vector_to_parameters(theta, params)
            cost_plus = cost().item()
            theta[i] = original - epsilon
            nn.utils.vector_to_parameters(theta, params)
            cost_minus = cost().item()
            theta[i] = original
            approx.append((cost_plus - cost_minus) / (2 * epsilon))
        nn.utils.vector_to_parameters(theta, params)
    gradapprox = A.tensor(approx, dtype=grad.dtype, device=grad.device)

    per_parameter = {}
    offset = 0
    for name, p in zip(names, params):
        n = p.numel()
        per_parameter[name] = _difference(
            grad[offset : offset + n], gradapprox[offset : offset + n]
        )
        offset += n
    return _difference(grad, gradapprox), per_parameter


def course_name(name):
    """``layers.1.weight`` -> ``W2``: the course numbers layers from 1."""
    _, index, kind = name.split(".")
    return f"{'W' if kind == 'weight' else 'b'}{int(index) + 1}"


def _difference(grad, gradapprox):
    with A.no_grad():
        numerator = (grad - gradapprox).norm()
        denominator = grad.norm() + gradapprox.norm()
        return (numerator / denominator).item()


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    args = common.parse_args(parser, argv)
    dtype = A.float64
    # The course's test case: 3 random examples with 4 features, labels [1, 1, 0].
    X = A.randn(3, 4, dtype=dtype).to(args.device)
    Y = A.tensor([[1.0], [1.0], [0.0]], dtype=dtype, device=args.device)

    variants = {
        "chalkgrad layers (F.linear)": None,
        "course backward (custom Function)": [CourseLinear] * 3,
        "bug: dW2 doubled": [CourseLinear, BuggyLinear, CourseLinear],
    }
    reference = DeepNet(device=args.device, dtype=dtype)
    results, rows = {}, []
    for name, ops in variants.items():
        model = DeepNet(linear_ops=ops, device=args.device, dtype=dtype)
        model.load_state_dict(reference.state_dict())  # the same parameters for all three
        difference, per_parameter = gradient_check(model, X, Y)
        per_parameter = {course_name(k): v for k, v in per_parameter.items()}
        results[name] = {"difference": difference, "per_parameter": per_parameter}
        worst = max(per_parameter, key=per_parameter.get)
        verdict = "passes" if difference < THRESHOLD else "FAILS: backward is wrong"
        rows.append([name, f"{difference:.2e}", verdict, f"{worst} ({per_parameter[worst]:.1e})"])

    common.print_table(
        f"Gradient checking, [4, 5, 3, 1] ReLU net, float64, eps {EPSILON:g}, pass below "
        f"{THRESHOLD:g}",
        ["backward", "difference", "verdict", "worst parameter"],
        rows,
    )
    buggy = results["bug: dW2 doubled"]["per_parameter"]
    print("per-parameter differences with the bug (look at components):")
    for name, value in buggy.items():
        print(f"  {name}: {value:.2e}")

    # autograd.gradcheck runs the same kind of test on one op and names what is wrong.
    weight = A.randn(3, 5, dtype=dtype).to(args.device).requires_grad_()
    bias = A.randn(3, dtype=dtype).to(args.device).requires_grad_()
    a_prev = A.randn(4, 5, dtype=dtype).to(args.device).requires_grad_()
    try:
        A.gradcheck(lambda a, w, b: BuggyLinear.apply(a, w, b), (a_prev, weight, bias))
        gradcheck_message = None
    except Exception as error:  # GradcheckError: what the library reports for a wrong rule
        gradcheck_message = str(error).splitlines()[0]
    print(f"\nautograd.gradcheck on BuggyLinear: {gradcheck_message or 'passed'}")
    path = common.save_bars(
        args.out / "gradient_checking.png",
        {name: r["per_parameter"] for name, r in results.items()},
        ylabel="||grad - gradapprox|| / (||grad|| + ||gradapprox||)",
        title=f"Gradient checking per parameter (dashed: {THRESHOLD:g})",
        logy=True,
        hline=THRESHOLD,
    )
    return {
        "differences": {name: r["difference"] for name, r in results.items()},
        "buggy_per_parameter": buggy,
        "gradcheck_message": gradcheck_message,
        "files": [path],
    }


if __name__ == "__main__":
    main()
