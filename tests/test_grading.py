"""dlcourse.grading: what the hidden tests of the assignments rely on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import torch

from dlcourse import grading, mlp, perceptron
from dlcourse.grading import ShortcutError, call_student, case, check_function, forbidden


def _predict_cases(n=30, seed=0):
    def make(rng):
        n_, d = rng.integers(1, 8), rng.integers(1, 4)
        X = np.hstack([np.ones((n_, 1)), rng.integers(-2, 3, size=(n_, d))])
        return (rng.integers(-2, 3, size=d + 1).astype(float), X)
    return grading.random_cases(make, n=n, seed=seed)


def _student_predict(w, X):  # written independently of the reference
    return np.array([1 if sum(wi * xi for wi, xi in zip(w, x)) > 0 else 0 for x in X])


def _backward_cases(n=15, seed=0):
    def make(rng):
        sizes = [int(k) for k in rng.integers(1, 5, size=rng.integers(2, 4))]
        params = [(rng.standard_normal((m, k)), rng.standard_normal(m))
                  for k, m in zip(sizes[:-1], sizes[1:])]
        X = rng.standard_normal((int(rng.integers(1, 5)), sizes[0]))
        return (params, mlp.forward(params, X), rng.random((X.shape[0], sizes[-1])))
    return grading.random_cases(make, n=n, seed=seed)


# ---------------------------------------------------------------- the comparison
def test_reference_passes_against_itself():
    check_function(perceptron.predict, perceptron.predict, _predict_cases(),
                   forbid_reference=False)
    check_function(mlp.backward, mlp.backward, _backward_cases(), forbid_reference=False,
                   output_names=("dW", "db"))


def test_independent_correct_solution_passes_under_the_guard():
    check_function(_student_predict, perceptron.predict, _predict_cases(), name="predict")


def test_perturbed_solution_fails_with_a_french_message_naming_the_case():
    def off_by_one(w, X):
        y = _student_predict(w, X)
        if len(y) >= 4:
            y[3] = 1 - y[3]
        return y

    cases = _predict_cases()
    first = next(i for i, c in enumerate(cases, 1) if len(c.args[1]) >= 4)
    with pytest.raises(AssertionError) as err:
        check_function(off_by_one, perceptron.predict, cases, name="predict")
    msg = str(err.value)
    assert msg.startswith("La fonction « predict » ne donne pas le résultat attendu "
                          f"(cas {first} sur {len(cases)} : aléatoire n°{first})")
    assert "entrées :" in msg and "attendu :" in msg and "obtenu  :" in msg
    assert "plus grand écart à l'indice (3,)" in msg


def test_tolerances_are_applied():
    ref = lambda x: np.sin(x)  # noqa: E731
    cases = grading.random_cases(lambda rng: (rng.standard_normal(5),), n=5)
    check_function(lambda x: np.sin(x) + 1e-10, ref, cases)
    with pytest.raises(AssertionError, match="tolérance 1e-08"):
        check_function(lambda x: np.sin(x) + 1e-5, ref, cases)


def test_tuple_outputs_name_the_wrong_entry():
    def wrong_db(params, outputs, T):
        return [(dW, 2 * db) for dW, db in mlp.backward(params, outputs, T)]
    with pytest.raises(AssertionError, match=r"le résultat \(élément n°\d → db\) ne correspond pas"):
        check_function(wrong_db, mlp.backward, _backward_cases(), output_names=("dW", "db"),
                       forbid_reference=False)
    with pytest.raises(AssertionError, match=r"contient 1 valeur\(s\) au lieu de 2\.$"):
        check_function(lambda: (np.zeros(2),), lambda: (np.zeros(2), np.zeros(3)), [case()])
    with pytest.raises(AssertionError, match=r"\(élément n°1\) a la forme \(1,\) ; la forme "
                                             r"attendue est \(2,\)"):
        check_function(lambda: [(1.0,)], lambda: [(1.0, 2.0)], [case()])


class _Liar:
    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("never asked")


class _LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)


def test_objects_whose_eq_lies_are_rejected():
    cases = _predict_cases(n=3)
    with pytest.raises(AssertionError, match="objet de type _Liar : un tableau NumPy"):
        check_function(lambda w, X: _Liar(), perceptron.predict, cases, name="predict")
    # An ndarray subclass is reduced to its data: its __eq__ is never consulted.
    wrong = lambda w, X: np.full(len(X), 7.0).view(_LyingArray)  # noqa: E731
    assert (wrong(*cases[0].args) == perceptron.predict(*cases[0].args)).all()
    with pytest.raises(AssertionError, match="ne donne pas le résultat attendu"):
        check_function(wrong, perceptron.predict, cases, name="predict")


@pytest.mark.parametrize("value, message", [
    (None, "vaut None : avez-vous oublié le « return » ?"),
    ("0 1", "objet de type str"),
    (np.array([1 + 0j, 0j]), "tableau de type complex128"),
    (np.array(["a", "b"]), "tableau de type <U1"),
    ([[1.0], [1.0, 2.0]], "liste de tableaux de formes différentes"),
    (np.zeros((2, 1)), "a la forme (2, 1) ; la forme attendue est (2,)"),
])
def test_type_and_shape_are_checked_first(value, message):
    with pytest.raises(AssertionError) as err:
        check_function(lambda: value, lambda: np.zeros(2), [case()], name="f")
    assert message in str(err.value)


def test_lists_numbers_bools_and_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    for value in ([0, 1], (0.0, 1.0), np.array([False, True]), torch.tensor([0.0, 1.0])):
        check_function(lambda v=value: v, lambda: np.array([0, 1]), [case()], name="f")
    check_function(lambda: 2, lambda: 2.0, [case()], name="f")


def test_inputs_are_copied_for_each_side():
    def mutating(w, X):
        y = (X @ w > 0).astype(int)
        w[:] = 1e9
        X[:] = -1
        return y
    # Each side gets its own copy: the result is right (the reference saw clean inputs), and
    # what fails is the modification of the inputs, which the reference leaves alone.
    with pytest.raises(AssertionError, match="modifie son argument « w » sur place \\(cas 1 sur 10"):
        check_function(mutating, perceptron.predict, _predict_cases(n=10), name="predict")


def test_random_cases_are_reproducible():
    a, b = _predict_cases(seed=3), _predict_cases(seed=3)
    assert all(np.array_equal(x, y) for ca, cb in zip(a, b) for x, y in zip(ca.args, cb.args))
    conv = grading.random_conv_case(np.random.default_rng(0))
    out = (conv["x"].shape[2] + 2 * conv["padding"] - conv["w"].shape[2]) // conv["stride"] + 1
    assert out >= 1 and conv["w"].shape[1] == conv["x"].shape[1]


def test_check_value():
    grading.check_value(np.array([1.0, 2.0]), [1.0, 2.0], name="w_et")
    with pytest.raises(AssertionError, match="La variable « w_et » n'a pas la valeur attendue"):
        grading.check_value(np.array([1.0, 2.5]), [1.0, 2.0], name="w_et")


# ------------------------------------------------------------------ student calls
def test_student_exception_becomes_a_french_message():
    with pytest.raises(AssertionError) as err:
        check_function(lambda x: 1 / 0, lambda x: x, [case(1.0, label="un")], name="f")
    # The inputs follow, so that the student can reproduce the failing call.
    assert str(err.value) == ("La fonction « f » a levé une exception (cas 1 sur 1 : un) : "
                              "ZeroDivisionError: division by zero — en clair : une division par "
                              "zéro.\n  entrées : 1.0")
    assert err.value.__cause__ is None and err.value.__suppress_context__


def _message(fn, *args):
    with pytest.raises(AssertionError) as err:
        grading.call_student(fn, args, name=getattr(fn, "__name__", "f"))
    return str(err.value)


@pytest.mark.parametrize("body, gloss", [
    (lambda: np.ones(3) + np.ones(4), "formes incompatibles dans une opération élément par élément"),
    (lambda: np.ones((2, 3)) @ np.ones((2, 3)), "produit matriciel (@) entre des formes incompatibles"),
    (lambda: np.ones(6).reshape(4, 2), "reshape vers une forme"),
    (lambda: undefined_name, "un nom qui n'existe pas"),  # noqa: F821
    (lambda: None + 1, "une valeur None, souvent le résultat d'une fonction sans return"),
    (lambda: np.ones(3)[5], "un indice hors des limites du tableau"),
    (lambda: np.ones(3).sum(axis=1), "un axe (axis=…) que ce tableau n'a pas"),
    (lambda: np.ones(3).nope, "un attribut ou une méthode qui n'existe pas"),
])
def test_usual_python_errors_get_a_french_gloss(body, gloss):
    """NumPy's and Python's English messages are kept (searchable) and explained in French."""
    message = _message(lambda x: body(), 1.0)
    assert " a levé une exception : " in message and " — en clair : " in message and gloss in message
    assert message[-1] in ".?!" and message[-2] not in ".?!", "one final punctuation mark"


def test_an_unknown_exception_gets_no_gloss():
    def f(x):
        raise RuntimeError("custom")
    assert _message(f, 1.0) == "La fonction « f » a levé une exception : RuntimeError: custom"


def test_a_function_not_written_yet_is_named():
    """The blank release raises NotImplementedError: say which function to write, even when
    the graded function calls another one that is not written yet."""
    def backward(x):
        raise NotImplementedError()

    def train(x):
        return backward(x) + 1

    class Net:
        def __init__(self, x):
            raise NotImplementedError()

    assert _message(backward, 1.0) == ("La fonction « backward » n'est pas encore écrite : remplacez "
                                       "« raise NotImplementedError() » par votre code.")
    assert _message(train, 1.0) == ("La fonction « train » appelle « backward », qui n'est pas encore "
                                    "écrite (elle lève NotImplementedError) : écrivez-la d'abord.")
    assert _message(Net, 1.0).startswith("La classe « Net » n'est pas encore écrite (méthode « __init__ »)")

    def uses_an_unsupported_op(x):  # PyTorch's NotImplementedError carries a message
        raise NotImplementedError("Could not run 'aten::foo' with arguments from the 'Meta' backend.")
    assert _message(uses_an_unsupported_op, 1.0) == (
        "La fonction « uses_an_unsupported_op » a levé une exception : NotImplementedError: "
        "Could not run 'aten::foo' with arguments from the 'Meta' backend.")
    with pytest.raises(AssertionError) as err:
        grading.check_raises(backward, [case(-1.0)], name="backward")
    assert str(err.value) == ("La fonction « backward » n'est pas encore écrite (cas 1 sur 1) : "
                              "remplacez « raise NotImplementedError() » par votre code.")


def test_in_place_message_names_the_students_parameter():
    """The student reads their own parameter names, not the reference's."""
    def reference(x):
        return x + 1

    def student(z):
        z += 1
        return z

    with pytest.raises(AssertionError, match="modifie son argument « z » sur place"):
        check_function(student, reference, [case(np.zeros(3))], name="f")


