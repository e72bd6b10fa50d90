"""CuPy's API, checked without a GPU: every name chalkgrad asks of ``xp`` must exist in CuPy.

CuPy imports on a machine without a GPU (``cupy.is_available()`` is then False), so its names can
be checked anywhere: install the test extra (``pip install -e '.[cupy-check]'``, or ``make
cupy-check``). Without CuPy these tests skip, saying so; ``make gpu-check`` runs them too.

What is checked, by reading the source of autograd/, backends/, nn/ and optim/ with ``ast``:
- every attribute chain on an array module: ``xp.<name>``, ``ctx.xp.<name>``, ``self.xp.<a>.<b>``,
  ``getattr(xp, "<name>")``, and the ``cupy.<...>`` / ``cupyx.<...>`` chains of the CUDA backend;
- every method called on a backend's random generator (``backend.rng.<method>``);
- the backend duties: CuPyBackend implements each duty the Backend interface leaves abstract;
- the strict device's array methods and generator methods are all CuPy's (so what passes on the
  strict device is not relying on a NumPy-only method);
- kernels written as ``ElementwiseKernel`` / ``ReductionKernel`` source are constructed, which
  parses their parameter lists.

What cannot be checked without a GPU: compiling kernel source (NVRTC needs a CUDA driver),
launching anything, CuPy's numerics and dtype rules at run time, atomics (``scatter_add``),
memory, streams and synchronisation. Names computed at run time (``getattr(xp, op)``) are not
seen here; the strict device catches those instead, because where CuPy is installed its ``xp``
offers only the names CuPy has. ``make gpu-check`` runs the whole suite on a real GPU.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest
import strict_backend

import backends

cupy = pytest.importorskip(
    "cupy",
    reason="CuPy is not installed: pip install -e '.[cupy-check]' (it imports without a GPU) "
    "checks CuPy's API here; make gpu-check runs it on a GPU machine",
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograd", "backends", "nn", "optim")
HOST_SIDE = ("autograd/data/",)  # host-side data loading: NumPy by design (as test_layering)
KERNEL_CLASSES = ("ElementwiseKernel", "ReductionKernel", "RawKernel", "RawModule")


def _sources() -> list[Path]:
    paths = (p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    return sorted(p for p in paths if not p.relative_to(ROOT).as_posix().startswith(HOST_SIDE))


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when the chain starts at a call or a subscript."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return names[::-1]


def _array_module_names(chain: list[str]) -> tuple[str, list[str]] | None:
    """("cupy", [...]) for ``xp.<...>`` / ``<x>.xp.<...>`` / ``cupy.<...>``; ("cupyx", [...])."""
    if chain[0] in ("cupy", "cupyx"):
        return chain[0], chain[1:]
    if "xp" in chain[:-1]:
        return "cupy", chain[chain.index("xp") + 1 :]
    return None


def find_uses(tree: ast.AST) -> dict[str, list]:
    """What one module asks of CuPy: array-module chains, generator methods, kernel sources."""
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    module_uses, rng_uses, guarded, kernels = [], [], set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(parents.get(node), ast.Attribute):
            chain = _chain(node)
            if chain is None:
                continue
            found = _array_module_names(chain)
            if found is not None and found[1]:
                module_uses.append((node.lineno, found[0], found[1]))
            elif "rng" in chain[:-1]:
                rng_uses.append((node.lineno, chain[chain.index("rng") + 1]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            literal = len(node.args) == 2 and isinstance(node.args[1], ast.Constant)
            target = _chain(node.args[0]) if node.args else None
            if node.func.id == "getattr" and literal and target:
                found = _array_module_names([*target, node.args[1].value])
                if found is not None:
                    module_uses.append((node.lineno, found[0], found[1]))
            if node.func.id == "hasattr" and literal and target and target[-1] in ("rng", "xp"):
                # hasattr(rng, "permutation") / hasattr(xp, "errstate"): a guarded fallback.
                guarded.add((target[-1], node.args[1].value))
        if isinstance(node, ast.Call):
            func = _chain(node.func)
            if func is not None and func[-1] in KERNEL_CLASSES:
                kernels.append((node.lineno, func[-1], node))
    rng_uses = [(line, name) for line, name in rng_uses if ("rng", name) not in guarded]
    module_uses = [u for u in module_uses if ("xp", u[2][0]) not in guarded or u[1] != "cupy"]
    return {"module": module_uses, "rng": rng_uses, "kernels": kernels}


def _constants(tree: ast.Module) -> dict[str, object]:
    """Module-level ``NAME = <literal>`` assignments, to resolve kernel sources kept in names."""
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return values


def _literal(node: ast.AST, constants: dict) -> object:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return ast.literal_eval(node)


def _resolve(root: object, names: list[str]) -> bool:
    obj = root
    for name in names:
        if not hasattr(obj, name):
            return False
        obj = getattr(obj, name)
    return True


USES = {
    path.relative_to(ROOT).as_posix(): find_uses(ast.parse(path.read_text())) for path in _sources()
}
KERNELS = [
    (where, line, kind, node)
    for where, uses in USES.items()
    for line, kind, node in uses["kernels"]
]


def test_the_walk_sees_the_array_module_everywhere_it_is_used():
    names = {".".join(n) for uses in USES.values() for _, _, n in uses["module"]}
    # A sanity check that the walk is not blind: a few names every backend needs.
    assert {"zeros", "exp", "where", "asnumpy", "cuda.Device"} <= names, sorted(names)


def test_every_array_module_name_exists_in_cupy():
    import cupyx

    roots = {"cupy": cupy, "cupyx": cupyx}
    missing = [
        f"{where}:{line}: {root}.{'.'.join(names)}"
        for where, uses in USES.items()
        for line, root, names in uses["module"]
        if not _resolve(roots[root], names)
    ]
    assert not missing, f"not in CuPy {cupy.__version__}:\n" + "\n".join(missing)


def test_generator_methods_exist_in_cupy():
    generator = cupy.random.Generator
    missing = [
        f"{where}:{line}: rng.{name}"
        for where, uses in USES.items()
        for line, name in uses["rng"]
        if not hasattr(generator, name)
    ]
    assert not missing, "not on cupy.random.Generator:\n" + "\n".join(missing)
    assert strict_backend._StrictGenerator.METHODS <= set(dir(generator))


def test_the_cuda_backend_fulfils_every_duty():
    from backends.cupy_backend import CuPyBackend

    # A duty is abstract when the interface's method raises NotImplementedError.
    abstract = []
    for name, member in vars(backends.Backend).items():
        if inspect.isfunction(member) and not name.startswith("__"):
            source = ast.parse(textwrap.dedent(inspect.getsource(member)))
            raised = [ast.dump(n) for n in ast.walk(source) if isinstance(n, ast.Raise)]
            if any("NotImplementedError" in r for r in raised):
                abstract.append(name)
    assert {"seed", "to_host", "from_host", "scatter_add"} <= set(abstract)
    assert not [name for name in abstract if name not in vars(CuPyBackend)]
    assert "synchronize" in vars(CuPyBackend)  # a no-op on the CPU, a real wait on a GPU


def test_strict_arrays_offer_only_cupy_array_methods():
    ndarray = set(dir(cupy.ndarray))
    assert strict_backend.ARRAY_METHODS <= ndarray, strict_backend.ARRAY_METHODS - ndarray
    assert strict_backend.ARRAY_ATTRIBUTES <= ndarray


def test_the_strict_namespace_refuses_numpy_only_names():
    xp = backends.get_backend(strict_backend.DEVICE).xp
    for numpy_only in ("errstate", "nditer", "busday_count"):
        if _resolve(cupy, numpy_only.split(".")):
            continue  # CuPy grew it
        with pytest.raises(AttributeError, match="not in CuPy"):
            obj = xp
            for name in numpy_only.split("."):
                obj = getattr(obj, name)


@pytest.mark.parametrize(
    "where, line, kind, node",
    KERNELS or [(None, 0, None, None)],
    ids=[f"{w}:{line}" for w, line, _, _ in KERNELS] or ["none"],
)
def test_kernel_sources_construct(where, line, kind, node):
    if where is None:
        pytest.skip("no ElementwiseKernel / ReductionKernel / RawKernel source in chalkgrad yet")
    # Construction parses an ElementwiseKernel's / ReductionKernel's parameter lists; compiling
    # the CUDA source needs a driver, so RawKernel / RawModule source is only checked on a GPU.
    constants = _constants(ast.parse((ROOT / where).read_text()))
    try:
        args = [_literal(a, constants) for a in node.args]
        kwargs = {k.arg: _literal(k.value, constants) for k in node.keywords}
    except ValueError:
        pytest.skip(f"{where}:{line}: {kind} source is built at run time; checked on a GPU only")
    getattr(cupy, kind)(*args, **kwargs)


def test_kernel_check_catches_a_broken_parameter_list():
    good = "import cupy\nk = cupy.ElementwiseKernel('float32 x', 'float32 y', 'y = 2 * x', 'k')\n"
    bad = good.replace("'float32 x'", "'float32 x y'")
    for source, ok in ((good, True), (bad, False)):
        tree = ast.parse(source)
        ((_, kind, node),) = find_uses(tree)["kernels"]
        args = [_literal(a, _constants(tree)) for a in node.args]
        if ok:
            getattr(cupy, kind)(*args)
        else:
            with pytest.raises(Exception, match="Unknown keyword"):
                getattr(cupy, kind)(*args)


def test_the_walk_reports_a_numpy_only_name():
    uses = find_uses(
        ast.parse("def f(ctx, a):\n    with ctx.xp.errstate(all='ignore'):\n        pass\n")
    )
    ((_, root, names),) = uses["module"]
    assert (root, names) == ("cupy", ["errstate"]) and not _resolve(cupy, names)


# Names the ops reach through getattr(xp, name) rather than xp.<name> (the walk above cannot see
# them; the strict device, narrowed to CuPy's names, also catches them at run time).
DYNAMIC = [
    "floor", "ceil", "trunc", "round", "sign",  # pointwise.Rounding
    "maximum", "minimum", "logaddexp",  # Backend.accumulate
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",  # compare
    "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
    "add", "subtract", "multiply", "divide",  # in-place updates
    "argmax", "argmin",
]  # fmt: skip


@pytest.mark.parametrize("name", DYNAMIC)
def test_names_looked_up_dynamically_exist_in_cupy(name):
    assert hasattr(cupy, name)