def test_infinite_loop_is_stopped():
    def forever():
        while True:
            pass

    def stubborn():  # swallows the first interruption, then returns
        try:
            while True:
                pass
        except BaseException:
            return 1.0

    for fn in (forever, stubborn):
        with pytest.raises(AssertionError, match="n'a pas terminé en 0.3 s"):
            call_student(fn, max_seconds=0.3)
    assert call_student(lambda: 5, max_seconds=0.3) == 5


def test_nothing_reaches_stderr(capfd):
    def noisy(x):
        print("debug", file=sys.stderr)
        import warnings
        warnings.warn("careful")
        return np.exp(x) / np.exp(x)  # overflow: nan, RuntimeWarning
    with pytest.raises(AssertionError):
        check_function(noisy, lambda x: np.ones(1), [case(np.array([1000.0]))], name="f")
    assert capfd.readouterr().err == ""


# ----------------------------------------------------------------- shortcut guard
def test_direct_call_and_aliases_of_the_reference_are_caught():
    from dlcourse.perceptron import predict as p
    import dlcourse.perceptron as P

    def helper(w, X):  # a student's wrapper around the reference
        return P.predict(w, X)

    via_map = lambda w, X: list(map(P.predict, [w], [X]))[0]  # noqa: E731
    for student in (p, lambda w, X: p(w, X), helper, via_map):
        with pytest.raises(ShortcutError) as err:
            check_function(student, perceptron.predict, _predict_cases(n=2), name="predict")
        msg = str(err.value)
        assert "La fonction « predict » appelle dlcourse.perceptron." in msg
        assert "l'exercice consiste à l'écrire vous-même" in msg


def test_other_reference_modules_are_forbidden_too():
    from dlcourse import activations

    def my_forward(params, X):  # uses the course's sigmoid instead of writing it
        out = [X]
        for W, b in params:
            out.append(activations.sigmoid(out[-1] @ W.T + b))
        return out
    cases = [c.args[:1] + (c.args[1][0],) for c in _backward_cases(n=2)]
    with pytest.raises(ShortcutError, match="appelle dlcourse.activations.sigmoid"):
        check_function(my_forward, mlp.forward, cases, name="forward")
    check_function(my_forward, mlp.forward, cases, name="forward", forbid_reference=False)


def test_torch_builtins_and_python_functions_are_caught():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    from torch.nn.functional import max_pool2d as mp
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2)
    forbid = ("torch.nn.functional.conv2d", "torch.nn.functional.max_pool2d",
              "torch.max_pool2d", "torch.optim")
    shortcuts = {
        "torch.conv2d": lambda: F.conv2d(x, w),
        "conv2d": lambda: torch.conv2d(x, w),
        "max_pool2d": lambda: mp(x, 2),
        "torch.max_pool2d": lambda: torch.max_pool2d(x, 2),
        "SGD": lambda: torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1),
    }
    for what, fn in shortcuts.items():
        with pytest.raises(ShortcutError) as err:
            with forbidden(*forbid, who="La fonction « f »"):
                fn()
        assert "La fonction « f » appelle" in str(err.value), what
    with forbidden(*forbid):  # other torch operations stay allowed
        torch.relu(x).sum()
        F.avg_pool2d(x, 2)


def _shortcut_message(forbid, fn) -> str:
    with pytest.raises(ShortcutError) as err:
        with forbidden(*forbid, who="La fonction « f »"):
            fn()
    return str(err.value)


def test_messages_name_what_the_assignment_listed():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2)
    # torch.conv2d and F.conv2d are one builtin, internally torch._VariableFunctionsClass.conv2d
    msg = _shortcut_message(["torch.nn.functional.conv2d"], lambda: torch.conv2d(x, w))
    assert msg.startswith("La fonction « f » appelle torch.nn.functional.conv2d, ce qui est "
                          "interdit ici"), msg
    msg = _shortcut_message(["torch.nn.functional.conv2d", "torch.conv2d"],
                            lambda: F.conv2d(x, w))
    assert "appelle torch.nn.functional.conv2d (alias : torch.conv2d), ce qui" in msg
    # F.max_pool2d is a closure made by torch's boolean_dispatch (code "<locals>.fn").
    msg = _shortcut_message(["torch.nn.functional.max_pool2d"], lambda: F.max_pool2d(x, 2))
    assert "appelle torch.nn.functional.max_pool2d, ce qui" in msg
    assert "_VariableFunctions" not in msg and "<locals>" not in msg
    msg = _shortcut_message(["torch.optim"], lambda: torch.optim.SGD([w], lr=0.1))
    assert "appelle torch.optim (torch.optim.sgd.SGD.__init__)" in msg
    msg = _shortcut_message(["torch.nn.Conv2d"], lambda: torch.nn.Conv2d(1, 1, 2))
    assert "appelle torch.nn.Conv2d, ce qui" in msg


def test_sibling_closures_of_a_forbidden_function_stay_allowed():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    x = torch.randn(1, 2, 6, 6)
    # Same code object as F.max_pool2d, other closure: not forbidden.
    with forbidden("torch.nn.functional.max_pool2d"):
        F.max_pool1d(x[0], 2)
        F.adaptive_max_pool2d(x, 3)
        F.avg_pool2d(x, 2)
    for fn in (lambda: F.max_pool2d(x, 2), lambda: F.max_pool2d(x, 2, return_indices=True)):
        _shortcut_message(["torch.nn.functional.max_pool2d"], fn)


def test_tensor_methods_of_forbidden_functions_are_caught():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    from torch import softmax as s
    z = np.random.default_rng(0).standard_normal((3, 4))
    t = torch.from_numpy(z)
    shortcuts = {
        "method": lambda: torch.from_numpy(z).softmax(-1),
        "unbound method": lambda: torch.Tensor.softmax(t, -1),
        "method of a subclass": lambda: torch.nn.Parameter(t.clone()).softmax(-1),
        "method by getattr": lambda: getattr(t, "softmax")(0),
        "F.softmax (calls the method)": lambda: F.softmax(t, dim=1),
    }
    for what, fn in shortcuts.items():
        msg = _shortcut_message(["torch.softmax"], fn)
        assert "appelle torch.Tensor.softmax, ce qui" in msg, (what, msg)
    for fn in (lambda: torch.softmax(t, 1), lambda: s(t, 1)):  # aliases: still caught
        assert "appelle torch.softmax, ce qui" in _shortcut_message(["torch.softmax"], fn)
    # The twin of an alias whose own name differs (torch.special.softmax is special_softmax).
    assert "torch.Tensor.softmax" in _shortcut_message(["torch.special.softmax"],
                                                       lambda: t.softmax(0))
    assert "torch.Tensor.softmax" in _shortcut_message(["torch.Tensor.softmax"],
                                                       lambda: t.softmax(0))
    # NumPy functions and ndarray methods alike.
    assert "numpy.ndarray.cumsum" in _shortcut_message(["numpy.cumsum"], lambda: z.cumsum())
    with forbidden("torch.softmax", "numpy.cumsum"):  # other methods stay allowed
        t.log_softmax(-1).exp().sum()
        (t - t.max()).exp()
        z.cumprod()


def test_reference_and_numpy_only_code_pass_the_method_guard():
    torch = pytest.importorskip("torch")
    from dlcourse import activations
    forbid = ("torch", "torch.softmax", "torch.log_softmax", "torch.logsumexp",
              "torch.special.softmax", "scipy.special")

    def numpy_softmax(z, axis=-1):
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    cases = grading.random_cases(lambda rng: (rng.standard_normal((4, 5)) * 30,), n=10)
    check_function(numpy_softmax, activations.softmax, cases, name="softmax", forbid=forbid)
    check_function(activations.softmax, activations.softmax, cases, name="softmax",
                   forbid=forbid, forbid_reference=False)
    with pytest.raises(ShortcutError, match="appelle torch.Tensor.softmax"):
        check_function(lambda z: torch.from_numpy(z).softmax(-1).numpy(), activations.softmax,
                       cases, name="softmax", forbid=forbid)


def test_libraries_not_imported_yet_are_resolved_when_imported(tmp_path, monkeypatch):
    """The guard does not import a library to forbid its functions (2 s for torch, in every
    NumPy assignment); it resolves them as soon as the student's code imports it."""
    (tmp_path / "lazylib_xyz").mkdir()
    (tmp_path / "lazylib_xyz" / "__init__.py").write_text(textwrap.dedent("""
        from math import factorial as fact   # a builtin, under another name
        from math import gcd

        def helper(n):
            return n + 1
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    forbid = ("lazylib_xyz.fact", "lazylib_xyz.helper")
    guard = grading._Guard(forbid)
    assert "lazylib_xyz" not in sys.modules and guard.deferred == {"lazylib_xyz": list(forbid)}

    def uses_builtin():
        import lazylib_xyz
        return lazylib_xyz.gcd(4, 6) + lazylib_xyz.fact(3)

    def uses_function():
        import lazylib_xyz
        return lazylib_xyz.helper(1)
    with pytest.raises(ShortcutError, match="appelle lazylib_xyz.fact,"):
        call_student(uses_builtin, forbid=forbid)
    with pytest.raises(ShortcutError, match="appelle lazylib_xyz.helper,"):
        call_student(uses_function, forbid=forbid)
    monkeypatch.delitem(sys.modules, "lazylib_xyz")


def test_guard_does_not_import_torch(tmp_path):
    pytest.importorskip("torch")
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from dlcourse.grading import ShortcutError, call_student, forbidden
        forbid = ("torch", "torch.softmax", "torch.nn.functional.conv2d", "torch.optim")
        with forbidden(*forbid):
            np.ones(3).sum()
        assert "torch" not in sys.modules, "the guard imported torch"

        def student(z):  # imports torch inside the graded call
            import torch
            return torch.from_numpy(z).softmax(-1).numpy()
        try:
            call_student(student, (np.zeros((2, 3)),), forbid=forbid)
        except ShortcutError as err:
            print(err)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "La fonction « student » appelle torch.Tensor.softmax" in out.stdout


def test_numpy_dispatchers_and_lazy_imports_are_caught(tmp_path, monkeypatch):
    from numpy.linalg import solve as s
    with pytest.raises(ShortcutError, match="numpy.linalg.solve"):
        with forbidden("numpy.linalg.solve"):
            s(np.eye(2), np.ones(2))
    # A module not imported yet when the guard starts, imported by the student's code.
    (tmp_path / "course_solution_xyz.py").write_text(textwrap.dedent("""
        def answer():
            return 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "course_solution_xyz" not in sys.modules

    def student():
        import course_solution_xyz
        return course_solution_xyz.answer()
    with pytest.raises(AssertionError, match="course_solution_xyz.answer"):
        call_student(student, forbid=("course_solution_xyz",))


def test_guard_restores_the_previous_profiler():
    calls = []

    def outer_profiler(frame, event, arg):
        calls.append(event)

    sys.setprofile(outer_profiler)
    try:
        with forbidden("numpy.linalg.solve"):
            np.linalg.inv(np.eye(2))
        assert sys.getprofile() is outer_profiler
        with pytest.raises(ShortcutError):
            with forbidden("numpy.linalg.solve"):
                np.linalg.solve(np.eye(2), np.ones(2))
        assert sys.getprofile() is outer_profiler
    finally:
        sys.setprofile(None)
    assert calls, "the outer profiler kept working between the guarded blocks"


def test_switching_the_guard_off_is_refused():
    with pytest.raises(ShortcutError, match="a désactivé la surveillance des appels"):
        call_student(lambda: sys.setprofile(None))
    assert sys.getprofile() is None


def test_missing_libraries_are_ignored():
    with forbidden("a_library_that_is_not_installed.conv2d", "torch.no_such_function"):
        np.ones(2).sum()


def test_check_raises():
    def size(n):
        if n <= 0:
            raise ValueError("n must be > 0")
        return n
    grading.check_raises(size, [case(0), case(-3)], name="size")
    with pytest.raises(AssertionError, match=r"doit lever une ValueError \(cas 2 sur 2\), mais "
                                             r"elle a renvoyé 5"):
        grading.check_raises(lambda n: 5 if n else size(n), [case(0), case(1)], name="size")
    with pytest.raises(AssertionError, match=r"TypeError: non ; une ValueError est attendue"):
        grading.check_raises(lambda n: (_ for _ in ()).throw(TypeError("non")), [case(0)],
                             name="size")
    with pytest.raises(ShortcutError):
        grading.check_raises(lambda n: perceptron.predict([1.0], [[n]]), [case(0)], name="p")


def test_check_function_fails_a_student_that_modifies_an_input_the_reference_keeps():
    def reference(w, x):
        return w + x

    def in_place(w, x):
        w += x
        return w

    cases = [grading.case(np.ones(3), np.arange(3.0)),
             grading.case(torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))]
    grading.check_function(reference, reference, cases)
    with pytest.raises(AssertionError, match="modifie son argument « w » sur place .*cas 1 sur 2"):
        grading.check_function(in_place, reference, cases)
    with pytest.raises(AssertionError, match="modifie son argument « w » sur place .*cas 1 sur 1"):
        grading.check_function(in_place, reference, cases[1:])


def test_check_function_allows_in_place_updates_the_reference_makes_too():
    def reference_step(w, g):  # an optimiser step updates the parameters in place
        w -= 0.1 * g
        return w

    def student_step(w, g):
        w -= 0.1 * g
        return w

    rng = np.random.default_rng(0)
    grading.check_function(student_step, reference_step,
                           [grading.case(rng.normal(size=4), rng.normal(size=4))])
